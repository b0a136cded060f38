package dev.refocus.cpu;

import com.sun.management.ThreadMXBean;
import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.DensePredictor;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.testing.RandomNetworks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ThreadFactory;

import static dev.refocus.testing.Messages.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParallelBatchPredictorTest
{
    private static final int[] SIZES = {24, 48, 40, 6};
    private static final DenseNetwork NETWORK = RandomNetworks.network(21, Activation.RELU, 0.5f, SIZES);
    private static final RefocusConfig CONFIG = RefocusConfig.builder(0.4f).steps(2).build();
    private static final int MAX_BATCH = 64;

    /** Daemon workers, remembered so that the tests can see them end. */
    private static final class Workers implements ThreadFactory
    {
        final List<Thread> made = new ArrayList<>();

        @Override
        public Thread newThread(final Runnable task)
        {
            final Thread thread = new Thread(task, "refocus-test-worker-" + made.size());
            thread.setDaemon(true);
            made.add(thread);
            return thread;
        }
    }

    private static Prediction[] results(final int n)
    {
        final Prediction[] out = new Prediction[n];
        for (int i = 0; i < n; i++)
        {
            out[i] = new Prediction(SIZES[SIZES.length - 1]);
        }
        return out;
    }

    /** Also with bf16 weights, where each worker's batch widens into its own scratch. */
    @ParameterizedTest
    @EnumSource(DenseNetwork.WeightFormat.class)
    void shouldAnswerBitForBitAsOnePredictorWhateverTheThreadsAndTheBatch(final DenseNetwork.WeightFormat weights)
    {
        final DenseNetwork network = NETWORK.toWeightFormat(weights);
        final float[] batch = RandomNetworks.gaussian(new Random(5), MAX_BATCH * SIZES[0]);
        final float d = medianMargin(batch); // half the samples adapt
        for (final DensePredictor.Mode mode : DensePredictor.Mode.values())
        {
            final Prediction[] expected = results(MAX_BATCH);
            try (NativePredictor single = NativePredictor.create(network, CONFIG, mode, MAX_BATCH))
            {
                single.predict(batch, MAX_BATCH, CONFIG.learningRate(), d, expected);
            }
            int adapted = 0;
            for (final Prediction p : expected)
            {
                adapted += p.adapted() ? 1 : 0;
            }
            assertTrue(adapted > 0 && adapted < MAX_BATCH, adapted + " of " + MAX_BATCH + " adapted: no mix to test");
            for (final int threads : new int[] {1, 2, 3})
            {
                try (ParallelBatchPredictor parallel = ParallelBatchPredictor.create(network, CONFIG, mode, MAX_BATCH,
                    threads, new Workers()))
                {
                    for (final int n : new int[] {1, 2, 5, MAX_BATCH - 1, MAX_BATCH})
                    {
                        final Prediction[] out = results(n);
                        parallel.predict(batch, n, CONFIG.learningRate(), d, out);
                        for (int i = 0; i < n; i++)
                        {
                            final String where = weights + ", " + mode + ", " + threads + " threads, batch of " + n
                                + ", sample " + i;
                            assertEquals(expected[i].adapted(), out[i].adapted(), where);
                            assertEquals(expected[i].initialClass(), out[i].initialClass(), where);
                            assertEquals(expected[i].finalClass(), out[i].finalClass(), where);
                            assertArrayEquals(bits(expected[i].logits()), bits(out[i].logits()), where);
                        }
                    }
                }
            }
        }
    }

    private static float medianMargin(final float[] batch)
    {
        final Prediction[] plain = results(MAX_BATCH);
        try (NativePredictor single = NativePredictor.create(NETWORK, CONFIG, DensePredictor.Mode.IMPLICIT, MAX_BATCH))
        {
            single.predict(batch, MAX_BATCH, CONFIG.learningRate(), 0.0f, plain);
        }
        final float[] margins = new float[MAX_BATCH];
        for (int i = 0; i < MAX_BATCH; i++)
        {
            margins[i] = plain[i].margin();
        }
        java.util.Arrays.sort(margins);
        return margins[MAX_BATCH / 2];
    }

    @Test
    void shouldCheckEverySampleBeforeAnyThreadWorks()
    {
        final float[] batch = RandomNetworks.gaussian(new Random(6), 8 * SIZES[0]);
        batch[batch.length - 1] = Float.NaN; // in the last share
        try (ParallelBatchPredictor parallel = ParallelBatchPredictor.create(NETWORK, CONFIG,
            DensePredictor.Mode.IMPLICIT, 8, 2, new Workers()))
        {
            final Prediction[] out = results(8);
            assertMessage("input[" + (batch.length - 1) + "] is NaN",
                () -> parallel.predict(batch, 8, out));
            for (final Prediction p : out)
            {
                assertArrayEquals(new float[p.classes()], p.logits(), "a share ran before the check failed");
            }
            assertMessage("batch of 9 samples; this predictor takes 1 to 8",
                () -> parallel.predict(batch, 9, results(9)));
            assertMessage("2 results for 3 samples",
                () -> parallel.predict(batch, 3, results(2)));
            assertMessage("margin threshold must be in [0, 1]",
                () -> parallel.predict(batch, 3, 0.1f, 2.0f, results(3)));
        }
    }

    @Test
    void shouldPassOnAShareFailureAndStayUsable()
    {
        // a NaN in the head's bias: every plain pass has a NaN logit
        final DenseNetwork broken = DenseNetwork.builder(2)
            .layer(new float[] {1, 0, 0, 1}, new float[] {0, 0}, Activation.RELU)
            .layer(new float[] {1, 0, 0, 1, 1, 1}, new float[] {0, Float.NaN, 0}, Activation.IDENTITY)
            .build();
        try (ParallelBatchPredictor parallel = ParallelBatchPredictor.create(broken,
            RefocusConfig.builder(0.1f).build(), DensePredictor.Mode.IMPLICIT, 4, 2, new Workers()))
        {
            final Prediction[] out = new Prediction[4];
            for (int i = 0; i < out.length; i++)
            {
                out[i] = parallel.newPrediction();
            }
            final float[] batch = {1, 2, 3, 4, 5, 6, 7, 8};
            assertThrows(ArithmeticException.class, () -> parallel.predict(batch, 4, out));
            assertThrows(ArithmeticException.class, () -> parallel.predict(batch, 4, out)); // workers still serve
        }
    }

    @Test
    void shouldCountEverySampleInTheGuardOfItsShare()
    {
        final float[] batch = RandomNetworks.gaussian(new Random(9), MAX_BATCH * SIZES[0]);
        try (ParallelBatchPredictor parallel = ParallelBatchPredictor.create(NETWORK, CONFIG,
            DensePredictor.Mode.IMPLICIT, MAX_BATCH, 3, new Workers()))
        {
            final Prediction[] out = results(MAX_BATCH);
            parallel.predict(batch, MAX_BATCH, CONFIG.learningRate(), 1.0f, out);
            final dev.refocus.GuardGroup group = new dev.refocus.GuardGroup("parallel");
            long each = 0;
            for (final dev.refocus.Guard guard : parallel.guards())
            {
                group.add(guard);
                each = Math.max(each, guard.samples());
            }
            assertEquals(MAX_BATCH, group.getSamples());
            assertEquals(MAX_BATCH, group.getAdapted()); // d = 1: every sample adapts
            assertEquals((MAX_BATCH + 2) / 3, each, "the largest share");
        }
    }

    @Test
    void shouldStopItsWorkersOnClose() throws InterruptedException
    {
        final Workers workers = new Workers();
        final ParallelBatchPredictor parallel = ParallelBatchPredictor.create(NETWORK, CONFIG,
            DensePredictor.Mode.IMPLICIT, 4, 3, workers);
        assertEquals(2, workers.made.size(), "the caller is one of the 3 threads");
        parallel.predict(RandomNetworks.gaussian(new Random(7), 4 * SIZES[0]), 4, results(4));
        parallel.close();
        for (final Thread t : workers.made)
        {
            assertFalse(t.isAlive(), t.getName() + " outlived close()");
        }
        parallel.close(); // idempotent
        final IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> parallel.predict(new float[4 * SIZES[0]], 4, results(4)));
        assertEquals("the predictor is closed", e.getMessage());
        assertMessage("threads must be >= 1",
            () -> ParallelBatchPredictor.create(NETWORK, CONFIG, DensePredictor.Mode.IMPLICIT, 4, 0, workers));
    }

    @Test
    void shouldNotAllocateWhilePredicting()
    {
        final ThreadMXBean threads = (ThreadMXBean)ManagementFactory.getThreadMXBean();
        final Workers workers = new Workers();
        final float[] batch = RandomNetworks.gaussian(new Random(8), MAX_BATCH * SIZES[0]);
        try (ParallelBatchPredictor parallel = ParallelBatchPredictor.create(NETWORK, CONFIG,
            DensePredictor.Mode.IMPLICIT, MAX_BATCH, 2, workers))
        {
            final Prediction[] out = results(MAX_BATCH);
            final long caller = Thread.currentThread().getId();
            final long worker = workers.made.get(0).getId();
            // Rounds until one allocates nothing: the JIT compiles the worker's loop on its own schedule, and
            // until then a deoptimisation may allocate. A call that allocates would never give such a round.
            long allocated = -1;
            for (int round = 0; round < 10 && allocated != 0; round++)
            {
                // one id per call: the array form's result would be an allocation of the caller's
                final long before = threads.getThreadAllocatedBytes(caller) + threads.getThreadAllocatedBytes(worker);
                for (int i = 0; i < 500; i++)
                {
                    parallel.predict(batch, MAX_BATCH, out);
                    parallel.predict(batch, 7, 0.2f, 1.0f, out);
                }
                allocated = threads.getThreadAllocatedBytes(caller) + threads.getThreadAllocatedBytes(worker) - before;
            }
            assertEquals(0, allocated, "bytes allocated by the caller and the worker in each of 10 rounds of 1000 calls "
                + "(the last one's)");
        }
    }

    private static int[] bits(final float[] values)
    {
        final int[] b = new int[values.length];
        for (int i = 0; i < values.length; i++)
        {
            b[i] = Float.floatToRawIntBits(values[i]);
        }
        return b;
    }
}
