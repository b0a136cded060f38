package dev.refocus.torch;

import dev.refocus.DenseNetwork;
import dev.refocus.Method;
import dev.refocus.ParameterSubset;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.HeadPredictor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Random;

import static dev.refocus.torch.TestModels.assertSamePrediction;
import static dev.refocus.torch.TestModels.gaussian;
import static dev.refocus.torch.TestModels.path;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A CNN with a native head: its convolutional backbone run by libtorch (cnn-head/backbone.pt), its two dense layers
 * adapted by the native step (cnn-head/head.safetensors), answer as the libtorch backend adapting the same two layers
 * of the whole model (cnn-head/full.pt, {@code lastLayers(2)}); files made by make_head_models.py.
 */
class HeadPredictorTest
{
    private static final long[] INPUT = {1, 1, 8, 8};
    private static final int FEATURES = 64;

    private static TorchModel full;
    private static TorchModel backboneModel;
    private static DenseNetwork head;

    @BeforeAll
    static void load() throws IOException
    {
        full = TorchModel.load(path("cnn-head/full.pt"), INPUT);
        backboneModel = TorchModel.load(path("cnn-head/backbone.pt"), INPUT);
        head = DenseNetwork.load(path("cnn-head/head.safetensors"));
    }

    /** The backbone through libtorch: its plain pass (d = 0) is the module's output, the 64 features. */
    private static HeadPredictor.Backbone libtorch(final TorchPredictor backbone)
    {
        final Prediction features = backbone.newPrediction();
        return (x, f) -> {
            backbone.predict(x, 0.0f, 0.0f, features);
            System.arraycopy(features.logits(), 0, f, 0, f.length);
        };
    }

    @Test
    void shouldAnswerAsTheLibtorchBackendAdaptingTheSameLayers()
    {
        assertEquals(FEATURES, backboneModel.classes());
        assertEquals(FEATURES, head.inputSize());
        final Random random = new Random(11);
        int adapted = 0;
        for (final Method method : Method.values())
        {
            for (final float eta : new float[] {0.05f, 0.5f})
            {
                final RefocusConfig config = RefocusConfig.builder(eta).method(method).marginThreshold(0.5f).build();
                try (TorchPredictor backbone = TorchPredictor.create(backboneModel, RefocusConfig.builder(0.1f).build(),
                    TorchOptions.defaults());
                    TorchPredictor torch = TorchPredictor.create(full,
                        config.toBuilder().parameters(ParameterSubset.lastLayers(2)).build(), TorchOptions.defaults());
                    HeadPredictor native_ = HeadPredictor.create(64, libtorch(backbone), head, config))
                {
                    final Prediction expected = torch.newPrediction();
                    final Prediction actual = native_.newPrediction();
                    for (int i = 0; i < 10; i++)
                    {
                        final float[] x = gaussian(random, 64);
                        torch.predict(x, expected);
                        native_.predict(x, actual);
                        assertSamePrediction(expected, actual, 1e-4f, 1e-4f, method + ", eta " + eta + ", input " + i);
                        adapted += expected.adapted() ? 1 : 0;
                    }
                }
            }
        }
        assertTrue(adapted > 10, adapted + " samples adapted: too few to compare the steps");
    }

    @Test
    void shouldCountItsAnswersOnceAndRefuseNonFiniteFeatures()
    {
        final RefocusConfig config = RefocusConfig.builder(0.5f).marginThreshold(1.0f).observeOnly(true).build();
        final float[] x = gaussian(new Random(12), 64);
        try (TorchPredictor backbone = TorchPredictor.create(backboneModel, RefocusConfig.builder(0.1f).build(),
            TorchOptions.defaults());
            HeadPredictor predictor = HeadPredictor.create(64, libtorch(backbone), head, config);
            HeadPredictor broken = HeadPredictor.create(64, (in, f) -> f[3] = Float.NaN, head, config))
        {
            final Prediction out = predictor.newPrediction();
            predictor.predict(x, out);
            assertEquals(1, predictor.guard().samples());
            assertEquals(1, predictor.guard().adapted()); // d = 1: the step ran, and was counted here
            assertTrue(!out.adapted(), "observe-only answers plainly");
            assertTrue(!predictor.head().guard().observeOnly(), "the head's own guard must not observe a second time");

            final ArithmeticException e = assertThrows(ArithmeticException.class, () -> broken.predict(x, out));
            assertTrue(e.getMessage().contains("the backbone's feature 3 is NaN"), e.getMessage());
        }
    }
}
