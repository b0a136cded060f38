package dev.refocus.torch;

import dev.refocus.DenseNetwork;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.NativePredictor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Random;

import static dev.refocus.torch.TestModels.CNN_INPUT;
import static dev.refocus.torch.TestModels.path;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fallback rule on the libtorch predictors, as on the dense backends: when a forward pass with the adapted
 * parameters gives a non-finite candidate logit, the prediction is the plain one ({@link Prediction#fellBack()}).
 *
 * <p>On mlp-relu.pt (6 -> 10 -> 8 -> 5, ReLU) with &eta; = 1e30 and no clipping, the logits after one step are
 * &plusmn;&infin; in float; a second step from them (T = 2, were it taken) makes every logit NaN, and both libtorch
 * predictors would then answer class 0, neither the initial class nor a focus class.
 */
class TorchNonFiniteStepTest
{
    private static final float HUGE_ETA = 1e30f;

    private static TorchModel mlp;
    private static DenseNetwork mlpNetwork;
    private static TorchModel cnn;

    @BeforeAll
    static void load() throws IOException
    {
        mlp = TorchModel.load(path("mlp-relu.pt"), 6);
        mlpNetwork = TorchScriptImport.denseNetwork(path("mlp-relu.pt"));
        cnn = TorchModel.load(path("cnn.pt"), CNN_INPUT);
    }

    @Test
    void shouldFallBackToThePlainPredictionWhenTheStepOverflows()
    {
        for (int steps = 1; steps <= 2; steps++)
        {
            final RefocusConfig config = RefocusConfig.builder(HUGE_ETA).clipNorm(0).steps(steps).marginThreshold(1)
                .build();
            try (Predictor noClone = TorchPredictor.create(mlp, config);
                Predictor clone = TorchClonePredictor.create(mlp, config);
                Predictor dense = NativePredictor.create(mlpNetwork, config))
            {
                final Random random = new Random(31);
                for (int i = 0; i < 10; i++)
                {
                    final float[] x = TestModels.gaussian(random, 6);
                    final String where = "T = " + steps + " input " + i;
                    final Prediction plain = noClone.newPrediction();
                    noClone.predict(x, HUGE_ETA, 0.0f, plain); // d = 0: certain, the plain pass
                    assertFellBack(noClone, x, plain, 0.0f, where + " no clone");
                    assertFellBack(clone, x, plain, 0.0f, where + " clone");
                    assertFellBack(dense, x, plain, 1e-5f, where + " native, the same MLP");
                }
            }
        }
    }

    /** Fell back, with the plain logits within {@code relative} of {@code plain}'s (0: bit for bit). */
    private static void assertFellBack(final Predictor predictor, final float[] x, final Prediction plain,
        final float relative, final String where)
    {
        final Prediction out = predictor.newPrediction();
        predictor.predict(x, out);
        assertTrue(out.adapted(), where);
        assertTrue(out.fellBack(), () -> where + ": " + out);
        assertEquals(plain.initialClass(), out.initialClass(), where);
        assertEquals(plain.initialClass(), out.finalClass(), where);
        for (int c = 0; c < plain.classes(); c++)
        {
            assertEquals(plain.logit(c), out.logit(c), relative * (1 + Math.abs(plain.logit(c))), where + " logit " + c);
        }
    }

    @Test
    void shouldNeverFallBackOnOrdinarySamples()
    {
        final Random random = new Random(32);
        int adapted = 0;
        for (final float clip : new float[] {0.0f, 1.0f})
        {
            final RefocusConfig config = RefocusConfig.builder(2.0f).clipNorm(clip).steps(2).marginThreshold(0.5f)
                .build();
            for (final TorchModel model : new TorchModel[] {mlp, cnn})
            {
                try (Predictor noClone = TorchPredictor.create(model, config);
                    Predictor clone = TorchClonePredictor.create(model, config))
                {
                    final Prediction out = noClone.newPrediction();
                    for (int i = 0; i < 20; i++)
                    {
                        final float[] x = TestModels.gaussian(random, model.inputSize());
                        for (final Predictor predictor : new Predictor[] {noClone, clone})
                        {
                            predictor.predict(x, out);
                            assertFalse(out.fellBack(), out::toString);
                            adapted += out.adapted() ? 1 : 0;
                        }
                    }
                }
            }
        }
        assertTrue(adapted > 80, adapted + " of 160 adapted");
    }
}
