package dev.refocus;

import dev.refocus.cpu.NativePredictor;
import dev.refocus.internal.DenseNetworkAccess;
import dev.refocus.reference.ReferencePredictor;
import dev.refocus.testing.NativeMemoryProbe;
import dev.refocus.testing.RandomNetworks;
import dev.refocus.testing.Thresholds;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.Locale;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Soak tests: each backend predicts a long run of mixed certain and uncertain samples (a threshold between real
 * margins: a third or more of each), and afterwards the network's weights are bit-identical to the file's, on and
 * off the heap, the native memory held is what it was before the run (JavaCPP's count, no garbage collection in
 * between), and the first samples predict exactly as they did before it.
 * <p>
 * {@code mvn verify} runs 10<sup>5</sup> predictions on each native backend and 2 x 10<sup>4</sup> on the
 * reference; {@code -Drefocus.soak.predictions=1000000} runs that many on each (see the README's testing part).
 * Each test prints its figures: predictions, adapted, time, JavaCPP bytes and the process's RSS before and after.
 */
class SoakTest
{
    private static final int[] SIZES = {32, 64, 64, 10};
    private static final int POOL = 1024;
    private static final int REPLAYED = 64;
    private static final int BATCH = 16;

    private final DenseNetwork network = RandomNetworks.network(11, Activation.RELU, 0.5f, SIZES);
    private final float[][] pool = inputs(new Random(12), POOL, SIZES[0]);
    private final RefocusConfig config = config(network, pool);

    @Test
    void shouldSoakTheNativeImplicitPredictor() throws InterruptedException
    {
        try (NativePredictor predictor = NativePredictor.create(network, config))
        {
            soak("native IMPLICIT", predictor, NativeMemoryProbe.predictions(100_000));
        }
    }

    @Test
    void shouldSoakTheNativeShadowPredictor() throws InterruptedException
    {
        try (NativePredictor predictor = NativePredictor.create(network, config, NativePredictor.Mode.SHADOW, 1))
        {
            soak("native SHADOW", predictor, NativeMemoryProbe.predictions(100_000));
        }
    }

    @Test
    void shouldSoakTheNativePredictorInBatches() throws InterruptedException
    {
        try (NativePredictor predictor =
                 NativePredictor.create(network, config, NativePredictor.Mode.IMPLICIT, BATCH))
        {
            soak("native batch of " + BATCH, predictor, NativeMemoryProbe.predictions(100_000));
        }
    }

    @Test
    void shouldSoakTheReferencePredictor() throws InterruptedException
    {
        try (ReferencePredictor predictor = ReferencePredictor.create(network, config))
        {
            soak("reference", predictor, NativeMemoryProbe.predictions(20_000));
        }
    }

    private void soak(final String backend, final Predictor predictor, final int predictions)
        throws InterruptedException
    {
        final float[][] weights = parameters(network);
        final Prediction[] before = replay(predictor);
        final boolean batched = predictor instanceof NativePredictor p && p.maxBatch() > 1;

        NativeMemoryProbe.settle();
        final long bytes = NativeMemoryProbe.bytes();
        final long count = NativeMemoryProbe.count();
        final long rss = NativeMemoryProbe.rss();
        final long start = System.nanoTime();
        final int adapted = batched ? runBatches((NativePredictor)predictor, predictions) : run(predictor, predictions);
        final long millis = (System.nanoTime() - start) / 1_000_000;
        final long bytesAfter = NativeMemoryProbe.bytes();
        final long countAfter = NativeMemoryProbe.count();
        final long rssAfter = NativeMemoryProbe.rss();

        System.out.printf(Locale.ROOT, "soak %s: %d predictions, %d adapted, %d ms; JavaCPP %d -> %d bytes " +
                "(%d -> %d pointers); VmRSS %s -> %s%n", backend, predictions, adapted, millis, bytes, bytesAfter,
            count, countAfter, NativeMemoryProbe.mib(rss), NativeMemoryProbe.mib(rssAfter));
        assertTrue(bytesAfter <= bytes, () -> backend + ": native memory grew from " + bytes + " to " + bytesAfter);
        assertTrue(countAfter <= count, () -> backend + ": native objects grew from " + count + " to " + countAfter);
        assertTrue(adapted >= predictions / 4 && adapted <= predictions - predictions / 4,
            () -> backend + ": " + adapted + " of " + predictions + " adapted; the soak wants both paths");
        for (int l = 0; l < network.layers(); l++)
        {
            assertBits(weights[2 * l], network.weight(l), backend + ": weight " + l);
            assertBits(weights[2 * l + 1], network.bias(l), backend + ": bias " + l);
        }
        if (predictor instanceof NativePredictor)
        {
            assertBlockHolds(weights, backend);
        }
        final Prediction[] after = replay(predictor);
        for (int i = 0; i < REPLAYED; i++)
        {
            assertEquals(before[i].toString(), after[i].toString(), backend + ": sample " + i + " after the soak");
            assertArrayEquals(before[i].logits(), after[i].logits(), backend + ": logits of sample " + i);
        }
    }

    private int run(final Predictor predictor, final int predictions)
    {
        final Prediction out = predictor.newPrediction();
        int adapted = 0;
        for (int i = 0; i < predictions; i++)
        {
            predictor.predict(pool[i % POOL], out);
            adapted += out.adapted() ? 1 : 0;
        }
        return adapted;
    }

    private int runBatches(final NativePredictor predictor, final int predictions)
    {
        final int inputs = predictor.inputSize();
        final float[] batch = new float[BATCH * inputs];
        final Prediction[] out = new Prediction[BATCH];
        for (int k = 0; k < BATCH; k++)
        {
            out[k] = predictor.newPrediction();
        }
        int adapted = 0;
        for (int done = 0; done < predictions; done += BATCH)
        {
            final int n = Math.min(BATCH, predictions - done);
            for (int k = 0; k < n; k++)
            {
                System.arraycopy(pool[(done + k) % POOL], 0, batch, k * inputs, inputs);
            }
            predictor.predict(batch, n, out);
            for (int k = 0; k < n; k++)
            {
                adapted += out[k].adapted() ? 1 : 0;
            }
        }
        return adapted;
    }

    private Prediction[] replay(final Predictor predictor)
    {
        final Prediction[] results = new Prediction[REPLAYED];
        for (int i = 0; i < REPLAYED; i++)
        {
            results[i] = predictor.newPrediction();
            predictor.predict(pool[i], results[i]);
        }
        return results;
    }

    /** The off-heap block the native backends read holds exactly the network's weights. */
    private void assertBlockHolds(final float[][] weights, final String backend)
    {
        // (a float32 network's block: floats only)
        final FloatPointer block = new FloatPointer(DenseNetworkAccess.parameterBlock(network));
        long offset = 0;
        for (int i = 0; i < weights.length; i++)
        {
            final float[] offHeap = new float[weights[i].length];
            block.position(offset).get(offHeap);
            block.position(0);
            offset += offHeap.length;
            assertBits(weights[i], FloatBuffer.wrap(offHeap), backend + ": native parameter tensor " + i);
        }
    }

    private static void assertBits(final float[] expected, final FloatBuffer actual, final String what)
    {
        assertEquals(expected.length, actual.remaining(), what);
        for (int i = 0; i < expected.length; i++)
        {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual.get(actual.position() + i)))
            {
                throw new AssertionError(what + " changed at " + i + ": " + expected[i] + " is now "
                    + actual.get(actual.position() + i));
            }
        }
    }

    /** @return copies of W0, b0, W1, b1, ... */
    private static float[][] parameters(final DenseNetwork network)
    {
        final float[][] copies = new float[2 * network.layers()][];
        for (int l = 0; l < network.layers(); l++)
        {
            copies[2 * l] = copy(network.weight(l));
            copies[2 * l + 1] = copy(network.bias(l));
        }
        return copies;
    }

    private static float[] copy(final FloatBuffer buffer)
    {
        final float[] values = new float[buffer.remaining()];
        buffer.duplicate().get(values);
        return values;
    }

    private static float[][] inputs(final Random random, final int n, final int size)
    {
        final float[][] inputs = new float[n][];
        for (int i = 0; i < n; i++)
        {
            inputs[i] = RandomNetworks.gaussian(random, size);
        }
        return inputs;
    }

    private static RefocusConfig config(final DenseNetwork network, final float[][] pool)
    {
        final RefocusConfig probe = RefocusConfig.builder(0.05f).build();
        try (NativePredictor predictor = NativePredictor.create(network, probe))
        {
            return RefocusConfig.builder(0.05f).marginThreshold(Thresholds.split(predictor, pool)).build();
        }
    }
}
