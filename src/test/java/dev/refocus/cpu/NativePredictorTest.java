package dev.refocus.cpu;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.Method;
import dev.refocus.ParameterSubset;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.internal.DenseNetworkAccess;
import com.sun.management.ThreadMXBean;
import dev.refocus.reference.ReferencePredictor;
import dev.refocus.testing.Agreement;
import dev.refocus.testing.RandomNetworks;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.management.ManagementFactory;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static dev.refocus.testing.Agreement.assertAgree;
import static dev.refocus.testing.Messages.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The native CPU backend against the plain-Java reference (double precision, a weight copy per sample), with the
 * tolerances of {@link Agreement}; {@code NativeAgreementPropertiesTest} does the same on random architectures.
 */
class NativePredictorTest
{
    private static final int[][] SHAPES = {{7, 13, 5}, {33, 17, 9, 4}, {100, 37, 11}, {5, 3}, {64, 65, 31, 10}};
    private static final ParameterSubset[] SUBSETS = {
        ParameterSubset.all(), ParameterSubset.lastLayers(2), ParameterSubset.head(), ParameterSubset.biases()};

    static Stream<Arguments> methodsAndModes()
    {
        final List<Arguments> cases = new ArrayList<>();
        for (final Method method : Method.values())
        {
            for (final NativePredictor.Mode mode : NativePredictor.Mode.values())
            {
                cases.add(Arguments.of(method, mode));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("methodsAndModes")
    void shouldAgreeWithTheReference(final Method method, final NativePredictor.Mode mode)
    {
        final Random random = new Random(17 + method.ordinal());
        int adapted = 0;
        int compared = 0;
        for (int s = 0; s < SHAPES.length; s++)
        {
            final int[] shape = SHAPES[s];
            final Activation hidden = s % 2 == 0 ? Activation.RELU : Activation.TANH;
            final DenseNetwork network = RandomNetworks.network(100 + s, hidden, 0.2f, shape);
            final int classes = shape[shape.length - 1];
            for (int t = 1; t <= 3; t++)
            {
                for (final ParameterSubset subset : SUBSETS)
                {
                    if (!fits(subset, network))
                    {
                        continue;
                    }
                    final RefocusConfig.Builder builder = RefocusConfig.builder(0.5f).method(method).steps(t)
                        .parameters(subset).marginThreshold(0.5f)
                        .focusClasses(classes > 3 && random.nextBoolean() ? 3 : 2);
                    if (classes > 4 && random.nextBoolean())
                    {
                        builder.candidates(classes - 1, 0, 2, 1);
                    }
                    final RefocusConfig config = builder.build();
                    try (Predictor reference = ReferencePredictor.create(network, config);
                        Predictor fast = NativePredictor.create(network, config, mode, 1))
                    {
                        final Prediction expected = reference.newPrediction();
                        final Prediction actual = fast.newPrediction();
                        for (int i = 0; i < 6; i++)
                        {
                            final float[] x = RandomNetworks.gaussian(random, shape[0]);
                            reference.predict(x, expected);
                            fast.predict(x, actual);
                            assertAgree(expected, actual, config, 0.5f, "shape " + s + " " + config + " sample " + i);
                            adapted += expected.adapted() ? 1 : 0;
                            compared++;
                        }
                    }
                }
            }
        }
        assertTrue(adapted > compared / 3, adapted + " of " + compared + " adapted");
    }

    static Stream<Arguments> activationsAndModes()
    {
        final List<Arguments> cases = new ArrayList<>();
        for (final Activation activation : Activation.values())
        {
            for (final NativePredictor.Mode mode : NativePredictor.Mode.values())
            {
                cases.add(Arguments.of(activation, mode));
            }
        }
        return cases.stream();
    }

    /**
     * Every activation between the layers and on the logits, in batches where certain samples come before uncertain
     * ones (their rows, pre-activations included, move to the uncertain samples' slots), against the reference.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("activationsAndModes")
    void shouldAgreeWithTheReferenceForEveryActivation(final Activation activation, final NativePredictor.Mode mode)
    {
        final Random random = new Random(23 + activation.ordinal());
        int adapted = 0;
        int compared = 0;
        for (final Activation last : new Activation[] {Activation.IDENTITY, activation})
        {
            final DenseNetwork network = RandomNetworks.network(31 + activation.ordinal(), activation, last, 20.0f,
                9, 14, 11, 6);
            for (final ParameterSubset subset : SUBSETS)
            {
                final RefocusConfig config = RefocusConfig.builder(0.5f).steps(2).parameters(subset)
                    .marginThreshold(0.3f).build();
                final int batch = 8;
                try (Predictor reference = ReferencePredictor.create(network, config);
                    NativePredictor fast = NativePredictor.create(network, config, mode, batch))
                {
                    final float[] inputs = RandomNetworks.gaussian(random, batch * 9);
                    final Prediction[] actual = new Prediction[batch];
                    for (int i = 0; i < batch; i++)
                    {
                        actual[i] = fast.newPrediction();
                    }
                    fast.predict(inputs, batch, actual);
                    final Prediction expected = reference.newPrediction();
                    for (int i = 0; i < batch; i++)
                    {
                        reference.predict(Arrays.copyOfRange(inputs, i * 9, (i + 1) * 9), expected);
                        assertAgree(expected, actual[i], config, 0.3f, network + " " + config + " sample " + i);
                        adapted += expected.adapted() ? 1 : 0;
                        compared++;
                    }
                }
            }
        }
        assertTrue(adapted > 0 && adapted < compared, adapted + " of " + compared + " adapted");
    }

    private static boolean fits(final ParameterSubset subset, final DenseNetwork network)
    {
        try
        {
            RefocusConfig.builder(0.1f).parameters(subset).build().checkFits(Integer.MAX_VALUE, network.layers());
            return true;
        }
        catch (final IllegalArgumentException e)
        {
            return false;
        }
    }

    @Test
    void shouldGiveTheSameAnswersInImplicitAndShadowMode()
    {
        final DenseNetwork network = RandomNetworks.network(3, Activation.RELU, 0.1f, 40, 50, 30, 8);
        final RefocusConfig config = RefocusConfig.builder(1.0f).steps(2).marginThreshold(1.0f).build();
        final Random random = new Random(8);
        try (NativePredictor implicit = NativePredictor.create(network, config, NativePredictor.Mode.IMPLICIT, 1);
            NativePredictor shadow = NativePredictor.create(network, config, NativePredictor.Mode.SHADOW, 1))
        {
            final Prediction a = implicit.newPrediction();
            final Prediction b = shadow.newPrediction();
            for (int i = 0; i < 200; i++)
            {
                final float[] x = RandomNetworks.gaussian(random, 40);
                implicit.predict(x, a);
                shadow.predict(x, b);
                assertTrue(a.adapted() && b.adapted());
                assertEquals(a.finalClass(), b.finalClass());
                assertArrayEquals(a.logits(), b.logits(), 1e-5f);
            }
        }
    }

    @Test
    void shouldPredictABatchLikeOneSampleAtATime()
    {
        final DenseNetwork network = RandomNetworks.network(4, Activation.RELU, 8.0f, 24, 48, 20, 6);
        final RefocusConfig config = RefocusConfig.builder(0.8f).marginThreshold(0.2f).build();
        final Random random = new Random(9);
        final int n = 37;
        final float[] batch = RandomNetworks.gaussian(random, n * 24);
        for (final NativePredictor.Mode mode : NativePredictor.Mode.values())
        {
            try (NativePredictor batched = NativePredictor.create(network, config, mode, 64);
                NativePredictor single = NativePredictor.create(network, config, mode, 1))
            {
                final Prediction[] out = new Prediction[n];
                for (int i = 0; i < n; i++)
                {
                    out[i] = batched.newPrediction();
                }
                batched.predict(batch, n, out);
                final Prediction one = single.newPrediction();
                int adapted = 0;
                for (int i = 0; i < n; i++)
                {
                    single.predict(FloatBuffer.wrap(batch, i * 24, 24), one);
                    assertEquals(one.adapted(), out[i].adapted(), "sample " + i);
                    assertEquals(one.initialClass(), out[i].initialClass(), "sample " + i);
                    assertEquals(one.finalClass(), out[i].finalClass(), "sample " + i);
                    // the kernels promise the same operations in the same order whatever the batch: bit for bit
                    assertEquals(one.margin(), out[i].margin(), "sample " + i);
                    assertArrayEquals(one.logits(), out[i].logits(), 0.0f, "sample " + i);
                    adapted += one.adapted() ? 1 : 0;
                }
                assertTrue(adapted > 5 && adapted < n - 5, "a mixed batch: " + adapted + " of " + n + " adapted");
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("methodsAndModes")
    void shouldSweepExactlyLikeOnePredictionPerRate(final Method method, final NativePredictor.Mode mode)
    {
        final DenseNetwork network = RandomNetworks.network(12, Activation.RELU, 0.3f, 20, 30, 25, 7);
        final float[] etas = {0.0f, 0.01f, 0.3f, 1.0f, 4.0f};
        final Random random = new Random(15);
        for (final ParameterSubset subset : SUBSETS)
        {
            for (int steps = 1; steps <= 2; steps++)
            {
                final RefocusConfig config = RefocusConfig.builder(0.1f).method(method).parameters(subset)
                    .steps(steps).candidates(6, 0, 1, 2, 3).marginThreshold(0.4f).build();
                try (NativePredictor predictor = NativePredictor.create(network, config, mode, 1))
                {
                    final Prediction swept = predictor.newPrediction();
                    final Prediction one = predictor.newPrediction();
                    final int[] finals = new int[etas.length];
                    for (int i = 0; i < 20; i++)
                    {
                        final float[] x = RandomNetworks.gaussian(random, 20);
                        predictor.sweep(x, etas, 0.4f, swept, finals);
                        for (int k = 0; k < etas.length; k++)
                        {
                            predictor.predict(x, etas[k], 0.4f, one);
                            assertEquals(one.adapted(), swept.adapted());
                            assertEquals(one.margin(), swept.margin());
                            assertEquals(one.finalClass(), finals[k], config + " eta " + etas[k]);
                        }
                        assertArrayEquals(one.logits(), swept.logits(), 0.0f); // the last rate's, bit for bit
                    }
                }
            }
        }
    }

    @Test
    void shouldLeaveTheSharedWeightsBitIdentical()
    {
        final DenseNetwork network = RandomNetworks.network(5, Activation.RELU, 0.05f, 32, 64, 64, 3);
        final RefocusConfig config = RefocusConfig.builder(2.0f).steps(2).marginThreshold(1.0f).build();
        final float[] x = RandomNetworks.gaussian(new Random(10), 32);
        try (NativePredictor implicit = NativePredictor.create(network, config);
            NativePredictor shadow = NativePredictor.create(network, config, NativePredictor.Mode.SHADOW, 1))
        {
            final Prediction first = implicit.newPrediction();
            implicit.predict(x, first);
            final Prediction out = implicit.newPrediction();
            final Random random = new Random(11);
            for (int i = 0; i < 50_000; i++) // 100 000 adapted predictions on the shared block
            {
                final float[] y = RandomNetworks.gaussian(random, 32);
                implicit.predict(y, out);
                shadow.predict(y, out);
                assertTrue(out.adapted());
            }
            implicit.predict(x, out);
            assertArrayEquals(first.logits(), out.logits(), 0.0f); // the same answer, bit for bit
        }
        final FloatBuffer block = new FloatPointer(DenseNetworkAccess.parameterBlock(network))
            .capacity(network.parameterCount()).asBuffer();
        int offset = 0;
        for (int l = 0; l < network.layers(); l++)
        {
            for (final FloatBuffer tensor : new FloatBuffer[] {network.weight(l), network.bias(l)})
            {
                for (int i = 0; i < tensor.remaining(); i++)
                {
                    assertEquals(Float.floatToRawIntBits(tensor.get(i)), Float.floatToRawIntBits(block.get(offset++)));
                }
            }
        }
        assertEquals(network.parameterCount(), offset);
    }

    @Test
    void shouldNotAllocateWhilePredicting()
    {
        final ThreadMXBean threads = (ThreadMXBean)ManagementFactory.getThreadMXBean();
        final long self = Thread.currentThread().getId();
        final DenseNetwork network = RandomNetworks.network(6, Activation.RELU, 0.05f, 32, 64, 64, 3);
        final float[] x = RandomNetworks.gaussian(new Random(12), 32);
        final float[] batch = RandomNetworks.gaussian(new Random(13), 8 * 32);
        try (NativePredictor predictor = NativePredictor.create(network,
            RefocusConfig.builder(0.5f).candidates(2, 0, 1).build(), NativePredictor.Mode.SHADOW, 8))
        {
            final Prediction out = predictor.newPrediction();
            final Prediction[] outs = new Prediction[8];
            for (int i = 0; i < outs.length; i++)
            {
                outs[i] = predictor.newPrediction();
            }
            long allocated = 0;
            for (int round = 0; round < 3; round++) // the first rounds warm up the JIT
            {
                final long before = threads.getThreadAllocatedBytes(self);
                for (int i = 0; i < 1000; i++)
                {
                    predictor.predict(x, 0.5f, 1.0f, out);
                    predictor.predict(x, 0.5f, 0.0f, out);
                    predictor.forward(x, out);
                    predictor.predict(batch, 8, outs);
                }
                allocated = threads.getThreadAllocatedBytes(self) - before;
            }
            assertEquals(0, allocated, "bytes allocated by 4000 calls");
        }
    }

    @Test
    @SuppressWarnings("try") // the scope is opened for its effect: it would free what it holds on close
    void shouldOutliveAPointerScopeOfTheCaller()
    {
        final DenseNetwork network = RandomNetworks.network(9, Activation.RELU, 0.1f, 12, 9, 4);
        final RefocusConfig config = RefocusConfig.builder(0.5f).marginThreshold(1.0f).build();
        final NativePredictor predictor;
        final FocusHead head;
        try (PointerScope scope = new PointerScope())
        {
            predictor = NativePredictor.create(network, config); // the workspace and the shared parameter block
            head = new FocusHead(4, config);
        }
        final float[] x = RandomNetworks.gaussian(new Random(16), 12);
        final Prediction out = predictor.newPrediction();
        predictor.predict(x, out);
        try (ReferencePredictor reference = ReferencePredictor.create(network, config))
        {
            final Prediction expected = reference.newPrediction();
            reference.predict(x, expected);
            assertAgree(expected, out, config, 1.0f, "after the scope closed");
        }
        assertTrue(head.evaluate(new float[] {1, 1, 0, 0}));
        predictor.close();
        head.close();
    }

    @Test
    void shouldRunThePlainForwardPass()
    {
        final DenseNetwork network = RandomNetworks.network(7, Activation.TANH, 1.0f, 9, 10, 4);
        final float[] x = RandomNetworks.gaussian(new Random(14), 9);
        try (NativePredictor predictor = NativePredictor.create(network, RefocusConfig.builder(0.1f).build());
            ReferencePredictor reference = ReferencePredictor.create(network, RefocusConfig.builder(0.1f).build()))
        {
            final Prediction plain = predictor.newPrediction();
            final Prediction expected = reference.newPrediction();
            predictor.forward(x, plain);
            reference.predict(x, 0.0f, 0.0f, expected);
            assertFalse(plain.adapted());
            assertTrue(Float.isNaN(plain.margin()));
            assertEquals(expected.finalClass(), plain.finalClass());
            assertArrayEquals(expected.logits(), plain.logits(), 1e-5f);
        }
    }

    @Test
    void shouldReadOnlyTheFirstSamplesOfALongerBatchBuffer()
    {
        final DenseNetwork network = RandomNetworks.network(8, Activation.RELU, 0.05f, 4, 5, 3);
        try (NativePredictor predictor = NativePredictor.create(network, RefocusConfig.builder(0.5f).build(),
            NativePredictor.Mode.IMPLICIT, 4))
        {
            final Random random = new Random(15);
            final float[] exact = RandomNetworks.gaussian(random, 2 * 4);
            // a buffer sized for the largest batch, reused for a smaller one: what follows is never read
            final float[] reused = new float[4 * 4 + 3];
            System.arraycopy(exact, 0, reused, 0, exact.length);
            Arrays.fill(reused, exact.length, reused.length, Float.NaN);
            final Prediction[] fromExact = {predictor.newPrediction(), predictor.newPrediction()};
            final Prediction[] fromReused = {predictor.newPrediction(), predictor.newPrediction()};
            predictor.predict(exact, 2, fromExact);
            predictor.predict(reused, 2, fromReused);
            for (int i = 0; i < 2; i++)
            {
                assertEquals(fromExact[i].finalClass(), fromReused[i].finalClass());
                assertArrayEquals(fromExact[i].logits(), fromReused[i].logits(), 0.0f);
            }
        }
    }

    @Test
    void shouldRefuseMoreStepsThanImplicitModeTakesAndPointToShadowMode()
    {
        assertEquals(64, NativePredictor.MAX_IMPLICIT_STEPS, "the cap that the javadoc, dense.h and README state");
        final DenseNetwork network = RandomNetworks.network(17, Activation.RELU, 0.1f, 6, 8, 4);
        final RefocusConfig atCap = RefocusConfig.builder(0.5f).steps(64).marginThreshold(1.0f).build();
        final RefocusConfig aboveCap = atCap.toBuilder().steps(65).build();
        final String hint = "T = 65 steps is more than Mode.IMPLICIT takes (64: its cost grows with T squared); "
            + "use Mode.SHADOW";
        assertMessage(hint, () -> NativePredictor.create(network, aboveCap));
        assertMessage(hint, () -> NativePredictor.create(network, aboveCap, NativePredictor.Mode.IMPLICIT, 4));
        final float[] x = RandomNetworks.gaussian(new Random(18), 6);
        try (NativePredictor implicit = NativePredictor.create(network, atCap);
            NativePredictor shadow = NativePredictor.create(network, aboveCap, NativePredictor.Mode.SHADOW, 1))
        {
            final Prediction out = implicit.newPrediction();
            implicit.predict(x, out);
            assertTrue(out.adapted());
            shadow.predict(x, out);
            assertTrue(out.adapted());
            assertEquals(NativePredictor.Mode.SHADOW, shadow.mode());
        }
    }

    @Test
    void shouldRejectBadBatchesAndUseAfterClose()
    {
        final DenseNetwork network = RandomNetworks.network(8, Activation.RELU, 1.0f, 4, 5, 3);
        final NativePredictor predictor = NativePredictor.create(network, RefocusConfig.builder(0.1f).build(),
            NativePredictor.Mode.IMPLICIT, 4);
        final Prediction[] out = {predictor.newPrediction(), predictor.newPrediction()};
        assertMessage("batch of 5 samples; this predictor takes 1 to 4", () -> predictor.predict(new float[20], 5, out));
        assertMessage("2 results for 3 samples", () -> predictor.predict(new float[12], 3, out));
        assertMessage("the batch holds 7 values, fewer than 2 samples of 4 features",
            () -> predictor.predict(new float[7], 2, out));
        final float[] inf = new float[8];
        inf[6] = Float.POSITIVE_INFINITY;
        assertMessage("input[6] is Infinity", () -> predictor.predict(inf, 2, out));
        assertMessage("max batch", () -> NativePredictor.create(network, RefocusConfig.builder(0.1f).build(),
            NativePredictor.Mode.IMPLICIT, 0));
        assertMessage("focus classes (3) must be fewer than the model's classes (3)",
            () -> NativePredictor.create(network, RefocusConfig.builder(0.1f).focusClasses(3).build()));
        predictor.close();
        predictor.close();
        assertThrows(IllegalStateException.class, () -> predictor.predict(new float[8], 2, out));
        assertThrows(IllegalStateException.class, () -> predictor.forward(new float[4], out[0]));
    }
}
