package dev.refocus;

import com.sun.management.ThreadMXBean;
import dev.refocus.cpu.NativePredictor;
import dev.refocus.reference.ReferencePredictor;
import dev.refocus.testing.RandomNetworks;
import dev.refocus.testing.Thresholds;
import org.junit.jupiter.api.Test;

import javax.management.MBeanServer;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The guardrails every backend gets from {@link Predictor}: counters, observe-only, the band, their sum over
 * predictors and JMX, and no allocation.
 */
class GuardTest
{
    private static final DenseNetwork NETWORK = RandomNetworks.network(21, Activation.RELU, 0.3f, 16, 24, 5);
    private static final float ETA = 2.0f; // large enough that many adapted answers change
    private static final float[][] SAMPLES = samples(600, 22);
    private static final float D = threshold();

    private static float[][] samples(final int n, final long seed)
    {
        final Random random = new Random(seed);
        final float[][] x = new float[n][];
        for (int i = 0; i < n; i++)
        {
            x[i] = RandomNetworks.gaussian(random, 16);
        }
        return x;
    }

    /** A threshold with about half the samples uncertain. */
    private static float threshold()
    {
        try (NativePredictor p = NativePredictor.create(NETWORK, RefocusConfig.builder(ETA).build()))
        {
            return Thresholds.split(p, SAMPLES);
        }
    }

    private static RefocusConfig.Builder config()
    {
        return RefocusConfig.builder(ETA).marginThreshold(D).clipNorm(0.0f);
    }

    /** The predictors of the core's CPU backends for a configuration. */
    private static List<Predictor> predictors(final RefocusConfig config)
    {
        return List.of(NativePredictor.create(NETWORK, config),
            NativePredictor.create(NETWORK, config, NativePredictor.Mode.SHADOW, 1),
            ReferencePredictor.create(NETWORK, config));
    }

    private static void assertSame(final Prediction expected, final Prediction actual, final String what)
    {
        assertEquals(expected.initialClass(), actual.initialClass(), what);
        assertEquals(expected.finalClass(), actual.finalClass(), what);
        assertEquals(expected.adapted(), actual.adapted(), what);
        assertEquals(expected.fellBack(), actual.fellBack(), what);
        assertEquals(Float.floatToIntBits(expected.margin()), Float.floatToIntBits(actual.margin()), what);
        assertArrayEquals(expected.logits(), actual.logits(), 0.0f, what);
    }

    @Test
    void shouldAnswerPlainlyButCountTheStepWhenObserving()
    {
        final List<Predictor> normal = predictors(config().build());
        final List<Predictor> observing = predictors(config().observeOnly(true).build());
        for (int b = 0; b < normal.size(); b++)
        {
            try (Predictor on = normal.get(b); Predictor observer = observing.get(b))
            {
                final Prediction refocused = on.newPrediction();
                final Prediction plain = on.newPrediction();
                final Prediction observed = observer.newPrediction();
                long adapted = 0;
                long changed = 0;
                for (final float[] x : SAMPLES)
                {
                    on.predict(x, refocused);
                    on.predict(x, ETA, 0.0f, plain); // refocus off: d = 0, no sample is uncertain
                    observer.predict(x, observed);
                    assertSame(plain, observed, on.getClass().getSimpleName());
                    adapted += refocused.adapted() ? 1 : 0;
                    changed += refocused.changed() ? 1 : 0;
                }
                final Guard g = observer.guard();
                assertTrue(adapted > 100 && changed > 10, adapted + " adapted, " + changed + " changed");
                assertEquals(SAMPLES.length, g.samples());
                assertEquals(adapted, g.adapted());
                assertEquals(changed, g.changed());
                assertEquals(0, g.fellBack());
                assertEquals(2L * SAMPLES.length, on.guard().samples(), "the plain calls count too");
                assertEquals(adapted, on.guard().adapted(), "d = 0 adapts nothing");
            }
        }
    }

    @Test
    void shouldObserveBatchesSampleBySample()
    {
        final int n = 8;
        try (NativePredictor on = NativePredictor.create(NETWORK, config().build(), NativePredictor.Mode.IMPLICIT, n);
            NativePredictor observer = NativePredictor.create(NETWORK, config().observeOnly(true).build(),
                NativePredictor.Mode.IMPLICIT, n))
        {
            final Prediction[] refocused = new Prediction[n];
            final Prediction[] observed = new Prediction[n];
            final Prediction plain = on.newPrediction();
            for (int i = 0; i < n; i++)
            {
                refocused[i] = on.newPrediction();
                observed[i] = on.newPrediction();
            }
            final float[] batch = new float[n * 16];
            long changed = 0;
            for (int start = 0; start + n <= SAMPLES.length; start += n)
            {
                for (int i = 0; i < n; i++)
                {
                    System.arraycopy(SAMPLES[start + i], 0, batch, 16 * i, 16);
                }
                on.predict(batch, n, refocused);
                observer.predict(batch, n, observed);
                for (int i = 0; i < n; i++)
                {
                    on.predict(SAMPLES[start + i], ETA, 0.0f, plain);
                    assertSame(plain, observed[i], "sample " + (start + i));
                    changed += refocused[i].changed() ? 1 : 0;
                }
            }
            assertEquals(SAMPLES.length, observer.guard().samples());
            assertEquals(changed, observer.guard().changed());
            assertEquals(on.guard().adapted(), observer.guard().adapted());
        }
    }

    @Test
    void shouldFallBackToPlainPredictionsWhenAWindowLeavesTheBandUntilReset()
    {
        // about half the samples adapt: a band of at most 10 % adapted trips at the end of the first window
        final Band band = Band.of(50, 0.0, 0.1, 0.0, 1.0);
        final List<Predictor> banded = predictors(config().band(band).build());
        final List<Predictor> unguarded = predictors(config().build()); // the same backends, to compare with
        for (int b = 0; b < banded.size(); b++)
        {
            try (Predictor p = banded.get(b); Predictor plainPredictor = unguarded.get(b))
            {
                final List<double[]> told = new ArrayList<>();
                p.guard().listen((guard, adaptedShare, changedRate) -> told.add(new double[] {adaptedShare,
                    changedRate}));
                final Prediction out = p.newPrediction();
                final Prediction plain = p.newPrediction();
                long adaptedInWindow = 0;
                for (int i = 0; i < 50; i++)
                {
                    p.predict(SAMPLES[i], out);
                    adaptedInWindow += out.adapted() ? 1 : 0;
                }
                assertTrue(p.guard().isTripped(), p.getClass().getSimpleName());
                assertEquals(1, p.guard().bandTrips());
                assertEquals(1, told.size());
                assertEquals(adaptedInWindow / 50.0, told.get(0)[0]);
                for (int i = 50; i < 200; i++)
                {
                    p.predict(SAMPLES[i], out);
                    plainPredictor.predict(SAMPLES[i], ETA, 0.0f, plain);
                    assertSame(plain, out, "tripped: plain predictions, sample " + i);
                }
                assertEquals(150, p.guard().bypassed());
                assertEquals(adaptedInWindow, p.guard().adapted(), "no step while tripped");
                assertEquals(1, p.guard().bandTrips(), "no window runs while tripped");

                p.guard().resetBand();
                assertFalse(p.guard().isTripped());
                boolean adaptedAgain = false;
                for (int i = 200; i < 250; i++)
                {
                    p.predict(SAMPLES[i], out);
                    adaptedAgain |= out.adapted();
                }
                assertTrue(adaptedAgain, "after reset the step runs again");
                assertTrue(p.guard().isTripped(), "and the next window trips again");
                assertEquals(2, p.guard().bandTrips());
                assertEquals(250, p.guard().samples());
            }
        }
    }

    @Test
    void shouldStayOnWhileEveryWindowIsInTheBand()
    {
        try (Predictor p = NativePredictor.create(NETWORK, config().band(Band.of(50, 0.0, 1.0, 0.0, 1.0)).build()))
        {
            final Prediction out = p.newPrediction();
            for (final float[] x : SAMPLES)
            {
                p.predict(x, out);
            }
            assertFalse(p.guard().isTripped());
            assertEquals(0, p.guard().bandTrips());
            assertEquals(0, p.guard().bypassed());
        }
        // a band that asks for more changed answers than any window has trips on the lower bound too
        try (Predictor p = NativePredictor.create(NETWORK, config().band(Band.of(50, 0.0, 1.0, 0.9, 1.0)).build()))
        {
            final Prediction out = p.newPrediction();
            for (int i = 0; i < 50; i++)
            {
                p.predict(SAMPLES[i], out);
            }
            assertTrue(p.guard().isTripped());
        }
    }

    @Test
    void shouldAddUpTheCountersOfConcurrentPredictors() throws Exception
    {
        final int threads = 4;
        final RefocusConfig config = config().build();
        long adapted = 0;
        long changed = 0;
        try (Predictor alone = NativePredictor.create(NETWORK, config))
        {
            final Prediction out = alone.newPrediction();
            for (final float[] x : SAMPLES)
            {
                alone.predict(x, out);
                adapted += out.adapted() ? 1 : 0;
                changed += out.changed() ? 1 : 0;
            }
        }
        final GuardGroup group = new GuardGroup("concurrent");
        final ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
        final AtomicBoolean done = new AtomicBoolean();
        try
        {
            final Future<Boolean> reader = pool.submit(() ->
            {
                long last = 0;
                boolean monotone = true;
                while (!done.get())
                {
                    final long now = group.getSamples();
                    monotone &= now >= last && now <= (long)threads * 10 * SAMPLES.length;
                    last = now;
                }
                return monotone;
            });
            final List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                workers.add(pool.submit(() ->
                {
                    try (Predictor p = NativePredictor.create(NETWORK, config))
                    {
                        group.add(p.guard());
                        final Prediction out = p.newPrediction();
                        for (int round = 0; round < 10; round++)
                        {
                            for (final float[] x : SAMPLES)
                            {
                                p.predict(x, out);
                            }
                        }
                    }
                    return null;
                }));
            }
            for (final Future<?> w : workers)
            {
                w.get();
            }
            done.set(true);
            assertTrue(reader.get(), "sums read during the run never go back nor past the total");
        }
        finally
        {
            pool.shutdownNow();
        }
        assertEquals(threads, group.getPredictors());
        assertEquals(threads * 10L * SAMPLES.length, group.getSamples());
        assertEquals(threads * 10L * adapted, group.getAdapted());
        assertEquals(threads * 10L * changed, group.getChanged());
        assertEquals(0, group.getFellBack() + group.getBypassed() + group.getBandTrips());
    }

    @Test
    void shouldPublishTheSumsThroughJmx() throws Exception
    {
        final GuardGroup group = new GuardGroup("jmx-test").register();
        try (Predictor p = NativePredictor.create(NETWORK, config().band(Band.of(50, 0.0, 0.1, 0.0, 1.0)).build()))
        {
            group.add(p.guard());
            final Prediction out = p.newPrediction();
            for (int i = 0; i < 60; i++)
            {
                p.predict(SAMPLES[i], out);
            }
            final MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            assertEquals(60L, server.getAttribute(group.objectName(), "Samples"));
            assertEquals(p.guard().adapted(), server.getAttribute(group.objectName(), "Adapted"));
            assertEquals(10L, server.getAttribute(group.objectName(), "Bypassed"));
            assertEquals(1, server.getAttribute(group.objectName(), "TrippedPredictors"));
            server.invoke(group.objectName(), "resetBands", new Object[0], new String[0]);
            assertFalse(p.guard().isTripped());
        }
        finally
        {
            group.unregister();
        }
        assertFalse(ManagementFactory.getPlatformMBeanServer().isRegistered(group.objectName()));
    }

    @Test
    void shouldNotAllocateWhileGuarding()
    {
        final ThreadMXBean threads = (ThreadMXBean)ManagementFactory.getThreadMXBean();
        final long self = Thread.currentThread().getId();
        final int n = 4;
        try (NativePredictor observer = NativePredictor.create(NETWORK, config().observeOnly(true)
                .band(Band.of(7, 0.0, 1.0, 0.0, 1.0)).build(), NativePredictor.Mode.IMPLICIT, n);
            NativePredictor tripping = NativePredictor.create(NETWORK, config()
                .band(Band.of(5, 0.0, 0.0, 0.0, 0.0)).build(), NativePredictor.Mode.SHADOW, n))
        {
            final long[] told = new long[1];
            tripping.guard().listen((guard, adaptedShare, changedRate) -> told[0]++);
            final Prediction out = observer.newPrediction();
            final Prediction[] outs = new Prediction[n];
            for (int i = 0; i < n; i++)
            {
                outs[i] = observer.newPrediction();
            }
            final float[] batch = new float[n * 16];
            for (int i = 0; i < n; i++)
            {
                System.arraycopy(SAMPLES[i], 0, batch, 16 * i, 16);
            }
            // rounds until one allocates nothing (at most 10): until the JIT has compiled every path, a
            // deoptimisation may allocate; a call that allocates would never give such a round
            long allocated = -1;
            for (int round = 0; round < 10 && allocated != 0; round++)
            {
                final long before = threads.getThreadAllocatedBytes(self);
                for (int i = 0; i < 1000; i++)
                {
                    final float[] x = SAMPLES[i % SAMPLES.length];
                    observer.predict(x, out);
                    observer.predict(batch, n, outs);
                    tripping.predict(x, out);
                    tripping.predict(batch, n, outs);
                    if (i % 10 == 0)
                    {
                        tripping.guard().resetBand(); // trips again within its next window
                    }
                }
                allocated = threads.getThreadAllocatedBytes(self) - before;
            }
            assertEquals(0, allocated, "bytes allocated by 4000 guarded calls, in each of 10 rounds (the last one's)");
            assertTrue(observer.guard().adapted() > 0 && tripping.guard().bandTrips() > 0
                && tripping.guard().bypassed() > 0 && told[0] == tripping.guard().bandTrips(),
                "every path ran: " + observer.guard() + " " + tripping.guard());
        }
    }
}
