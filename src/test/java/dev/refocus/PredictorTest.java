package dev.refocus;

import com.sun.management.ThreadMXBean;
import dev.refocus.reference.ReferencePredictor;
import dev.refocus.testing.RandomNetworks;
import dev.refocus.testing.Thresholds;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static dev.refocus.testing.Messages.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The contract every predictor shares, checked on the reference backend. */
class PredictorTest
{
    // the head scaled by 0.05 makes most samples uncertain
    private static final DenseNetwork NETWORK = RandomNetworks.network(5, Activation.RELU, 0.05f, 8, 16, 12, 5);
    private static final RefocusConfig CONFIG = RefocusConfig.builder(0.5f).build();

    @Test
    void shouldRejectBadCallsBeforeAnyWork()
    {
        try (Predictor predictor = ReferencePredictor.create(NETWORK, CONFIG))
        {
            final Prediction out = predictor.newPrediction();
            assertMessage("input has 7 features, the model takes 8", () -> predictor.predict(new float[7], out));
            final float[] nan = new float[8];
            nan[3] = Float.NaN;
            assertMessage("input[3] is NaN", () -> predictor.predict(nan, out));
            assertMessage("learning rate", () -> predictor.predict(new float[8], -1.0f, 0.16f, out));
            assertMessage("learning rate", () -> predictor.predict(new float[8], Float.NaN, 0.16f, out));
            assertMessage("margin threshold", () -> predictor.predict(new float[8], 0.1f, 2.0f, out));
            assertMessage("result holds 3 classes", () -> predictor.predict(new float[8], new Prediction(3)));
            assertMessage("input has 9 features",
                () -> predictor.predict(FloatBuffer.allocate(9), out));
            assertThrows(NullPointerException.class, () -> predictor.predict((float[])null, out));
            assertThrows(NullPointerException.class, () -> predictor.predict(new float[8], null));
        }
    }

    @Test
    void shouldRefuseUseAfterClose()
    {
        final Predictor predictor = ReferencePredictor.create(NETWORK, CONFIG);
        predictor.close();
        predictor.close();
        assertTrue(predictor.isClosed());
        final IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> predictor.predict(new float[8], new Prediction(5)));
        assertTrue(e.getMessage().contains("closed"));
    }

    @Test
    void shouldServeCallsFromAnyThreadOneAfterAnother() throws Exception
    {
        final Random random = new Random(3);
        final float[][] samples = new float[40][];
        final Prediction[] expected = new Prediction[samples.length];
        try (Predictor single = ReferencePredictor.create(NETWORK, CONFIG))
        {
            for (int i = 0; i < samples.length; i++)
            {
                samples[i] = RandomNetworks.gaussian(random, 8);
                expected[i] = single.newPrediction();
                single.predict(samples[i], expected[i]);
            }
        }
        // one predictor handed from thread to thread, as a pool or an engine does: each call on a new thread
        final ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Predictor predictor = ReferencePredictor.create(NETWORK, CONFIG))
        {
            final Prediction out = predictor.newPrediction();
            for (int i = 0; i < samples.length; i++)
            {
                final float[] x = samples[i];
                final Thread caller = pool.submit(() -> {
                    predictor.predict(x, out);
                    return Thread.currentThread();
                }).get();
                assertEquals(expected[i].finalClass(), out.finalClass(), "sample " + i + " on " + caller.getName());
                assertArrayEquals(expected[i].logits(), out.logits());
            }
        }
        finally
        {
            pool.shutdown();
        }
    }

    @Test
    void shouldRefuseACallOrACloseWhileACallRuns() throws Exception
    {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch leave = new CountDownLatch(1);
        // a predictor whose call blocks until told: the second caller arrives while the first is inside
        final Predictor blocking = new Predictor(2, 3, CONFIG)
        {
            @Override
            protected void loadInput(final float[] input)
            {
            }

            @Override
            protected void loadInput(final FloatBuffer input)
            {
            }

            @Override
            protected void run(final float learningRate, final float marginThreshold, final Prediction out)
            {
                entered.countDown();
                try
                {
                    leave.await();
                }
                catch (final InterruptedException e)
                {
                    Thread.currentThread().interrupt();
                }
                complete(out, 1, 1, false, 0.5f);
            }
        };
        final Prediction out = blocking.newPrediction();
        final CompletableFuture<Void> first = CompletableFuture.runAsync(() -> blocking.predict(new float[2], out));
        entered.await();
        final IllegalStateException busy = assertThrows(IllegalStateException.class,
            () -> blocking.predict(new float[2], blocking.newPrediction()));
        assertTrue(busy.getMessage().contains("one call at a time"), busy.getMessage());
        final IllegalStateException closing = assertThrows(IllegalStateException.class, blocking::close);
        assertTrue(closing.getMessage().contains("while it is predicting"), closing.getMessage());
        leave.countDown();
        first.get();
        assertEquals(1, out.finalClass());
        blocking.predict(new float[2], out); // free again, on this thread
        blocking.close();
        assertTrue(blocking.isClosed());
    }

    @Test
    void shouldReadArraysAndBuffersAlike()
    {
        final Random random = new Random(1);
        try (Predictor predictor = ReferencePredictor.create(NETWORK, CONFIG))
        {
            final Prediction fromArray = predictor.newPrediction();
            final Prediction fromBuffer = predictor.newPrediction();
            final FloatBuffer direct = ByteBuffer.allocateDirect(4 * 20).order(ByteOrder.nativeOrder()).asFloatBuffer();
            for (int i = 0; i < 50; i++)
            {
                final float[] x = RandomNetworks.gaussian(random, 8);
                predictor.predict(x, fromArray);
                direct.clear().position(5);
                direct.put(x).flip().position(5);
                predictor.predict(direct, fromBuffer);
                assertEquals(5, direct.position());
                assertEquals(fromArray.finalClass(), fromBuffer.finalClass());
                assertArrayEquals(fromArray.logits(), fromBuffer.logits());
            }
        }
    }

    @Test
    void shouldAdaptOnlyTheSamplesBelowTheThresholdAndChangeNothingWithALearningRateOfZero()
    {
        final float[][] inputs = gaussians(new Random(2), 100, 8);
        try (Predictor predictor = ReferencePredictor.create(NETWORK, CONFIG))
        {
            // d between real margins: a third of the samples or more are certain, as many uncertain
            final float d = Thresholds.split(predictor, inputs);
            final Prediction out = predictor.newPrediction();
            final Prediction faster = predictor.newPrediction();
            final Prediction still = predictor.newPrediction();
            int certain = 0;
            int uncertain = 0;
            for (int i = 0; i < inputs.length; i++)
            {
                final float[] x = inputs[i];
                final String where = "input " + i + ", d = " + d;
                predictor.predict(x, 0.5f, d, out);
                predictor.predict(x, 5.0f, d, faster);
                predictor.predict(x, 0.0f, 1.0f, still); // eta = 0: the step changes nothing
                assertEquals(out.margin() < d, out.adapted(), where);
                assertEquals(out.adapted(), faster.adapted(), where);
                assertEquals(still.margin(), out.margin(), where);
                assertEquals(still.initialClass(), out.initialClass(), where);
                assertTrue(still.adapted(), where);
                assertEquals(still.initialClass(), still.finalClass(), where);
                if (out.adapted())
                {
                    uncertain++;
                    assertTrue(maxDifference(still.logits(), out.logits()) > 1e-3f, where + ": the step moved nothing");
                    assertTrue(maxDifference(out.logits(), faster.logits()) > 1e-3f, where + ": eta changed nothing");
                }
                else
                {
                    certain++;
                    assertEquals(out.initialClass(), out.finalClass(), where);
                    assertArrayEquals(still.logits(), out.logits(), 1e-6f, where); // the plain forward pass
                    assertArrayEquals(out.logits(), faster.logits(), 0.0f, where); // no learning rate reaches it
                }
            }
            assertTrue(certain >= 33 && uncertain >= 33, "certain " + certain + ", uncertain " + uncertain);
        }
    }

    @Test
    void shouldChangeSomeAnswersWithALargeLearningRate()
    {
        final Random random = new Random(3);
        try (Predictor predictor = ReferencePredictor.create(NETWORK, CONFIG))
        {
            final Prediction out = predictor.newPrediction();
            int adapted = 0;
            int changed = 0;
            for (int i = 0; i < 200; i++)
            {
                predictor.predict(RandomNetworks.gaussian(random, 8), 5.0f, 0.16f, out);
                adapted += out.adapted() ? 1 : 0;
                changed += out.changed() ? 1 : 0;
                assertTrue(out.adapted() || !out.changed());
            }
            assertTrue(adapted > 50, "adapted " + adapted);
            assertTrue(changed > 0, "changed " + changed);
        }
    }

    @Test
    void shouldNotAllocateWhilePredicting()
    {
        final ThreadMXBean threads = (ThreadMXBean)ManagementFactory.getThreadMXBean();
        final long self = Thread.currentThread().getId();
        final float[][] inputs = gaussians(new Random(4), 64, 8);
        final RefocusConfig config = CONFIG.toBuilder().steps(2).candidates(4, 0, 2, 1).build();
        try (Predictor predictor = ReferencePredictor.create(NETWORK, config))
        {
            final float d = Thresholds.split(predictor, inputs); // a third of the samples or more take each path
            final Prediction out = predictor.newPrediction();
            int adapted = 0;
            int wrongPath = 0;
            for (int round = 0; round < 3; round++) // the first rounds warm up the JIT
            {
                adapted = 0;
                final long before = threads.getThreadAllocatedBytes(self);
                for (int i = 0; i < inputs.length; i++)
                {
                    predictor.predict(inputs[i], 0.5f, d, out);
                    adapted += out.adapted() ? 1 : 0;
                    wrongPath += out.adapted() != out.margin() < d ? 1 : 0;
                }
                final long allocated = threads.getThreadAllocatedBytes(self) - before;
                if (round == 2)
                {
                    assertEquals(0, allocated, "bytes allocated by 64 predictions");
                }
            }
            assertTrue(adapted >= inputs.length / 3 && inputs.length - adapted >= inputs.length / 3,
                "both paths ran: adapted " + adapted + " of " + inputs.length);
            assertEquals(0, wrongPath, "predictions that took the other path than margin < d");
        }
    }

    private static float[][] gaussians(final Random random, final int n, final int features)
    {
        final float[][] inputs = new float[n][];
        for (int i = 0; i < n; i++)
        {
            inputs[i] = RandomNetworks.gaussian(random, features);
        }
        return inputs;
    }

    private static float maxDifference(final float[] a, final float[] b)
    {
        float max = 0.0f;
        for (int i = 0; i < a.length; i++)
        {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
