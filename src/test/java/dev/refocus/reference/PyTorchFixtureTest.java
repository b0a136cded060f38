package dev.refocus.reference;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.Method;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.internal.formats.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reference against PyTorch autograd, an oracle that shares no code with it: a 6-5-4-4 ReLU network, 8
 * inputs, every method, T = 1 and 2, clipping that does and does not fire, all computed by PyTorch in float64
 * (src/test/resources/dev/refocus/pytorch-fixture.json, made by examples/fashion-mnist/make_fixture.py).
 */
class PyTorchFixtureTest
{
    private static final double TOLERANCE = 1e-10;
    private static Map<String, Object> fixture;
    private static DenseNetwork network;
    private static List<Object> inputs;

    @BeforeAll
    @SuppressWarnings("unchecked")
    static void load() throws Exception
    {
        try (InputStream in = PyTorchFixtureTest.class.getResourceAsStream("/dev/refocus/pytorch-fixture.json"))
        {
            fixture = (Map<String, Object>)Json.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        final List<Object> layers = list(fixture.get("layers"));
        final int inputSize = list(list(map(layers.get(0)).get("weight")).get(0)).size();
        final DenseNetwork.Builder builder = DenseNetwork.builder(inputSize);
        for (int l = 0; l < layers.size(); l++)
        {
            final List<Object> rows = list(map(layers.get(l)).get("weight"));
            final float[][] w = new float[rows.size()][];
            for (int o = 0; o < w.length; o++)
            {
                w[o] = floats(rows.get(o));
            }
            builder.layer(w, floats(map(layers.get(l)).get("bias")),
                l + 1 < layers.size() ? Activation.RELU : Activation.IDENTITY);
        }
        network = builder.build();
        inputs = list(fixture.get("inputs"));
    }

    @Test
    void shouldAdaptExactlyAsPyTorchDoes()
    {
        int compared = 0;
        for (final Object c : list(fixture.get("cases")))
        {
            final Map<String, Object> testCase = map(c);
            final RefocusConfig config = RefocusConfig.builder(number(testCase.get("eta")))
                .method(Method.valueOf((String)testCase.get("method")))
                .steps(((Long)testCase.get("steps")).intValue())
                .clipNorm(number(testCase.get("clip")))
                .focusClasses(((Long)testCase.get("nFocus")).intValue())
                .marginThreshold(number(testCase.get("d")))
                .build();
            final ReferencePredictor predictor = ReferencePredictor.create(network, config);
            final Prediction out = predictor.newPrediction();
            final List<Object> results = list(testCase.get("results"));
            for (int i = 0; i < results.size(); i++)
            {
                final Map<String, Object> expected = map(results.get(i));
                final String where = config + " input " + i;
                predictor.predict(floats(inputs.get(i)), out);
                assertTrue(out.adapted(), where);
                assertEquals(((Number)expected.get("margin")).doubleValue(), out.margin(), 1e-7, where);
                assertEquals(((Long)list(expected.get("focus")).get(0)).intValue(), out.initialClass(), where);
                assertEquals(((Long)expected.get("finalClass")).intValue(), out.finalClass(), where);
                final List<Object> adapted = list(expected.get("adaptedLogits"));
                final double[] logits = predictor.logitsOfLastForward();
                for (int k = 0; k < adapted.size(); k++)
                {
                    assertEquals(((Number)adapted.get(k)).doubleValue(), logits[k], TOLERANCE, where + " logit " + k);
                }
                compared++;
            }
        }
        assertEquals(160, compared);
    }

    @Test
    void shouldComputeTheSameClippedGradients()
    {
        for (final Object g : list(fixture.get("firstInputGradients")))
        {
            final Map<String, Object> expected = map(g);
            final RefocusConfig config = RefocusConfig.builder(0.5f)
                .method(Method.valueOf((String)expected.get("method"))).clipNorm(number(expected.get("clip")))
                .marginThreshold(1.0f).build();
            final ReferencePredictor predictor = ReferencePredictor.create(network, config);
            predictor.predict(floats(inputs.get(0)), predictor.newPrediction());
            final Map<String, Object> tensors = map(expected.get("clippedGradients"));
            for (int l = 0; l < network.layers(); l++)
            {
                final String layer = String.valueOf(2 * l); // nn.Sequential indices of the Linear modules
                final List<Object> rows = list(tensors.get(layer + ".weight"));
                final int in = network.inputSize(l);
                for (int o = 0; o < rows.size(); o++)
                {
                    final List<Object> row = list(rows.get(o));
                    for (int i = 0; i < in; i++)
                    {
                        assertEquals(((Number)row.get(i)).doubleValue(), predictor.gradientWeights()[l][o * in + i],
                            TOLERANCE, config + " dW" + layer);
                    }
                }
                final List<Object> bias = list(tensors.get(layer + ".bias"));
                for (int o = 0; o < bias.size(); o++)
                {
                    assertEquals(((Number)bias.get(o)).doubleValue(), predictor.gradientBiases()[l][o], TOLERANCE,
                        config + " db" + layer);
                }
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(final Object o)
    {
        return (Map<String, Object>)o;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(final Object o)
    {
        return (List<Object>)o;
    }

    private static float number(final Object o)
    {
        return ((Number)o).floatValue();
    }

    private static float[] floats(final Object o)
    {
        final List<Object> values = list(o);
        final float[] result = new float[values.size()];
        for (int i = 0; i < result.length; i++)
        {
            result[i] = ((Number)values.get(i)).floatValue();
        }
        return result;
    }
}
