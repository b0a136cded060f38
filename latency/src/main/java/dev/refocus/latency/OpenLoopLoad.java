package dev.refocus.latency;

import com.lmax.disruptor.RingBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * Publishes samples to a {@link RefocusPipeline}: at a fixed rate (open loop: event i is due at
 * {@code start + i / rate}, whatever happened to the events before it), or as fast as the handlers take them
 * (closed loop, to measure capacity). Each event carries its intended send time, from which its latency is measured.
 *
 * <p><b>Note:</b> The publishing thread must be the pipeline's only publisher. It allocates nothing per event.
 */
public final class OpenLoopLoad
{
    /** Below this much time to the next send, the publisher yields instead of parking (parking overshoots ~60 µs). */
    private static final long PARK_MARGIN_NANOS = 100_000;

    private OpenLoopLoad()
    {
    }

    /**
     * Sends {@code events} events at {@code rate} per second, cycling through {@code samples}. When the publisher
     * falls behind (a full ring, a stall), it sends the late events at once, each with its intended time.
     *
     * @param ring    the pipeline's ring.
     * @param samples the samples, cycled.
     * @param rate    events per second, &gt; 0.
     * @param events  how many.
     * @return the publisher's worst lateness in nanoseconds (how far behind its schedule it fell).
     */
    public static long publishAtRate(final RingBuffer<PredictionEvent> ring, final float[][] samples,
        final double rate, final long events)
    {
        if (!(rate > 0) || Double.isInfinite(rate))
        {
            throw new IllegalArgumentException("the rate must be a positive number of events per second, got " + rate);
        }
        final double period = 1e9 / rate;
        final long start = System.nanoTime();
        long worstLateness = 0;
        for (long i = 0; i < events; i++)
        {
            final long intended = start + (long)(i * period);
            long now = System.nanoTime();
            while (now < intended)
            {
                if (intended - now > PARK_MARGIN_NANOS)
                {
                    LockSupport.parkNanos(intended - now - PARK_MARGIN_NANOS);
                }
                else
                {
                    Thread.yield();
                }
                now = System.nanoTime();
            }
            worstLateness = Math.max(worstLateness, now - intended);
            publish(ring, samples[(int)(i % samples.length)], intended, (int)(i % samples.length));
        }
        return worstLateness;
    }

    /**
     * Sends events as fast as the ring takes them for about {@code seconds}, cycling through {@code samples}, and
     * waits until the handlers have taken them all.
     *
     * @param pipeline the pipeline.
     * @param samples  the samples, cycled.
     * @param seconds  how long to keep sending.
     * @return how many events were sent.
     * @throws TimeoutException if the handlers fall more than a minute behind.
     */
    public static long publishClosedLoop(final RefocusPipeline pipeline, final float[][] samples, final double seconds)
        throws TimeoutException
    {
        final RingBuffer<PredictionEvent> ring = pipeline.ring();
        final long end = System.nanoTime() + (long)(seconds * 1e9);
        long sent = 0;
        do
        {
            for (final long batchEnd = sent + 64; sent < batchEnd; sent++)
            {
                publish(ring, samples[(int)(sent % samples.length)], System.nanoTime(), (int)(sent % samples.length));
            }
        }
        while (System.nanoTime() < end);
        pipeline.drain(1, TimeUnit.MINUTES);
        return sent;
    }

    private static void publish(final RingBuffer<PredictionEvent> ring, final float[] sample, final long intended,
        final int tag)
    {
        if (sample.length != ring.get(0).features.length)
        {
            throw new IllegalArgumentException("a sample of " + sample.length + " features; the pipeline's events take "
                + ring.get(0).features.length);
        }
        final long sequence = ring.next(); // waits while the ring is full: that wait is counted in the latency
        try
        {
            final PredictionEvent event = ring.get(sequence);
            System.arraycopy(sample, 0, event.features, 0, sample.length);
            event.intendedNanos = intended;
            event.sample = tag;
        }
        finally
        {
            ring.publish(sequence);
        }
    }
}
