package dev.refocus.latency;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;

/**
 * A jHiccup-style pause detector: a thread that sleeps for a fixed interval again and again and records by how
 * much each wake-up was late. It does no work of refocus's, so what it sees (GC pauses, safepoints, the OS
 * descheduling the JVM, a busy core) is the platform's stall, to tell apart from refocus's own latency.
 *
 * <p><b>Note:</b> Thread-safe: one writer (its thread), any reader through {@link #interval(Histogram)}.
 */
public final class PauseDetector implements AutoCloseable
{
    private final long resolutionNanos;
    private final long highestNanos;
    private final SingleWriterRecorder recorder;
    private final Thread thread;
    private volatile boolean running = true;

    /**
     * Starts the detector's daemon thread.
     *
     * @param resolutionNanos how long it sleeps each time (1 ms as jHiccup's default).
     * @param highestNanos    the longest stall recorded; longer ones are recorded as this.
     */
    public PauseDetector(final long resolutionNanos, final long highestNanos)
    {
        this.resolutionNanos = resolutionNanos;
        this.highestNanos = highestNanos;
        this.recorder = new SingleWriterRecorder(1, highestNanos, 3);
        this.thread = new Thread(this::run, "pause-detector");
        thread.setDaemon(true);
        thread.start();
    }

    private void run()
    {
        long last = System.nanoTime();
        while (running)
        {
            LockSupport.parkNanos(resolutionNanos);
            final long now = System.nanoTime();
            final long stall = Math.max(0, now - last - resolutionNanos);
            // the missed wake-ups during a long stall are filled in, as a sampling thread would have seen them
            recorder.recordValueWithExpectedInterval(Math.min(stall, highestNanos), resolutionNanos);
            last = now;
        }
    }

    /**
     * @param recycle a histogram returned by an earlier call, or {@code null}.
     * @return the stalls since the last call, in nanoseconds.
     */
    public Histogram interval(final Histogram recycle)
    {
        return recorder.getIntervalHistogram(recycle);
    }

    @Override
    public void close()
    {
        running = false;
        try
        {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }
}
