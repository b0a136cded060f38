package dev.refocus.cpu;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.Method;
import dev.refocus.ParameterSubset;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.reference.ReferencePredictor;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.statistics.StatisticsCollector;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.refocus.testing.Agreement.assertAgree;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Properties, with jqwik, of the native backend against the reference on random dense networks (1 to 4 layers,
 * widths 1 to 40, ReLU, tanh or identity after each layer) and random configurations (every method, T 1 to 4, n_f,
 * every kind of parameter subset, candidates or not, &eta;, d, clipping on or off), in implicit and shadow mode, single
 * calls and batches (a batch gives each sample's single prediction bit for bit):
 * <ul>
 * <li>ordinary numbers: they agree by the rule of {@link dev.refocus.testing.Agreement};</li>
 * <li>a class's bias NaN or infinite: they agree by the same rule, on the outcome the fallback rule prescribes: both
 *     throw (a NaN candidate logit), both fall back (a step from an infinite logit keeps it infinite), or both
 *     answer alike;</li>
 * <li>a step that overflows float (&eta; = 1e30 or 1e38 without clipping): float cannot follow a double oracle there, so
 *     they agree on the plain pass, each obeys the fallback rule (never an answer from non-finite logits, and a
 *     fallback is the plain prediction bit for bit), and a batch in which samples fall back gives every sample its
 *     single prediction bit for bit. Which samples fall back may differ: the reference's products of 1e30 by 1e30
 *     cancel where float's overflow to &infin; - &infin; = NaN, and a rounding residue of 1e-17 that float rounds to 0
 *     becomes 1e13 after the step (shrunk: 2 -> 2 -> 3, ReLU, ReLU, CROSS_ENTROPY, x = 0: the reference's hidden
 *     unit moves by 1e30 times the residue of -1/6 - 1/6 + 1/3 and its logits leave float's range; the native
 *     backend's residue is 0 and it answers from logits of 1.7e29).</li>
 * </ul>
 *
 * <p>Not generated, on purpose: weights so large that the plain pass overflows float (the reference, in double, does
 * not: {@code NonFiniteStepTest} checks the native side alone), and NaN or infinite weights inside the matrices: the
 * native kernels skip the rows of a zero delta, so 0 &times; &infin; adds nothing to W<sup>T</sup>&delta;, where the
 * literal backward pass of the reference makes it NaN. Shrunk counterexample: 14 -> 7 -> 31 (identity, tanh),
 * W_1[1][6] = +&infin;, &eta; = 0, T = 1: class 1's tanh saturates, its delta is 0, the reference's delta of unit 6
 * is 0 &times; &infin; = NaN and its &theta;' = &theta; - 0 &times; NaN is NaN, so it falls back; the native backend
 * answers the plain prediction.
 *
 * <p>Generators are jqwik's, so a failure shrinks to a smaller network and configuration; the seeds are fixed.
 */
class NativeAgreementPropertiesTest
{
    private static final String OUTCOME = "the reference's outcome per sample";
    private static final String NATIVE_OUTCOME = "the native backend's outcome per sample";
    private static final String THROWS = "throws";
    private static final String CERTAIN = "certain";
    private static final String ADAPTED = "adapted";
    private static final String FELL_BACK = "fell back";

    /** What breaks the arithmetic of a scenario, if anything. */
    enum Poison
    {
        NONE,
        /** &eta; = 1e30 or 1e38 without clipping: the step overflows float, or comes close. */
        HUGE_STEP,
        /** One class's bias in the last layer is NaN: its plain logit is NaN (an error only for a candidate). */
        NAN_BIAS,
        /** One class's bias in the last layer is +&infin; or -&infin;. */
        INFINITE_BIAS
    }

    /** A network as generated: sizes, activations, tensors in [-1, 1] (scaled at build time like PyTorch's init). */
    static final class Net
    {
        final int[] sizes;
        final List<Activation> activations;
        final List<float[]> tensors; // W_0, b_0, W_1, b_1, ...

        Net(final int[] sizes, final List<Activation> activations, final List<float[]> tensors)
        {
            this.sizes = sizes;
            this.activations = activations;
            this.tensors = tensors;
        }

        int layers()
        {
            return activations.size();
        }

        int parameters()
        {
            int n = 0;
            for (final float[] t : tensors)
            {
                n += t.length;
            }
            return n;
        }

        /** @param poisoned a parameter index to set to {@code value}, or -1. */
        DenseNetwork build(final float headScale, final int poisoned, final float value)
        {
            final DenseNetwork.Builder builder = DenseNetwork.builder(sizes[0]);
            int offset = 0;
            for (int l = 0; l < layers(); l++)
            {
                final float scale = (float)(1.0 / Math.sqrt(sizes[l])) * (l == layers() - 1 ? headScale : 1.0f);
                final float[] w = scaled(tensors.get(2 * l), scale, poisoned - offset, value);
                offset += w.length;
                final float[] b = scaled(tensors.get(2 * l + 1), scale, poisoned - offset, value);
                offset += b.length;
                builder.layer(w, b, activations.get(l));
            }
            return builder.build();
        }

        private static float[] scaled(final float[] values, final float scale, final int poisoned, final float value)
        {
            final float[] v = new float[values.length];
            for (int i = 0; i < v.length; i++)
            {
                v[i] = i == poisoned ? value : values[i] * scale;
            }
            return v;
        }

        @Override
        public String toString()
        {
            final StringBuilder s = new StringBuilder("sizes=").append(Arrays.toString(sizes)).append(" activations=")
                .append(activations).append(" tensors=[");
            for (final float[] t : tensors)
            {
                s.append(Arrays.toString(t)).append(' ');
            }
            return s.append(']').toString();
        }
    }

    /** One property case: a network, a configuration, a mode, a batch, the call's d and what breaks. */
    static final class Scenario
    {
        final Net net;
        final float headScale;
        final RefocusConfig config;
        final NativePredictor.Mode mode;
        final List<float[]> inputs;
        final float threshold;
        final Poison poison;
        final int poisoned;
        final float poisonValue;

        Scenario(final Net net, final float headScale, final RefocusConfig config, final NativePredictor.Mode mode,
            final List<float[]> inputs, final float threshold, final Poison poison, final int poisoned,
            final float poisonValue)
        {
            this.net = net;
            this.headScale = headScale;
            this.config = config;
            this.mode = mode;
            this.inputs = inputs;
            this.threshold = threshold;
            this.poison = poison;
            this.poisoned = poisoned;
            this.poisonValue = poisonValue;
        }

        DenseNetwork network()
        {
            return net.build(headScale, poisoned, poisonValue);
        }

        @Override
        public String toString()
        {
            final StringBuilder s = new StringBuilder("Scenario{").append(mode).append(", d=").append(threshold)
                .append(", poison=").append(poison);
            if (poisoned >= 0)
            {
                s.append(" (parameter ").append(poisoned).append(" = ").append(poisonValue).append(')');
            }
            s.append(", headScale=").append(headScale).append(", config={").append(config).append("}, inputs=[");
            for (final float[] x : inputs)
            {
                s.append(Arrays.toString(x)).append(' ');
            }
            return s.append("], ").append(net).append('}').toString();
        }
    }

    // Each property checks that its generator reaches the outcomes it is about (jqwik's coverage), so that a generator
    // drifting to certain samples only fails instead of passing on nothing.
    @Property(tries = 1000, seed = "3141592653")
    void shouldAgreeWithTheReference(@ForAll("ordinary") final Scenario scenario)
    {
        assertOutcomesAgree(scenario);
        outcomes().coverage(c -> {
            c.check(ADAPTED).percentage(p -> p > 30);
            c.check(CERTAIN).percentage(p -> p > 10);
        });
    }

    @Property(tries = 300, seed = "2718281828")
    void shouldAgreeOnNaNAndInfiniteLogits(@ForAll("nonFiniteBias") final Scenario scenario)
    {
        assertOutcomesAgree(scenario);
        outcomes().coverage(c -> {
            c.check(THROWS).percentage(p -> p > 10);
            c.check(FELL_BACK).percentage(p -> p > 5);
            c.check(ADAPTED).percentage(p -> p > 5);
        });
    }

    @Property(tries = 300, seed = "1618033988")
    void shouldFollowTheFallbackRuleWhenTheStepOverflows(@ForAll("hugeStep") final Scenario s)
    {
        final DenseNetwork network = s.network();
        final RefocusConfig config = s.config;
        final float eta = config.learningRate();
        final int n = s.inputs.size();
        final int features = network.inputSize();
        try (ReferencePredictor reference = ReferencePredictor.create(network, config);
            NativePredictor fast = NativePredictor.create(network, config, s.mode, n))
        {
            final Prediction expected = reference.newPrediction();
            final Prediction expectedPlain = reference.newPrediction();
            final Prediction plain = fast.newPrediction();
            final Prediction[] singles = new Prediction[n];
            final float[] batch = new float[n * features];
            for (int i = 0; i < n; i++)
            {
                final float[] x = s.inputs.get(i);
                System.arraycopy(x, 0, batch, i * features, features);
                final String where = "sample " + i;
                singles[i] = fast.newPrediction();
                final Prediction actual = singles[i];
                reference.predict(x, eta, s.threshold, expected);
                reference.predict(x, eta, 0.0f, expectedPlain); // d = 0: the plain prediction
                fast.predict(x, eta, s.threshold, actual);
                fast.predict(x, eta, 0.0f, plain);
                assertFollowsTheRule(expected, expectedPlain, config, where + " reference");
                assertFollowsTheRule(actual, plain, config, where + " native");
                assertEquals(expected.margin(), actual.margin(), 1e-5, where);
                if (Math.abs(expected.margin() - s.threshold) > 1e-5)
                {
                    assertEquals(expected.adapted(), actual.adapted(), where);
                }
                if (expected.margin() > 1e-5)
                {
                    assertEquals(expected.initialClass(), actual.initialClass(), where);
                }
                outcomes().collect(outcome(expected));
                Statistics.label(NATIVE_OUTCOME).collect(outcome(actual));
            }
            final Prediction[] outs = new Prediction[n];
            for (int i = 0; i < n; i++)
            {
                outs[i] = fast.newPrediction();
            }
            fast.predict(batch, n, eta, s.threshold, outs);
            for (int i = 0; i < n; i++)
            {
                // a sample that falls back leaves the others' passes alone: bit for bit as alone
                assertEquals(singles[i].toString(), outs[i].toString(), "sample " + i + " of the batch");
            }
        }
        Statistics.label(NATIVE_OUTCOME).coverage(c -> c.check(FELL_BACK).percentage(p -> p > 10));
    }

    /** The statistics of the running property (jqwik keeps them per property). */
    private static StatisticsCollector outcomes()
    {
        return Statistics.label(OUTCOME);
    }

    private static String outcome(final Prediction p)
    {
        return p.fellBack() ? FELL_BACK : p.adapted() ? ADAPTED : CERTAIN;
    }

    /** Never an answer from non-finite candidate logits; a fallback is the plain prediction. */
    private static void assertFollowsTheRule(final Prediction out, final Prediction plain, final RefocusConfig config,
        final String where)
    {
        if (out.fellBack())
        {
            assertTrue(out.adapted(), where);
            assertEquals(plain.initialClass(), out.initialClass(), where);
            assertEquals(plain.initialClass(), out.finalClass(), where);
            assertArrayEquals(plain.logits(), out.logits(), 0.0f, where + ": a fallback has the plain logits");
            return;
        }
        final int[] candidates = config.hasCandidates() ? config.candidates() : null;
        for (int c = 0; c < out.classes(); c++)
        {
            final int cls = c;
            if (candidates == null || Arrays.stream(candidates).anyMatch(k -> k == cls))
            {
                assertTrue(Float.isFinite(out.logit(c)), () -> where + ": an answer from logits " + out);
            }
        }
    }

    @Provide
    Arbitrary<Scenario> ordinary()
    {
        return scenarios(Arbitraries.just(Poison.NONE));
    }

    @Provide
    Arbitrary<Scenario> nonFiniteBias()
    {
        return scenarios(Arbitraries.of(Poison.NAN_BIAS, Poison.INFINITE_BIAS));
    }

    @Provide
    Arbitrary<Scenario> hugeStep()
    {
        return scenarios(Arbitraries.just(Poison.HUGE_STEP));
    }

    /**
     * Reference first, then native single calls, then the native batch: the same outcome for every sample (an
     * ArithmeticException where the reference's plain logits are NaN; otherwise agreement, fallback included), and the
     * batch bit for bit equal to the single calls.
     */
    private static void assertOutcomesAgree(final Scenario s)
    {
        final DenseNetwork network = s.network();
        final RefocusConfig config = s.config;
        final float eta = config.learningRate();
        final int n = s.inputs.size();
        final int features = network.inputSize();
        try (ReferencePredictor reference = ReferencePredictor.create(network, config);
            NativePredictor fast = NativePredictor.create(network, config, s.mode, n))
        {
            final String[] singles = new String[n];
            boolean anyNaN = false;
            final float[] batch = new float[n * features];
            for (int i = 0; i < n; i++)
            {
                final float[] x = s.inputs.get(i);
                System.arraycopy(x, 0, batch, i * features, features);
                final Prediction expected = reference.newPrediction();
                final Prediction actual = fast.newPrediction();
                final String where = "sample " + i;
                try
                {
                    reference.predict(x, eta, s.threshold, expected);
                }
                catch (final ArithmeticException e)
                {
                    anyNaN = true;
                    outcomes().collect(THROWS);
                    assertThrows(ArithmeticException.class, () -> fast.predict(x, eta, s.threshold, actual),
                        where + ": the reference's plain logits are NaN");
                    continue;
                }
                fast.predict(x, eta, s.threshold, actual);
                assertAgree(expected, actual, config, s.threshold, where);
                outcomes().collect(outcome(expected));
                singles[i] = actual.toString();
            }

            final Prediction[] outs = new Prediction[n];
            for (int i = 0; i < n; i++)
            {
                outs[i] = fast.newPrediction();
            }
            if (anyNaN)
            {
                assertThrows(ArithmeticException.class, () -> fast.predict(batch, n, eta, s.threshold, outs));
                return;
            }
            fast.predict(batch, n, eta, s.threshold, outs);
            for (int i = 0; i < n; i++)
            {
                assertEquals(singles[i], outs[i].toString(), "sample " + i + " of the batch"); // bit for bit
            }
        }
    }

    private static Arbitrary<Scenario> scenarios(final Arbitrary<Poison> poisons)
    {
        return networks().flatMap(net -> Combinators.combine(
                configs(net.layers(), net.sizes[net.layers()]),
                Arbitraries.of(NativePredictor.Mode.class),
                inputs(net.sizes[0]),
                Arbitraries.floats().between(0.0f, 1.0f),
                Arbitraries.of(0.1f, 1.0f),
                poisons,
                Arbitraries.integers().between(0, net.sizes[net.layers()] - 1),
                Arbitraries.of(1.0f, -1.0f))
            .as((config, mode, inputs, d, headScale, poison, poisonedClass, sign) -> {
                // the sign picks the huge rate too: 1e30 overflows where layers multiply, 1e38 at the first step
                final int index = net.parameters() - net.sizes[net.layers()] + poisonedClass; // the last bias
                switch (poison)
                {
                    case HUGE_STEP:
                        return new Scenario(net, headScale,
                            config.toBuilder().learningRate(sign > 0 ? 1e30f : 1e38f).clipNorm(0.0f).build(), mode,
                            inputs, d, poison,
                            -1, 0.0f);
                    case NAN_BIAS:
                        return new Scenario(net, headScale, config, mode, inputs, d, poison, index, Float.NaN);
                    case INFINITE_BIAS:
                        return new Scenario(net, headScale, config, mode, inputs, d, poison, index,
                            sign * Float.POSITIVE_INFINITY);
                    default:
                        return new Scenario(net, headScale, config, mode, inputs, d, poison, -1, 0.0f);
                }
            }));
    }

    private static Arbitrary<Net> networks()
    {
        return Arbitraries.integers().between(1, 4).flatMap(layers -> Combinators.combine(
                Arbitraries.integers().between(1, 40).list().ofSize(layers), // the input and hidden widths
                Arbitraries.integers().between(3, 40),                        // classes: n_f >= 2 needs 3
                Arbitraries.of(Activation.class).list().ofSize(layers))
            .flatAs((widths, classes, activations) -> {
                final int[] sizes = new int[layers + 1];
                for (int l = 0; l < layers; l++)
                {
                    sizes[l] = widths.get(l);
                }
                sizes[layers] = classes;
                final List<Arbitrary<float[]>> tensors = new ArrayList<>();
                for (int l = 0; l < layers; l++)
                {
                    tensors.add(values(sizes[l] * sizes[l + 1], 1.0f));
                    tensors.add(values(sizes[l + 1], 1.0f));
                }
                return Combinators.combine(tensors).as(t -> new Net(sizes, activations, t));
            }));
    }

    private static Arbitrary<float[]> values(final int n, final float bound)
    {
        return Arbitraries.floats().between(-bound, bound).array(float[].class).ofSize(n);
    }

    private static Arbitrary<List<float[]>> inputs(final int features)
    {
        return values(features, 3.0f).list().ofMinSize(1).ofMaxSize(4);
    }

    private static Arbitrary<RefocusConfig> configs(final int layers, final int classes)
    {
        final Arbitrary<ParameterSubset> subsets = Arbitraries.oneOf(
            Arbitraries.just(ParameterSubset.all()),
            Arbitraries.integers().between(1, layers).map(ParameterSubset::lastLayers),
            Arbitraries.just(ParameterSubset.head()),
            Arbitraries.just(ParameterSubset.biases()));
        final Arbitrary<List<Integer>> candidates = Arbitraries.integers().between(0, classes - 1).list()
            .uniqueElements().ofMinSize(3).ofMaxSize(Math.min(classes, 8)).injectNull(0.5); // null: every class
        return Combinators.combine(
                Arbitraries.of(Method.class),
                Arbitraries.integers().between(1, 4),
                subsets,
                candidates,
                Arbitraries.of(0.0f, 0.1f, 1.0f),
                Arbitraries.floats().between(0.0f, 3.0f))
            .flatAs((method, steps, subset, k, clip, eta) -> {
                final int pool = k == null ? classes : k.size();
                return Arbitraries.integers().between(2, Math.min(pool - 1, 5)).map(focus -> {
                    final RefocusConfig.Builder b = RefocusConfig.builder(eta).method(method).steps(steps)
                        .parameters(subset).clipNorm(clip).focusClasses(focus);
                    if (k != null)
                    {
                        b.candidates(k.stream().mapToInt(Integer::intValue).toArray());
                    }
                    return b.build();
                });
            });
    }
}
