package dev.refocus.torch;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.ModelFormatException;
import dev.refocus.ParameterSubset;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
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

    /**
     * libtorch on the module against the reference on the imported network, at a threshold between real margins:
     * the certain samples compare plain forward passes, the uncertain ones a refocus step of the head as well.
     */
    private static void assertForwardPassesAgree(final String file, final DenseNetwork network) throws IOException
    {
        final TorchModel model = TorchModel.load(path(file), network.inputSize());
        // only the head adapts: the import gives a Linear without bias a zero bias, which would adapt under all()
        // though the module has no such parameter (mlp-mixed.pt)
        final RefocusConfig config = RefocusConfig.builder(0.1f).parameters(ParameterSubset.head()).build();
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
