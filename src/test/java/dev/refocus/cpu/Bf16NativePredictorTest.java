package dev.refocus.cpu;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.DensePredictor;
import dev.refocus.Method;
import dev.refocus.ParameterSubset;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.reference.ReferencePredictor;
import dev.refocus.testing.RandomNetworks;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import com.sun.management.ThreadMXBean;

import static dev.refocus.testing.Agreement.assertAgree;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The native step on {@link DenseNetwork.WeightFormat#BFLOAT16} networks: the same model as the reference given the
 * same (bf16) network, within a derived tolerance of the reference on the float32 network it was rounded from, a
 * batch giving each sample its single prediction bit for bit, and nothing allocated per call.
 */
class Bf16NativePredictorTest
{
    /** bf16's unit roundoff: rounding to nearest changes a weight by at most 2^-8 of its magnitude. */
    private static final double U = 0x1p-8;

    private static final float THRESHOLD = 0.5f;

    /** Networks and configurations that cover each activation kind, both modes and every parameter subset kind. */
    private static List<Object[]> cases()
    {
        final List<Object[]> cases = new ArrayList<>();
        final Activation[] hidden = {Activation.RELU, Activation.TANH, Activation.GELU, Activation.SILU};
        for (int k = 0; k < hidden.length; k++)
        {
            final DenseNetwork network = RandomNetworks.network(100 + k, hidden[k], k % 2 == 0 ? 20.0f : 0.1f, 37,
                45, 23, 7);
            final RefocusConfig.Builder config = RefocusConfig.builder(0.5f).marginThreshold(THRESHOLD)
                .method(Method.values()[k % Method.values().length]).steps(1 + k % 3)
                .clipNorm(k % 2 == 0 ? 0.0f : 1.0f)
                .parameters(k == 1 ? ParameterSubset.lastLayers(2) : k == 3 ? ParameterSubset.biases()
                    : ParameterSubset.all());
            cases.add(new Object[] {network, config.build()});
        }
        return cases;
    }

    @Test
    void shouldAgreeWithTheReferenceOnTheSameBf16Network()
    {
        int adapted = 0;
        for (final Object[] c : cases())
        {
            final DenseNetwork half = ((DenseNetwork)c[0]).toWeightFormat(DenseNetwork.WeightFormat.BFLOAT16);
            final RefocusConfig config = (RefocusConfig)c[1];
            for (final DensePredictor.Mode mode : DensePredictor.Mode.values())
            {
                try (ReferencePredictor reference = ReferencePredictor.create(half, config);
                    NativePredictor predictor = NativePredictor.create(half, config, mode, 1))
                {
                    final Random random = new Random(3);
                    final Prediction expected = reference.newPrediction();
                    final Prediction actual = predictor.newPrediction();
                    for (int i = 0; i < 60; i++)
                    {
                        final float[] x = RandomNetworks.gaussian(random, half.inputSize());
                        reference.predict(x, expected);
                        predictor.predict(x, actual);
                        assertAgree(expected, actual, config, THRESHOLD, half + " " + config + " " + mode + " #" + i);
                        adapted += expected.adapted() ? 1 : 0;
                    }
                }
            }
        }
        assertTrue(adapted > 100, "adapted samples: " + adapted); // the steps were checked, not only plain passes
    }

    /**
     * The bf16 network against the reference on the float32 network it was rounded from. Each weight moved by at most
     * U |w| (U = 2^-8), so to first order a pre-activation h_o moves by sum_i w_oi da_i + sum_i dw_oi a_i, and an
     * activation passes it on times its slope (at most 1.13 for every activation here). Two measures of that, computed
     * in double along the float32 network's plain pass:
     * <ul>
     * <li>the worst case, e_{l+1} = slope (|W| e_l + U |W| |a_l|): every rounding error of one sign. A plain logit
     *     must stay within 2 e (2 for the second-order terms) plus the float backend's 1e-4 (1 + |z|) of
     *     {@link dev.refocus.testing.Agreement}. It is sqrt(width) times looser than what happens, too loose to
     *     decide anything;</li>
     * <li>the typical size: rounding errors of different weights are independent and uniform in [-U |w|, U |w|], so
     *     they add like a random walk: s_{l+1}^2 = slope^2 (W^2 s_l^2 + U^2 W^2 a_l^2 / 3). Within 8 s, then: a
     *     plain logit, a margin within 8 max s (the softmax's Jacobian has infinity-norm at most 1/2, a margin is the
     *     difference of two probabilities); an adapted logit within 8 s + 2 (2L + 2) T U max|z' - z| more, the
     *     step's own effect z' - z being a product of the gradient through L layers and the forward pass through
     *     them, each factor moved by about U, per step.</li>
     * </ul>
     * Decisions (adapted or not, initial and final class) are compared unless the reference is within that of the
     * threshold or of a tie; the adapted logits unless the plain logits are within it of changing the focus classes
     * (n_f-th against (n_f + 1)-th). README, "bf16 weights", gives these tolerances.
     */
    @Test
    void shouldStayWithinTheDerivedToleranceOfTheFloat32Network()
    {
        int compared = 0;
        int adapted = 0;
        for (final Object[] c : cases())
        {
            final DenseNetwork network = (DenseNetwork)c[0];
            final DenseNetwork half = network.toWeightFormat(DenseNetwork.WeightFormat.BFLOAT16);
            final RefocusConfig config = (RefocusConfig)c[1];
            try (ReferencePredictor reference = ReferencePredictor.create(network, config);
                NativePredictor predictor = NativePredictor.create(half, config))
            {
                final Random random = new Random(4);
                final Prediction expected = reference.newPrediction();
                final Prediction plain = reference.newPrediction();
                final Prediction actual = predictor.newPrediction();
                for (int i = 0; i < 150; i++)
                {
                    final float[] x = RandomNetworks.gaussian(random, network.inputSize());
                    final String where = half + " " + config + " #" + i;
                    reference.predict(x, expected);
                    reference.predict(x, config.learningRate(), 0.0f, plain); // d = 0: never adapts
                    predictor.predict(x, actual);
                    final double[][] bounds = firstOrderBounds(network, x);
                    final double[] worstCase = bounds[0];
                    final double[] typical = bounds[1];
                    double sMax = 0;
                    for (int k = 0; k < network.classes(); k++)
                    {
                        sMax = Math.max(sMax, typical[k]);
                        assertEquals(plain.logit(k), actual.adapted() ? plainNative(predictor, x, k) : actual.logit(k),
                            2 * worstCase[k] + 1e-4 * (1 + Math.abs(plain.logit(k))), where + ": plain logit " + k);
                    }
                    final double marginTolerance = 8 * sMax + 1e-5;
                    assertEquals(expected.margin(), actual.margin(), marginTolerance, where + ": margin");
                    if (Math.abs(expected.margin() - THRESHOLD) <= marginTolerance)
                    {
                        continue; // on the edge: either decision is right
                    }
                    assertEquals(expected.adapted(), actual.adapted(), where);
                    if (!nearTie(plain.logits(), plain.initialClass(), 16 * sMax))
                    {
                        assertEquals(expected.initialClass(), actual.initialClass(), where);
                    }
                    if (expected.adapted() && focusBoundaryWithin(plain.logits(), config.focusClasses(), 16 * sMax))
                    {
                        continue; // the focus classes may differ: then so does the step
                    }
                    double step = 0;
                    for (int k = 0; k < network.classes(); k++)
                    {
                        step = Math.max(step, Math.abs(expected.logit(k) - plain.logit(k)));
                    }
                    final double stepTerm = expected.adapted()
                        ? (2 * network.layers() + 2) * config.steps() * U * step : 0.0;
                    double worst = 0;
                    for (int k = 0; k < network.classes(); k++)
                    {
                        final float z = expected.logit(k);
                        final double tolerance = 8 * typical[k] + 2 * stepTerm + 1e-4 * (1 + Math.abs(z));
                        assertEquals(z, actual.logit(k), tolerance, where + ": logit " + k);
                        worst = Math.max(worst, tolerance);
                    }
                    if (!nearTie(expected.logits(), expected.finalClass(), 2 * worst))
                    {
                        assertEquals(expected.finalClass(), actual.finalClass(), where);
                    }
                    compared++;
                    adapted += expected.adapted() ? 1 : 0;
                }
            }
        }
        assertTrue(compared > 300 && adapted > 100 && compared - adapted > 30,
            "compared " + compared + ", adapted " + adapted);
    }

    /** The native plain pass's logit k (a second predictor would do; forward() on this one is as good). */
    private static float plainNative(final NativePredictor predictor, final float[] x, final int k)
    {
        final Prediction out = predictor.newPrediction();
        predictor.forward(x, out);
        return out.logit(k);
    }

    /** {worst case, typical size} of the javadoc above, for each logit. */
    private static double[][] firstOrderBounds(final DenseNetwork network, final float[] x)
    {
        double[] a = new double[x.length];
        for (int i = 0; i < x.length; i++)
        {
            a[i] = x[i];
        }
        double[] e = new double[x.length];
        double[] variance = new double[x.length];
        for (int l = 0; l < network.layers(); l++)
        {
            final FloatBuffer w = network.weight(l);
            final FloatBuffer b = network.bias(l);
            final int in = network.inputSize(l);
            final int out = network.outputSize(l);
            final double[] next = new double[out];
            final double[] nextE = new double[out];
            final double[] nextVariance = new double[out];
            final double slope = 1.13;
            for (int o = 0; o < out; o++)
            {
                double h = b.get(o);
                double bound = 0;
                double v = 0;
                for (int i = 0; i < in; i++)
                {
                    final double wi = w.get(o * in + i);
                    h += wi * a[i];
                    bound += Math.abs(wi) * (e[i] + U * Math.abs(a[i]));
                    v += wi * wi * (variance[i] + U * U * a[i] * a[i] / 3);
                }
                next[o] = activate(network.activation(l), h);
                nextE[o] = slope * bound;
                nextVariance[o] = slope * slope * v;
            }
            a = next;
            e = nextE;
            variance = nextVariance;
        }
        final double[] typical = new double[variance.length];
        for (int k = 0; k < typical.length; k++)
        {
            typical[k] = Math.sqrt(variance[k]);
        }
        return new double[][] {e, typical};
    }

    private static double activate(final Activation activation, final double h)
    {
        switch (activation)
        {
            case RELU:
                return Math.max(0, h);
            case TANH:
                return Math.tanh(h);
            case SILU:
                return h / (1 + Math.exp(-h));
            case GELU: // within 1e-3 of the exact GELU: enough for a magnitude
                return 0.5 * h * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (h + 0.044715 * h * h * h)));
            case IDENTITY:
                return h;
            default:
                throw new IllegalArgumentException(activation.toString());
        }
    }

    /** @return whether the n-th and (n+1)-th largest logits are within {@code within}. */
    private static boolean focusBoundaryWithin(final float[] z, final int n, final double within)
    {
        final float[] sorted = z.clone();
        java.util.Arrays.sort(sorted);
        return sorted[z.length - n] - sorted[z.length - n - 1] <= within;
    }

    private static boolean nearTie(final float[] z, final int best, final double within)
    {
        for (int c = 0; c < z.length; c++)
        {
            if (c != best && z[best] - z[c] <= within)
            {
                return true;
            }
        }
        return false;
    }

    @Test
    void shouldGiveEachSampleOfABatchItsSinglePrediction()
    {
        final int n = 9;
        for (final Object[] c : cases())
        {
            final DenseNetwork half = ((DenseNetwork)c[0]).toWeightFormat(DenseNetwork.WeightFormat.BFLOAT16);
            for (final DensePredictor.Mode mode : DensePredictor.Mode.values())
            {
                try (NativePredictor predictor = NativePredictor.create(half, (RefocusConfig)c[1], mode, n))
                {
                    final float[] batch = RandomNetworks.gaussian(new Random(6), n * half.inputSize());
                    final Prediction[] outs = new Prediction[n];
                    for (int i = 0; i < n; i++)
                    {
                        outs[i] = predictor.newPrediction();
                    }
                    predictor.predict(batch, n, outs);
                    final Prediction one = predictor.newPrediction();
                    for (int i = 0; i < n; i++)
                    {
                        final float[] x = new float[half.inputSize()];
                        System.arraycopy(batch, i * x.length, x, 0, x.length);
                        predictor.predict(x, one);
                        final String where = half + " " + mode + " sample " + i;
                        assertArrayEquals(one.logits(), outs[i].logits(), 0.0f, where);
                        assertEquals(Float.floatToRawIntBits(one.margin()), Float.floatToRawIntBits(outs[i].margin()),
                            where);
                        assertEquals(one.toString(), outs[i].toString(), where);
                    }
                }
            }
        }
    }

    @Test
    void shouldNotAllocateWhilePredicting()
    {
        final ThreadMXBean threads = (ThreadMXBean)ManagementFactory.getThreadMXBean();
        final long self = Thread.currentThread().getId();
        final DenseNetwork half = RandomNetworks.network(6, Activation.RELU, 0.05f, 32, 64, 64, 3)
            .toWeightFormat(DenseNetwork.WeightFormat.BFLOAT16);
        final float[] x = RandomNetworks.gaussian(new Random(12), 32);
        final float[] batch = RandomNetworks.gaussian(new Random(13), 8 * 32);
        for (final DensePredictor.Mode mode : DensePredictor.Mode.values())
        {
            try (NativePredictor predictor = NativePredictor.create(half, RefocusConfig.builder(0.5f).build(), mode, 8))
            {
                final Prediction out = predictor.newPrediction();
                final Prediction[] outs = new Prediction[8];
                for (int i = 0; i < outs.length; i++)
                {
                    outs[i] = predictor.newPrediction();
                }
                // rounds until one allocates nothing: the first ones warm up the JIT, which may allocate until it
                // has compiled the calls; a call that allocates would never give such a round
                long allocated = -1;
                for (int round = 0; round < 10 && allocated != 0; round++)
                {
                    final long before = threads.getThreadAllocatedBytes(self);
                    for (int i = 0; i < 1000; i++)
                    {
                        predictor.predict(x, 0.5f, 1.0f, out);
                        predictor.forward(x, out);
                        predictor.predict(batch, 8, 0.5f, 1.0f, outs);
                    }
                    allocated = threads.getThreadAllocatedBytes(self) - before;
                }
                assertEquals(0, allocated, mode + ": bytes allocated by the 3000 calls of each of 10 rounds");
            }
        }
    }
}
