package dev.refocus.torch;

import dev.refocus.Band;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.testing.Thresholds;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Random;

import static dev.refocus.torch.TestModels.CNN_INPUT;
import static dev.refocus.torch.TestModels.path;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The guardrails on the libtorch predictors: they get them from {@code Predictor}, as every backend does. */
class TorchGuardTest
{
    @Test
    void shouldObserveAndTripOnLibtorchToo() throws IOException
    {
        final TorchModel cnn = TorchModel.load(path("cnn.pt"), CNN_INPUT);
        final Random random = new Random(41);
        final float[][] x = new float[60][];
        for (int i = 0; i < x.length; i++)
        {
            x[i] = TestModels.gaussian(random, 64);
        }
        final float d;
        try (TorchPredictor p = TorchPredictor.create(cnn, RefocusConfig.builder(0.5f).build(),
            TorchOptions.defaults()))
        {
            d = Thresholds.split(p, x);
        }
        final RefocusConfig on = RefocusConfig.builder(0.5f).marginThreshold(d).build();
        final RefocusConfig observe = on.toBuilder().observeOnly(true).build();
        final RefocusConfig banded = on.toBuilder().band(Band.of(20, 0.0, 0.05, 0.0, 1.0)).build();
        for (final List<Predictor> p : List.of(
            List.<Predictor>of(TorchPredictor.create(cnn, on, TorchOptions.defaults()),
                TorchPredictor.create(cnn, observe, TorchOptions.defaults()),
                TorchPredictor.create(cnn, banded, TorchOptions.defaults())),
            List.<Predictor>of(TorchClonePredictor.create(cnn, on, TorchOptions.defaults()),
                TorchClonePredictor.create(cnn, observe, TorchOptions.defaults()),
                TorchClonePredictor.create(cnn, banded, TorchOptions.defaults()))))
        {
            try (Predictor refocus = p.get(0); Predictor observer = p.get(1); Predictor guarded = p.get(2))
            {
                final Prediction plain = refocus.newPrediction();
                final Prediction adapted = refocus.newPrediction();
                final Prediction observed = refocus.newPrediction();
                final Prediction answer = refocus.newPrediction();
                long uncertain = 0;
                long changed = 0;
                for (int i = 0; i < x.length; i++)
                {
                    refocus.predict(x[i], adapted);
                    refocus.predict(x[i], 0.5f, 0.0f, plain);
                    observer.predict(x[i], observed);
                    guarded.predict(x[i], answer);
                    uncertain += adapted.adapted() ? 1 : 0;
                    changed += adapted.changed() ? 1 : 0;
                    assertEquals(plain.finalClass(), observed.finalClass());
                    assertEquals(plain.adapted(), observed.adapted());
                    assertArrayEquals(plain.logits(), observed.logits(), 0.0f, "observe-only answers plainly");
                    if (i >= 20)
                    {
                        assertArrayEquals(plain.logits(), answer.logits(), 0.0f, "tripped: plain, sample " + i);
                    }
                }
                assertTrue(uncertain >= 20, uncertain + " uncertain");
                assertEquals(uncertain, observer.guard().adapted());
                assertEquals(changed, observer.guard().changed());
                assertEquals(x.length, observer.guard().samples());
                assertTrue(guarded.guard().isTripped(), "a third of the samples adapt, the band allows 5 %");
                assertEquals(1, guarded.guard().bandTrips());
                assertEquals(40, guarded.guard().bypassed());
            }
        }
    }
}
