package dev.refocus.torch;

import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.testing.NativeMemoryProbe;
import dev.refocus.testing.Thresholds;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import static dev.refocus.torch.TestModels.gaussian;
import static dev.refocus.torch.TestModels.path;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The libtorch backend's soak and leak tests. The soak: {@link TorchPredictor} predicts a long run of mixed certain
 * and uncertain samples on {@code mlp-relu.pt}; afterwards the model's parameters are bit-identical, no native
 * object is left behind (JavaCPP's count of pointers and bytes, no garbage collection in between: every temporary
 * of a call is freed by the call's scope) and the first samples predict exactly as before. {@code mvn verify} runs
 * 10<sup>4</sup> predictions, {@code -Drefocus.soak.predictions=1000000} that many. The leak test: predictors and
 * models dropped without {@code close()} are freed once the garbage collector finds them.
 */
class TorchSoakTest
{
    private static final int POOL = 256;
    private static final int REPLAYED = 32;
    private static final int DROPPED = 100;
    private static final long WAIT_MILLIS = 10_000;

    private static TorchModel model;
    private static float[][] pool;
    private static RefocusConfig config;

    @BeforeAll
    static void load() throws IOException
    {
        model = TorchModel.load(path("mlp-relu.pt"), 6);
        final Random random = new Random(21);
        pool = new float[POOL][];
        for (int i = 0; i < POOL; i++)
        {
            pool[i] = gaussian(random, model.inputSize());
        }
        try (TorchPredictor probe = TorchPredictor.create(model, RefocusConfig.builder(0.5f).build()))
        {
            config = RefocusConfig.builder(0.5f).marginThreshold(Thresholds.split(probe, pool)).build();
        }
    }

    @Test
    void shouldSoakTheTorchPredictor() throws InterruptedException
    {
        final int predictions = NativeMemoryProbe.predictions(10_000);
        final List<String> names = model.parameterNames();
        final float[][] parameters = new float[names.size()][];
        for (int i = 0; i < parameters.length; i++)
        {
            parameters[i] = model.parameterValues(names.get(i));
        }
        try (TorchPredictor predictor = TorchPredictor.create(model, config))
        {
            final Prediction[] before = replay(predictor);
            NativeMemoryProbe.settle();
            final long bytes = NativeMemoryProbe.bytes();
            final long count = NativeMemoryProbe.count();
            final long rss = NativeMemoryProbe.rss();
            final long start = System.nanoTime();
            final Prediction out = predictor.newPrediction();
            int adapted = 0;
            for (int i = 0; i < predictions; i++)
            {
                predictor.predict(pool[i % POOL], out);
                adapted += out.adapted() ? 1 : 0;
            }
            final long millis = (System.nanoTime() - start) / 1_000_000;
            final long bytesAfter = NativeMemoryProbe.bytes();
            final long countAfter = NativeMemoryProbe.count();
            final long rssAfter = NativeMemoryProbe.rss();

            System.out.printf(Locale.ROOT, "soak libtorch: %d predictions, %d adapted, %d ms; JavaCPP %d -> %d " +
                    "bytes (%d -> %d pointers); VmRSS %s -> %s%n", predictions, adapted, millis, bytes, bytesAfter,
                count, countAfter, NativeMemoryProbe.mib(rss), NativeMemoryProbe.mib(rssAfter));
            assertTrue(countAfter <= count, "native objects grew from " + count + " to " + countAfter);
            assertTrue(bytesAfter <= bytes, "native memory grew from " + bytes + " to " + bytesAfter);
            final int adaptedSamples = adapted;
            assertTrue(adapted >= predictions / 4 && adapted <= predictions - predictions / 4,
                () -> adaptedSamples + " of " + predictions + " adapted; the soak wants both paths");
            final Prediction[] after = replay(predictor);
            for (int i = 0; i < REPLAYED; i++)
            {
                assertEquals(before[i].toString(), after[i].toString(), "sample " + i + " after the soak");
                assertArrayEquals(before[i].logits(), after[i].logits(), "logits of sample " + i);
            }
        }
        for (int i = 0; i < parameters.length; i++)
        {
            final float[] now = model.parameterValues(names.get(i));
            for (int k = 0; k < now.length; k++)
            {
                assertEquals(Float.floatToRawIntBits(parameters[i][k]), Float.floatToRawIntBits(now[k]),
                    names.get(i) + "[" + k + "] changed");
            }
        }
    }

    @Test
    void shouldFreePredictorsAndModelsDroppedWithoutClose() throws IOException, InterruptedException
    {
        NativeMemoryProbe.settle();
        final long count = NativeMemoryProbe.count();
        final long bytes = NativeMemoryProbe.bytes();
        final long rss = NativeMemoryProbe.rss();
        long peak = count;
        for (int i = 0; i < DROPPED; i++)
        {
            final TorchModel dropped = i % 10 == 0 ? TorchModel.load(path("mlp-relu.pt"), 6) : model;
            final TorchPredictor predictor = TorchPredictor.create(dropped, config);
            predictor.predict(pool[i % POOL], predictor.newPrediction());
            peak = Math.max(peak, NativeMemoryProbe.count());
        }
        final long held = peak;
        final long start = System.nanoTime();
        final long countAfter = NativeMemoryProbe.awaitAtMost(NativeMemoryProbe::count, count, WAIT_MILLIS);
        final long bytesAfter = NativeMemoryProbe.awaitAtMost(NativeMemoryProbe::bytes, bytes, WAIT_MILLIS);
        final long millis = (System.nanoTime() - start) / 1_000_000;
        final long rssAfter = NativeMemoryProbe.rss();

        System.out.printf(Locale.ROOT, "dropped %d libtorch predictors (and %d models): JavaCPP pointers %d before, " +
                "%d at the peak, %d after %d ms; bytes %d -> %d; VmRSS %s -> %s%n", DROPPED, DROPPED / 10, count, held,
            countAfter, millis, bytes, bytesAfter, NativeMemoryProbe.mib(rss), NativeMemoryProbe.mib(rssAfter));
        assertTrue(held > count, "JavaCPP counted none of their native objects");
        assertTrue(countAfter <= count, () -> (countAfter - count) + " native objects still alive " + WAIT_MILLIS
            + " ms after the garbage collection (" + count + " before, " + held + " at the peak)");
        assertTrue(bytesAfter <= bytes, () -> (bytesAfter - bytes) + " bytes of native memory still held");
    }

    private static Prediction[] replay(final TorchPredictor predictor)
    {
        final Prediction[] results = new Prediction[REPLAYED];
        for (int i = 0; i < REPLAYED; i++)
        {
            results[i] = predictor.newPrediction();
            predictor.predict(pool[i], results[i]);
        }
        return results;
    }
}
