package dev.refocus.torch;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.ModelFormatException;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.reference.ReferencePredictor;
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
    void shouldGiveALinearWithoutBiasAZeroBiasAndKeepAnActivationOnTheHead() throws IOException
    {
        final DenseNetwork mixed = TorchScriptImport.denseNetwork(path("mlp-mixed.pt"));
        assertEquals(2, mixed.layers());
        assertEquals(Activation.IDENTITY, mixed.activation(0));
        assertEquals(Activation.RELU, mixed.activation(1));
        assertArrayEquals(new float[6], array(mixed.bias(0)));
        final TorchModel model = TorchModel.load(path("mlp-mixed.pt"), 4);
        assertArrayEquals(model.parameterValues("0.weight"), array(mixed.weight(0)));
        assertForwardPassesAgree("mlp-mixed.pt", mixed);
    }

    @Test
    void shouldComputeTheSameLogitsAsTheModule() throws IOException
    {
        assertForwardPassesAgree("mlp-relu.pt", TorchScriptImport.denseNetwork(path("mlp-relu.pt")));
        assertForwardPassesAgree("mlp-tanh.pt", TorchScriptImport.denseNetwork(path("mlp-tanh.pt")));
    }

    /** Plain forward passes (d = 0): libtorch on the module, the reference on the imported network. */
    private static void assertForwardPassesAgree(final String file, final DenseNetwork network) throws IOException
    {
        final TorchModel model = TorchModel.load(path(file), network.inputSize());
        final RefocusConfig config = RefocusConfig.builder(0.1f).marginThreshold(0.0f).build();
        final Random random = new Random(11);
        try (Predictor torch = TorchPredictor.create(model, config, TorchOptions.defaults());
            Predictor reference = ReferencePredictor.create(network, config))
        {
            final Prediction expected = reference.newPrediction();
            final Prediction actual = torch.newPrediction();
            for (int i = 0; i < 20; i++)
            {
                final float[] x = TestModels.gaussian(random, network.inputSize());
                reference.predict(x, expected);
                torch.predict(x, actual);
                assertSamePrediction(expected, actual, 1e-6f, 1e-5f, file + " input " + i);
            }
        }
    }

    @Test
    void shouldRefuseModulesThatAreNotSupportedMlps()
    {
        assertRefused("cnn.pt", "is a SmallCnn, not an nn.Sequential MLP");
        assertRefused("mlp-sigmoid.pt", "module '1' is a torch.nn.modules.activation.Sigmoid");
        assertRefused("state-dict.pt", "is not a TorchScript file");
        assertRefused("tuple-output.pt", "TupleOutput, not an nn.Sequential");
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
