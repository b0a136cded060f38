package dev.refocus.latency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.lmax.disruptor.RingBuffer;
import dev.refocus.Prediction;
import dev.refocus.cpu.NativePredictor;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RefocusPipelineTest
{
    private static final float[][] SAMPLES = ExampleModel.SAMPLES;

    @Test
    void shouldPredictEveryEventOnceOnItsHandlerAsASingleThreadedPredictorDoes() throws Exception
    {
        final int n = SAMPLES.length;
        final int classes = ExampleModel.NETWORK.classes();
        final int[] handledBy = new int[n];
        final int[] times = new int[n];
        final int[] finalClass = new int[n];
        final boolean[] adapted = new boolean[n];
        final float[][] logits = new float[n][classes];
        Arrays.fill(handledBy, -1);
        try (RefocusPipeline pipeline = new RefocusPipeline(ExampleModel.NETWORK, ExampleModel.CONFIG, 2, 256,
            RefocusPipeline.Waiting.BLOCKING, h -> (event, sequence, done) ->
            {
                final int i = event.sample; // each sample once, so each index is written by one handler
                handledBy[i] = h;
                times[i]++;
                finalClass[i] = event.result.finalClass();
                adapted[i] = event.result.adapted();
                System.arraycopy(event.result.logits(), 0, logits[i], 0, classes);
            }))
        {
            OpenLoopLoad.publishAtRate(pipeline.ring(), SAMPLES, 1e9, n); // as fast as it goes, each sample once
            pipeline.drain(1, TimeUnit.MINUTES);
        }
        int uncertain = 0;
        try (NativePredictor alone = NativePredictor.create(ExampleModel.NETWORK, ExampleModel.CONFIG))
        {
            final Prediction out = alone.newPrediction();
            for (int i = 0; i < n; i++)
            {
                alone.predict(SAMPLES[i], out);
                assertEquals(1, times[i], "sample " + i + " predicted once");
                assertEquals(i % 2, handledBy[i], "sample " + i + " (sequence " + i + ") goes to handler i % 2");
                assertEquals(out.finalClass(), finalClass[i], "sample " + i);
                assertEquals(out.adapted(), adapted[i], "sample " + i);
                for (int c = 0; c < classes; c++)
                {
                    assertEquals(Float.floatToRawIntBits(out.logit(c)), Float.floatToRawIntBits(logits[i][c]),
                        "sample " + i + ", logit " + c + ": bit for bit");
                }
                uncertain += out.adapted() ? 1 : 0;
            }
        }
        assertTrue(uncertain > 0 && uncertain < n, "both kinds of samples occur: " + uncertain + " adapted");
    }

    @Test
    void shouldCreateEachPredictorOnItsHandlerThreadAndCloseItOnShutdown() throws Exception
    {
        final RefocusPipeline pipeline = new RefocusPipeline(ExampleModel.NETWORK, ExampleModel.CONFIG, 2, 64,
            RefocusPipeline.Waiting.BLOCKING, h -> (event, sequence, done) -> { });
        final NativePredictor[] predictors = new NativePredictor[2];
        try
        {
            OpenLoopLoad.publishAtRate(pipeline.ring(), SAMPLES, 1e9, 10);
            pipeline.drain(1, TimeUnit.MINUTES); // the handlers have started: their predictors exist
            for (int h = 0; h < 2; h++)
            {
                assertNotNull(pipeline.thread(h), "handler " + h + " started");
                assertNotEquals(Thread.currentThread(), pipeline.thread(h));
                predictors[h] = pipeline.handler(h).predictor();
                assertNotNull(predictors[h], "handler " + h + " made its predictor in onStart()");
                assertTrue(!predictors[h].isClosed(), "open while the pipeline runs");
            }
            assertNotEquals(pipeline.thread(0), pipeline.thread(1));
            assertNotEquals(predictors[0], predictors[1], "one predictor per handler");
        }
        finally
        {
            pipeline.close();
        }
        for (int h = 0; h < 2; h++)
        {
            assertTrue(predictors[h].isClosed(), "handler " + h + " closed its predictor in onShutdown()");
            pipeline.thread(h).join(5000);
            assertTrue(!pipeline.thread(h).isAlive(), "handler " + h + " ended");
        }
        pipeline.close(); // idempotent
    }

    @Test
    void shouldAllocateNothingOnTheHandlerThreadsAfterWarmUp() throws Exception
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final SamplePools pools = SamplePools.classify(ExampleModel.NETWORK, ExampleModel.CONFIG, SAMPLES);
        final float[][] mix = pools.mix(4096, 0.2, 7);
        final LatencyRecorders recorders = new LatencyRecorders(2);
        // yielding: the wait itself allocates nothing, so the thread's count is the handler's (a lock's wait does)
        try (RefocusPipeline pipeline = new RefocusPipeline(ExampleModel.NETWORK, ExampleModel.CONFIG, 2, 256,
            RefocusPipeline.Waiting.YIELDING, recorders))
        {
            OpenLoopLoad.publishAtRate(pipeline.ring(), mix, 1e9, 2); // each handler has started once it took one
            pipeline.drain(1, TimeUnit.MINUTES);
            // Rounds of the whole mix, each handler getting the same 2048 samples every round. While the JIT still
            // compiles, a round may allocate a few hundred bytes once (a deoptimisation re-materialises the objects
            // escape analysis had removed); a steady state allocates nothing. A per-event allocation (even 16 bytes)
            // leaves no round at 0, so the test asks for one whole round at 0 on both handlers within 12 rounds.
            final List<String> rounds = new ArrayList<>();
            boolean zero = false;
            for (int round = 0; round < 12 && !zero; round++)
            {
                final long[] before = new long[2];
                for (int h = 0; h < 2; h++)
                {
                    before[h] = threads.getThreadAllocatedBytes(pipeline.thread(h).getId());
                }
                OpenLoopLoad.publishAtRate(pipeline.ring(), mix, 1e9, mix.length);
                pipeline.drain(1, TimeUnit.MINUTES);
                final long[] allocated = new long[2];
                for (int h = 0; h < 2; h++)
                {
                    allocated[h] = threads.getThreadAllocatedBytes(pipeline.thread(h).getId()) - before[h];
                }
                rounds.add(Arrays.toString(allocated));
                zero = round > 0 && allocated[0] == 0 && allocated[1] == 0; // round 0 is the warm-up
            }
            System.out.println("bytes allocated per round by handlers 0 and 1: " + rounds);
            assertTrue(zero, "bytes allocated by handlers 0 and 1 in each round of 2 x 2048 events, 20 % uncertain: "
                + rounds);
            assertTrue(recorders.adaptedInterval().getTotalCount() > 0, "uncertain samples were adapted");
        }
    }

    @Test
    void shouldPassABadSampleOnAsAFailureAndGoOn() throws Exception
    {
        final RuntimeException[] failures = new RuntimeException[3];
        final int[] answers = new int[3];
        try (RefocusPipeline pipeline = new RefocusPipeline(ExampleModel.NETWORK, ExampleModel.CONFIG, 1, 64,
            RefocusPipeline.Waiting.BLOCKING, h -> (event, sequence, done) ->
            {
                failures[(int)sequence] = event.failure;
                answers[(int)sequence] = event.result.finalClass();
            }))
        {
            final float[] bad = SAMPLES[0].clone();
            bad[3] = Float.NaN;
            OpenLoopLoad.publishAtRate(pipeline.ring(), new float[][] {SAMPLES[0], bad, SAMPLES[1]}, 1e9, 3);
            pipeline.drain(1, TimeUnit.MINUTES);
        }
        assertNull(failures[0]);
        assertInstanceOf(IllegalArgumentException.class, failures[1]);
        assertTrue(failures[1].getMessage().contains("NaN"), failures[1].getMessage());
        assertNull(failures[2], "the handler goes on after a bad sample");
    }

    @Test
    void shouldRefuseASampleOfTheWrongLengthAtThePublisher()
    {
        try (RefocusPipeline pipeline = new RefocusPipeline(ExampleModel.NETWORK, ExampleModel.CONFIG, 1, 64,
            RefocusPipeline.Waiting.BLOCKING, h -> (event, sequence, done) -> { }))
        {
            final RingBuffer<PredictionEvent> ring = pipeline.ring();
            final IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> OpenLoopLoad.publishAtRate(ring, new float[][] {new float[5]},
                    1e9, 1));
            assertEquals("a sample of 5 features; the pipeline's events take 784", e.getMessage());
        }
    }

    @Test
    void shouldPassOnWhyAHandlerCouldNotCreateItsPredictor() throws Exception
    {
        final RuntimeException[] failure = new RuntimeException[1];
        // 10 focus classes are not fewer than the model's 10 classes: NativePredictor.create refuses it
        try (RefocusPipeline pipeline = new RefocusPipeline(ExampleModel.NETWORK,
            dev.refocus.RefocusConfig.builder(0.5f).focusClasses(10).build(), 1, 64, RefocusPipeline.Waiting.BLOCKING,
            h -> (event, sequence, done) -> failure[0] = event.failure))
        {
            OpenLoopLoad.publishAtRate(pipeline.ring(), SAMPLES, 1e9, 1);
            pipeline.drain(1, TimeUnit.MINUTES);
        }
        assertInstanceOf(IllegalStateException.class, failure[0]);
        assertTrue(failure[0].getMessage().startsWith("handler 0 could not create its predictor: focus classes (10)"),
            failure[0].getMessage());
    }
}
