package dev.refocus.cpu;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.Method;
import dev.refocus.ParameterSubset;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.reference.ReferencePredictor;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.refocus.testing.Agreement.assertAgree;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

/**
 * Properties, with QuickTheories, of the native backend against the reference on random dense networks (1 to 4
 * layers, widths 1 to 40, any activation after each layer) and random configurations (every method, T 1 to 4,
 * n_f, every kind of parameter subset, candidates or not, &eta;, d, clipping on or off), in implicit and shadow mode,
 * single calls and batches (a batch gives each sample's single prediction bit for bit):
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
 * <p>Each property is a plain JUnit test that runs QuickTheories with a fixed seed and a fixed number of examples,
 * then checks that its generator reached the outcomes it is about. Every generator is built from QuickTheories'
 * integer ranges (a real number is a whole number of hundredths), so that every choice is recorded and a failure
 * shrinks to a smaller network and configuration, weights and inputs towards 0; QuickTheories then reports the
 * smallest falsifying {@link Scenario} it found, printed in full, and the assertion it broke. The choices are drawn in
 * an order that keeps shrinking local: the shape (always four widths and four activations, of which the first L are
 * used, so that dropping a layer moves nothing else), the configuration, the call, the inputs, the tensors last.
 */
class NativeAgreementPropertiesTest
{
    /**
     * Shrinking steps after a failure (QuickTheories' default, 100 times the examples, would take minutes here). Each
     * runs the property once: a failure reports within seconds to half a minute.
     */
    private static final int SHRINK_CYCLES = 5000;

    private static final String THROWS = "throws";
    private static final String CERTAIN = "certain";
    private static final String ADAPTED = "adapted";
    private static final String FELL_BACK = "fell back";

    private static final int MAX_LAYERS = 4;

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

    /** The outcome of each sample a property saw, counted: its generator must reach the outcomes it is about. */
    static final class Outcomes
    {
        private final String label;
        private final Map<String, Integer> counts = new TreeMap<>();
        private int total;

        Outcomes(final String label)
        {
            this.label = label;
        }

        /** Prints the counts, as a statistics report (the build log keeps them). */
        void print(final String property)
        {
            System.out.println(property + ", " + label + ": " + this);
        }

        void collect(final String outcome)
        {
            counts.merge(outcome, 1, Integer::sum);
            total++;
        }

        /** Fails unless more than {@code percent} % of the samples had {@code outcome}. */
        void assertMoreThan(final String outcome, final double percent)
        {
            final double p = total == 0 ? 0.0 : 100.0 * counts.getOrDefault(outcome, 0) / total;
            assertTrue(p > percent, () -> String.format(
                "%s: '%s' in %.1f%% of the samples, expected more than %s%% (%s)", label, outcome, p, percent, this));
        }

        @Override
        public String toString()
        {
            return counts + " of " + total + " samples";
        }
    }

    /** The sizes and activations of a network: n_0 -> n_1 -> ... -> n_L, classes n_L. */
    static final class Shape
    {
        final int[] sizes;
        final List<Activation> activations;

        Shape(final int[] sizes, final List<Activation> activations)
        {
            this.sizes = sizes;
            this.activations = activations;
        }

        int layers()
        {
            return activations.size();
        }

        int classes()
        {
            return sizes[layers()];
        }

        @Override
        public String toString()
        {
            final StringBuilder s = new StringBuilder();
            for (int l = 0; l < sizes.length; l++)
            {
                s.append(l == 0 ? "" : " -> ").append(sizes[l]);
            }
            return s.append(' ').append(activations).toString();
        }
    }

    /** A network as generated: its shape, tensors in [-1, 1] (scaled at build time like PyTorch's init). */
    static final class Net
    {
        final Shape shape;
        final List<float[]> tensors; // W_0, b_0, W_1, b_1, ...

        Net(final Shape shape, final List<float[]> tensors)
        {
            this.shape = shape;
            this.tensors = tensors;
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
            final int[] sizes = shape.sizes;
            final int layers = shape.layers();
            final DenseNetwork.Builder builder = DenseNetwork.builder(sizes[0]);
            int offset = 0;
            for (int l = 0; l < layers; l++)
            {
                final float scale = (float)(1.0 / Math.sqrt(sizes[l])) * (l == layers - 1 ? headScale : 1.0f);
                final float[] w = scaled(tensors.get(2 * l), scale, poisoned - offset, value);
                offset += w.length;
                final float[] b = scaled(tensors.get(2 * l + 1), scale, poisoned - offset, value);
                offset += b.length;
                builder.layer(w, b, shape.activations.get(l));
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

        /** W_l row by row ([out][in]), then b_l, one line each, as generated (before scaling). */
        @Override
        public String toString()
        {
            final StringBuilder s = new StringBuilder();
            for (int l = 0; l < shape.layers(); l++)
            {
                final int in = shape.sizes[l];
                final float[] w = tensors.get(2 * l);
                s.append("\n  W_").append(l).append(" = [");
                for (int o = 0; o < shape.sizes[l + 1]; o++)
                {
                    s.append(o == 0 ? "" : ", ").append(Arrays.toString(Arrays.copyOfRange(w, o * in, (o + 1) * in)));
                }
                s.append("]\n  b_").append(l).append(" = ").append(Arrays.toString(tensors.get(2 * l + 1)));
            }
            return s.toString();
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

        /**
         * Several lines: the network's shape, the call, what breaks (the poisoned parameter counts through W_0, b_0,
         * W_1, ... in order), the configuration, the inputs, then the tensors as generated.
         */
        @Override
        public String toString()
        {
            final StringBuilder s = new StringBuilder("Scenario ").append(net.shape).append(", ").append(mode)
                .append(", d=").append(threshold).append(", head scale ").append(headScale).append(", poison ")
                .append(poison);
            if (poisoned >= 0)
            {
                s.append(" (parameter ").append(poisoned).append(" = ").append(poisonValue).append(')');
            }
            s.append("\n  config: ").append(config).append("\n  inputs: ");
            for (int i = 0; i < inputs.size(); i++)
            {
                s.append(i == 0 ? "" : ", ").append(Arrays.toString(inputs.get(i)));
            }
            return s.append(net).toString();
        }
    }

    /** The reference's outcome per sample. */
    private final Outcomes outcomes = new Outcomes("the reference's outcome per sample");
    /** The native backend's outcome per sample (the huge step only). */
    private final Outcomes nativeOutcomes = new Outcomes("the native backend's outcome per sample");

    // Each property then checks that its generator reached the outcomes it is about, so that a generator drifting to
    // certain samples only fails instead of passing on nothing. (JUnit makes an instance per test: the counts are the
    // property's own.)
    @Test
    void shouldAgreeWithTheReference()
    {
        qt().withExamples(1000).withFixedSeed(3141592653L).withShrinkCycles(SHRINK_CYCLES)
            .forAll(scenarios(Generate.constant(Poison.NONE)))
            .checkAssert(this::assertOutcomesAgree);
        outcomes.print("shouldAgreeWithTheReference");
        outcomes.assertMoreThan(ADAPTED, 30);
        outcomes.assertMoreThan(CERTAIN, 10);
    }

    @Test
    void shouldAgreeOnNaNAndInfiniteLogits()
    {
        qt().withExamples(300).withFixedSeed(2718281828L).withShrinkCycles(SHRINK_CYCLES)
            .forAll(scenarios(Generate.pick(List.of(Poison.NAN_BIAS, Poison.INFINITE_BIAS))))
            .checkAssert(this::assertOutcomesAgree);
        outcomes.print("shouldAgreeOnNaNAndInfiniteLogits");
        outcomes.assertMoreThan(THROWS, 10);
        outcomes.assertMoreThan(FELL_BACK, 5);
        outcomes.assertMoreThan(ADAPTED, 5);
    }

    @Test
    void shouldFollowTheFallbackRuleWhenTheStepOverflows()
    {
        qt().withExamples(300).withFixedSeed(1618033988L).withShrinkCycles(SHRINK_CYCLES)
            .forAll(scenarios(Generate.constant(Poison.HUGE_STEP)))
            .checkAssert(this::assertFollowsTheFallbackRule);
        outcomes.print("shouldFollowTheFallbackRuleWhenTheStepOverflows");
        nativeOutcomes.print("shouldFollowTheFallbackRuleWhenTheStepOverflows");
        nativeOutcomes.assertMoreThan(FELL_BACK, 10);
    }

    private void assertFollowsTheFallbackRule(final Scenario s)
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
                outcomes.collect(outcome(expected));
                nativeOutcomes.collect(outcome(actual));
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

    /**
     * {@link dev.refocus.testing.Agreement}'s rule, unless the reference itself is ill-conditioned there: when the
     * weights move by about float's rounding of a dot product (each times 1 + 2<sup>-20</sup> g, g standard normal,
     * three draws) and the reference's own logits move by at least a quarter of the native backend's distance from
     * it, float cannot follow the double oracle (a step that moves a hidden ReLU unit to its kink, say: shrunk,
     * 40 -> 34 -> 11 with ReLU and SiLU on the logits, CROSS_ENTROPY, &eta; = 2.38, T = 2, where weights off by
     * 1e-6 move the reference's logit by 1.2e-3, and the native one is 8.7e-4 from it). A wrong step moves the
     * native answer while the reference stays put, and still fails.
     */
    private static void assertAgreeUnlessIllConditioned(final DenseNetwork network, final RefocusConfig config,
        final float[] x, final float threshold, final Prediction expected, final Prediction actual, final String where)
    {
        try
        {
            assertAgree(expected, actual, config, threshold, where);
        }
        catch (final AssertionError e)
        {
            if (!expected.adapted() || !actual.adapted() || expected.fellBack() || actual.fellBack())
            {
                throw e;
            }
            final double distance = maxDistance(expected.logits(), actual.logits());
            double spread = 0.0;
            for (int draw = 0; draw < 3; draw++)
            {
                try (ReferencePredictor perturbed = ReferencePredictor.create(perturb(network, draw), config))
                {
                    final Prediction p = perturbed.newPrediction();
                    perturbed.predict(x, config.learningRate(), threshold, p);
                    spread = Math.max(spread, p.adapted() ? maxDistance(expected.logits(), p.logits()) : 0.0);
                }
            }
            if (!(spread >= distance / 4))
            {
                throw e;
            }
        }
    }

    private static double maxDistance(final float[] a, final float[] b)
    {
        double max = 0.0;
        for (int c = 0; c < a.length; c++)
        {
            max = Math.max(max, Math.abs((double)a[c] - b[c]));
        }
        return max;
    }

    private static DenseNetwork perturb(final DenseNetwork network, final long seed)
    {
        final java.util.Random random = new java.util.Random(seed);
        final DenseNetwork.Builder builder = DenseNetwork.builder(network.inputSize());
        for (int l = 0; l < network.layers(); l++)
        {
            final float[] w = new float[network.weight(l).remaining()];
            network.weight(l).get(w);
            final float[] b = new float[network.bias(l).remaining()];
            network.bias(l).get(b);
            for (final float[] t : new float[][] {w, b})
            {
                for (int i = 0; i < t.length; i++)
                {
                    t[i] *= (float)(1.0 + Math.scalb(random.nextGaussian(), -20));
                }
            }
            builder.layer(w, b, network.activation(l));
        }
        return builder.build();
    }

    /**
     * Reference first, then native single calls, then the native batch: the same outcome for every sample (an
     * ArithmeticException where the reference's plain logits are NaN; otherwise agreement, fallback included), and the
     * batch bit for bit equal to the single calls.
     */
    private void assertOutcomesAgree(final Scenario s)
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
                    outcomes.collect(THROWS);
                    assertThrows(ArithmeticException.class, () -> fast.predict(x, eta, s.threshold, actual),
                        where + ": the reference's plain logits are NaN");
                    continue;
                }
                fast.predict(x, eta, s.threshold, actual);
                assertAgreeUnlessIllConditioned(network, config, x, s.threshold, expected, actual, where);
                outcomes.collect(outcome(expected));
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

    // Generators. Each draws its choices from QuickTheories' source in a fixed order; nothing else is random.

    /** Scenarios whose poison {@code poisons} picks. */
    private static Gen<Scenario> scenarios(final Gen<Poison> poisons)
    {
        return in -> {
            final Shape shape = shapes().generate(in);
            final RefocusConfig config = configs(shape.layers(), shape.classes()).generate(in);
            final NativePredictor.Mode mode = Generate.enumValues(NativePredictor.Mode.class).generate(in);
            final float d = decimals(0.0f, 0.15f).generate(in); // real margins: both certain and uncertain samples
            final float headScale = Generate.pick(List.of(0.1f, 1.0f)).generate(in);
            final Poison poison = poisons.generate(in);
            final int poisonedClass = integers().between(0, shape.classes() - 1).generate(in);
            final float sign = Generate.pick(List.of(1.0f, -1.0f)).generate(in);
            final List<float[]> inputs = inputs(shape.sizes[0]).generate(in);
            final Net net = networks(shape).generate(in);
            // the sign picks the huge rate too: 1e30 overflows where layers multiply, 1e38 at the first step
            final int index = net.parameters() - shape.classes() + poisonedClass; // the last bias
            switch (poison)
            {
                case HUGE_STEP:
                    return new Scenario(net, headScale,
                        config.toBuilder().learningRate(sign > 0 ? 1e30f : 1e38f).clipNorm(0.0f).build(), mode,
                        inputs, d, poison, -1, 0.0f);
                case NAN_BIAS:
                    return new Scenario(net, headScale, config, mode, inputs, d, poison, index, Float.NaN);
                case INFINITE_BIAS:
                    return new Scenario(net, headScale, config, mode, inputs, d, poison, index,
                        sign * Float.POSITIVE_INFINITY);
                default:
                    return new Scenario(net, headScale, config, mode, inputs, d, poison, -1, 0.0f);
            }
        };
    }

    /**
     * 1 to 4 layers, input and hidden widths 1 to 40, 3 to 40 classes (n_f >= 2 needs 3), an activation per layer.
     * Four widths and four activations are always drawn, the first L used: dropping a layer while shrinking keeps the
     * other choices where they were.
     */
    private static Gen<Shape> shapes()
    {
        final Gen<Integer> widths = integers().between(1, 40);
        final Gen<Activation> activations = Generate.enumValues(Activation.class);
        return in -> {
            final int layers = integers().between(1, MAX_LAYERS).generate(in);
            final int[] sizes = new int[layers + 1];
            for (int l = 0; l < MAX_LAYERS; l++)
            {
                final int width = widths.generate(in);
                if (l < layers)
                {
                    sizes[l] = width;
                }
            }
            sizes[layers] = integers().between(3, 40).generate(in);
            final List<Activation> chosen = new ArrayList<>();
            for (int l = 0; l < MAX_LAYERS; l++)
            {
                final Activation activation = activations.generate(in);
                if (l < layers)
                {
                    chosen.add(activation);
                }
            }
            return new Shape(sizes, chosen);
        };
    }

    /** The tensors of a network of this shape: W_0, b_0, W_1, b_1, ..., values in [-1, 1]. */
    private static Gen<Net> networks(final Shape shape)
    {
        return in -> {
            final List<float[]> tensors = new ArrayList<>();
            for (int l = 0; l < shape.layers(); l++)
            {
                tensors.add(values(shape.sizes[l] * shape.sizes[l + 1], 1.0f).generate(in));
                tensors.add(values(shape.sizes[l + 1], 1.0f).generate(in));
            }
            return new Net(shape, tensors);
        };
    }

    /** 1 to 4 samples of {@code features} values in [-3, 3]. */
    private static Gen<List<float[]>> inputs(final int features)
    {
        return integers().between(1, 4).flatMap(n -> in -> {
            final List<float[]> xs = new ArrayList<>();
            for (int i = 0; i < n; i++)
            {
                xs.add(values(features, 3.0f).generate(in));
            }
            return xs;
        });
    }

    /** {@code n} values in [-bound, bound]. */
    private static Gen<float[]> values(final int n, final float bound)
    {
        final Gen<Float> value = decimals(-bound, bound);
        return in -> {
            final float[] v = new float[n];
            for (int i = 0; i < n; i++)
            {
                v[i] = value.generate(in);
            }
            return v;
        };
    }

    /**
     * Numbers in [min, max] with two decimals (an integer number of hundredths, the nearest float to it); they shrink
     * towards 0, or the bound nearest to it.
     */
    private static Gen<Float> decimals(final float min, final float max)
    {
        return integers().between(Math.round(min * 100), Math.round(max * 100)).map(k -> k / 100.0f);
    }

    private static Gen<RefocusConfig> configs(final int layers, final int classes)
    {
        final Gen<ParameterSubset> subsets = integers().between(0, 3).flatMap(kind -> {
            switch (kind)
            {
                case 0:
                    return Generate.constant(ParameterSubset.all());
                case 1:
                    return integers().between(1, layers).map(ParameterSubset::lastLayers);
                case 2:
                    return Generate.constant(ParameterSubset.head());
                default:
                    return Generate.constant(ParameterSubset.biases());
            }
        });
        final Gen<Method> methods = Generate.enumValues(Method.class);
        final Gen<Float> clips = Generate.pick(List.of(0.0f, 0.1f, 1.0f));
        return in -> {
            final Method method = methods.generate(in);
            final int steps = integers().between(1, 4).generate(in);
            final ParameterSubset subset = subsets.generate(in);
            final float clip = clips.generate(in);
            // unclipped, a large step swings near-tied logits by far more than their gap, and float's rounding of
            // it is then a visible share of the answer: the double oracle is out of float's reach (the overflow
            // regime has a property of its own); clipped steps stay bounded whatever eta
            final float eta = decimals(0.0f, clip == 0.0f ? 0.5f : 3.0f).generate(in);
            final int[] k = candidates(classes).generate(in); // null: every class
            final int pool = k == null ? classes : k.length;
            final int focus = integers().between(2, Math.min(pool - 1, 5)).generate(in);
            final RefocusConfig.Builder b = RefocusConfig.builder(eta).method(method).steps(steps).parameters(subset)
                .clipNorm(clip).focusClasses(focus);
            if (k != null)
            {
                b.candidates(k);
            }
            return b.build();
        };
    }

    /**
     * Half the time null (every class is a candidate), else 3 to min(classes, 8) distinct classes in random order: each
     * picked among the classes not yet picked, so that they shrink towards 0, 1, 2.
     */
    private static Gen<int[]> candidates(final int classes)
    {
        return Generate.booleans().flatMap(restricted -> !restricted ? Generate.constant((int[])null)
            : integers().between(3, Math.min(classes, 8)).flatMap(size -> in -> {
                final List<Integer> left = new ArrayList<>();
                for (int c = 0; c < classes; c++)
                {
                    left.add(c);
                }
                final int[] picked = new int[size];
                for (int j = 0; j < size; j++)
                {
                    picked[j] = left.remove((int)integers().between(0, left.size() - 1).generate(in));
                }
                return picked;
            }));
    }
}
