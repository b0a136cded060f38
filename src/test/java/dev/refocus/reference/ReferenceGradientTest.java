package dev.refocus.reference;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.Method;
import dev.refocus.ParameterSubset;
import dev.refocus.RefocusConfig;
import dev.refocus.testing.RandomNetworks;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reference's hand-written backward pass against central finite differences of the loss, for every
 * method, every kind of parameter subset, both smooth and ReLU networks, with and without candidates.
 * Everything is double precision, so the two agree to about 1e-8.
 */
class ReferenceGradientTest
{
    private static final double STEP = 1e-6;

    static Stream<Arguments> cases()
    {
        final List<Arguments> cases = new ArrayList<>();
        final ParameterSubset[] subsets = {
            ParameterSubset.all(), ParameterSubset.lastLayers(2), ParameterSubset.head(), ParameterSubset.biases()};
        for (final Method method : Method.values())
        {
            for (final ParameterSubset subset : subsets)
            {
                for (final Activation hidden : Activation.values())
                {
                    cases.add(Arguments.of(method, subset, hidden, Activation.IDENTITY, false));
                }
                cases.add(Arguments.of(method, subset, Activation.TANH, Activation.IDENTITY, true));
                // an activation on the logits too, one that needs its input (GELU) and one that needs its output
                cases.add(Arguments.of(method, subset, Activation.SILU, Activation.GELU, false));
                cases.add(Arguments.of(method, subset, Activation.GELU_TANH, Activation.SIGMOID, true));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} {3} candidates={4}")
    @MethodSource("cases")
    void shouldMatchFiniteDifferences(final Method method, final ParameterSubset subset, final Activation hidden,
        final Activation last, final boolean withCandidates)
    {
        final DenseNetwork network = RandomNetworks.network(11, hidden, last, 1.0f, 5, 7, 6, 6);
        final RefocusConfig.Builder builder = RefocusConfig.builder(0.1f).method(method).parameters(subset)
            .focusClasses(2).clipNorm(0.0f);
        if (withCandidates)
        {
            builder.candidates(5, 1, 3, 2);
        }
        final ReferencePredictor predictor = ReferencePredictor.create(network, builder.build());
        final float[] input = RandomNetworks.gaussian(new Random(3), 5);
        predictor.loadInput(input);

        // the state of the first step: clone, forward, focus classes, dL/dz, backward
        predictor.cloneParameters();
        final double[][] w = predictor.parameterWeights();
        final double[][] b = predictor.parameterBiases();
        predictor.forward(w, b);
        final ReferenceFocusHead head = predictor.head();
        head.rank(predictor.logitsOfLastForward());
        final double[] pTilde = head.probabilities().clone();
        head.logitGrad(predictor.logitsOfLastForward(), predictor.dlogits());
        predictor.backward();

        int checked = 0;
        for (int l = 0; l < network.layers(); l++)
        {
            final boolean weightAdapts = subset.adaptsWeight(l, network.layers());
            final boolean biasAdapts = subset.adaptsBias(l, network.layers());
            for (int j = 0; j < w[l].length; j++)
            {
                final double expected = weightAdapts ? finiteDifference(predictor, w, b, w[l], j, pTilde) : 0.0;
                assertClose(expected, predictor.gradientWeights()[l][j], "dL/dW" + l + "[" + j + "]");
                checked++;
            }
            for (int j = 0; j < b[l].length; j++)
            {
                final double expected = biasAdapts ? finiteDifference(predictor, w, b, b[l], j, pTilde) : 0.0;
                assertClose(expected, predictor.gradientBiases()[l][j], "dL/db" + l + "[" + j + "]");
                checked++;
            }
        }
        assertEquals(network.parameterCount(), checked);
    }

    private static double finiteDifference(final ReferencePredictor predictor, final double[][] w,
        final double[][] b, final double[] tensor, final int index, final double[] pTilde)
    {
        final double saved = tensor[index];
        tensor[index] = saved + STEP;
        predictor.forward(w, b);
        final double plus = predictor.head().loss(predictor.logitsOfLastForward(), pTilde);
        tensor[index] = saved - STEP;
        predictor.forward(w, b);
        final double minus = predictor.head().loss(predictor.logitsOfLastForward(), pTilde);
        tensor[index] = saved;
        return (plus - minus) / (2 * STEP);
    }

    private static void assertClose(final double expected, final double actual, final String what)
    {
        final double tolerance = 1e-7 + 1e-6 * Math.abs(expected);
        assertTrue(Math.abs(expected - actual) <= tolerance,
            what + ": finite difference " + expected + ", backward " + actual);
    }
}
