package dev.refocus.torch;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.ModelFormatException;
import dev.refocus.ParameterSubset;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.NativePredictor;
import dev.refocus.reference.ReferencePredictor;
import dev.refocus.testing.Thresholds;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Random;

import static dev.refocus.torch.TestModels.assertSamePrediction;
import static dev.refocus.torch.TestModels.path;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A TorchScript MLP imported into a DenseNetwork is the same network as the module. */
class TorchScriptImportTest
{
    @Test
    void shouldImportTheWeightsAndActivationsOfASequential() throws IOException
    {
        final DenseNetwork relu = TorchScriptImport.denseNetwork(path("mlp-relu.pt"));
        assertEquals("DenseNetwork[6 -> 10 relu -> 8 relu -> 5]", relu.toString());
        final TorchModel model = TorchModel.load(path("mlp-relu.pt"), 6);
        for (int l = 0; l < relu.layers(); l++)
        {
            assertArrayEquals(model.parameterValues(2 * l + ".weight"), array(relu.weight(l)));
            assertArrayEquals(model.parameterValues(2 * l + ".bias"), array(relu.bias(l)));
        }
        // Linear, Tanh, Identity, Linear, Tanh, Linear: the Identity adds no layer
        assertEquals("DenseNetwork[5 -> 7 tanh -> 6 tanh -> 4]",
            TorchScriptImport.denseNetwork(path("mlp-tanh.pt")).toString());
    }

    @Test
    void shouldComputeTheSameLogitsAsTheModule() throws IOException
    {
        assertForwardPassesAgree("mlp-relu.pt", TorchScriptImport.denseNetwork(path("mlp-relu.pt")));
        assertForwardPassesAgree("mlp-tanh.pt", TorchScriptImport.denseNetwork(path("mlp-tanh.pt")));
        assertForwardPassesAgree("mlp-sigmoid.pt", TorchScriptImport.denseNetwork(path("mlp-sigmoid.pt")));
    }

    /**
     * Every activation, in a scripted Sequential, a traced one, a custom module (traced and scripted) and one made of
     * matmul + add, addmm and F.linear after a flatten: each imports to exactly its safetensors twin (the same weights,
     * so bit-identical logits on the native backend), and the reference on it agrees with libtorch on the module with
     * every parameter adapting.
     */
    @Test
    void shouldImportAnyChainOfLinearLayersAndActivationsFromTheGraph() throws IOException
    {
        final String[][] pairs = {
            {"seq-relu-scripted.pt", "seq-relu"}, {"seq-relu-traced.pt", "seq-relu"},
            {"seq-tanh-scripted.pt", "seq-tanh"}, {"seq-gelu-scripted.pt", "seq-gelu"},
            {"seq-gelu_tanh-scripted.pt", "seq-gelu_tanh"}, {"seq-silu-scripted.pt", "seq-silu"},
            {"seq-sigmoid-scripted.pt", "seq-sigmoid"}, {"seq-leaky_relu-scripted.pt", "seq-leaky_relu"},
            {"custom-gelu-traced.pt", "custom-gelu"}, {"custom-gelu-scripted.pt", "custom-gelu"}};
        for (final String[] pair : pairs)
        {
            assertImportsAsItsTwin("graph/" + pair[0], "graph/" + pair[1] + ".safetensors", 6);
        }
        assertImportsAsItsTwin("graph/matmul-add-traced.pt", "graph/matmul-add.safetensors", 6);
    }

    private static void assertImportsAsItsTwin(final String file, final String twin, final int features)
        throws IOException
    {
        final DenseNetwork imported = TorchScriptImport.denseNetwork(path(file));
        final DenseNetwork expected = DenseNetwork.load(path(twin));
        assertEquals(expected.toString(), imported.toString(), file);
        for (int l = 0; l < expected.layers(); l++)
        {
            assertArrayEquals(array(expected.weight(l)), array(imported.weight(l)), file + " W" + l);
            assertArrayEquals(array(expected.bias(l)), array(imported.bias(l)), file + " b" + l);
            assertEquals(expected.activation(l), imported.activation(l), file + " activation " + l);
        }
        final RefocusConfig config = RefocusConfig.builder(0.1f).build();
        try (NativePredictor a = NativePredictor.create(imported, config);
            NativePredictor b = NativePredictor.create(expected, config))
        {
            final Prediction pa = a.newPrediction();
            final Prediction pb = b.newPrediction();
            final Random random = new Random(5);
            for (int i = 0; i < 10; i++)
            {
                final float[] x = TestModels.gaussian(random, features);
                a.predict(x, pa);
                b.predict(x, pb);
                assertArrayEquals(pb.logits(), pa.logits(), file);
            }
        }
        if (!file.contains("matmul-add")) // its module takes [1, 2, 3]: TorchModel feeds [1, n]
        {
            assertForwardPassesAgree(file, imported, ParameterSubset.all());
        }
    }

    /**
     * libtorch on the module against the reference on the imported network, at a threshold between real margins:
     * the certain samples compare plain forward passes, the uncertain ones a refocus step of the head as well.
     */
    private static void assertForwardPassesAgree(final String file, final DenseNetwork network) throws IOException
    {
        assertForwardPassesAgree(file, network, ParameterSubset.head());
    }

    private static void assertForwardPassesAgree(final String file, final DenseNetwork network,
        final ParameterSubset subset) throws IOException
    {
        final TorchModel model = TorchModel.load(path(file), network.inputSize());
        final RefocusConfig config = RefocusConfig.builder(0.1f).parameters(subset).build();
        final Random random = new Random(11);
        final float[][] inputs = new float[20][];
        for (int i = 0; i < inputs.length; i++)
        {
            inputs[i] = TestModels.gaussian(random, network.inputSize());
        }
        try (Predictor torch = TorchPredictor.create(model, config, TorchOptions.defaults());
            Predictor reference = ReferencePredictor.create(network, config))
        {
            final float d = Thresholds.split(reference, inputs);
            final Prediction expected = reference.newPrediction();
            final Prediction actual = torch.newPrediction();
            int certain = 0;
            for (int i = 0; i < inputs.length; i++)
            {
                final String where = file + " input " + i + ", d = " + d;
                reference.predict(inputs[i], 0.1f, d, expected);
                torch.predict(inputs[i], 0.1f, d, actual);
                assertEquals(expected.margin() < d, expected.adapted(), where);
                if (expected.adapted())
                {
                    assertSamePrediction(expected, actual, 2e-5f, 2e-4f, where); // float32 step against double
                }
                else
                {
                    certain++;
                    assertSamePrediction(expected, actual, 1e-6f, 1e-5f, where);
                }
            }
            assertTrue(certain >= inputs.length / 3 && inputs.length - certain >= inputs.length / 3,
                file + ": " + certain + " certain samples of " + inputs.length);
        }
    }

    @Test
    void shouldRefuseModulesThatAreNotSupportedMlps()
    {
        assertRefused("cnn.pt", "the import stopped at aten::conv2d");
        assertRefused("graph/conv.pt", "the import stopped at aten::unsqueeze");
        assertRefused("graph/residual.pt", "the import stopped at aten::add, which reads the output of an earlier layer");
        assertRefused("graph/leaky-relu-0.2.pt", "aten::leaky_relu, which has negative_slope 0.2");
        assertRefused("graph/no-bias.pt", "layer of '0.weight' has no bias");
        assertRefused("mlp-mixed.pt", "layer of '0.weight' has no bias");
        assertRefused("state-dict.pt", "is not a TorchScript file");
        assertRefused("tuple-output.pt", "the import stopped at prim::TupleConstruct");
        assertThrows(NoSuchFileException.class, () -> TorchScriptImport.denseNetwork(Path.of("no-such-model.pt")));
    }

    private static void assertRefused(final String file, final String fragment)
    {
        final ModelFormatException e = assertThrows(ModelFormatException.class,
            () -> TorchScriptImport.denseNetwork(path(file)));
        assertTrue(e.getMessage().contains(fragment), () -> "'" + e.getMessage() + "' lacks '" + fragment + "'");
    }

    private static float[] array(final FloatBuffer buffer)
    {
        final float[] values = new float[buffer.remaining()];
        buffer.get(values);
        return values;
    }
}
