package dev.refocus.latency;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;

/**
 * The benchmark's {@link Completion}s: each handler records the latency of its events, from the intended send time
 * to the end of the prediction, into a recorder of its own for adapted events and one for plain ones (single
 * writer, no allocation, no contention); a reader takes the intervals of all handlers merged.
 *
 * <p>Measuring from the <em>intended</em> send time of an open-loop schedule is what corrects for coordinated
 * omission: an event that waited behind a slow one, or behind a publisher that fell behind, counts its wait.
 *
 * <p><b>Note:</b> {@link #apply(int)} is called once per handler ordinal, before the pipeline starts; the intervals
 * may be read from any one thread.
 */
public final class LatencyRecorders implements IntFunction<Completion>
{
    /** The longest latency recorded, 60 s; longer ones are recorded as this. */
    public static final long HIGHEST_NANOS = 60_000_000_000L;

    private final SingleWriterRecorder[] adapted;
    private final SingleWriterRecorder[] plain;
    private final AtomicLong failures = new AtomicLong();

    /** @param handlers the pipeline's number of handlers. */
    public LatencyRecorders(final int handlers)
    {
        adapted = new SingleWriterRecorder[handlers];
        plain = new SingleWriterRecorder[handlers];
        for (int h = 0; h < handlers; h++)
        {
            adapted[h] = new SingleWriterRecorder(1, HIGHEST_NANOS, 3);
            plain[h] = new SingleWriterRecorder(1, HIGHEST_NANOS, 3);
        }
    }

    @Override
    public Completion apply(final int handler)
    {
        final SingleWriterRecorder adaptedOfHandler = adapted[handler];
        final SingleWriterRecorder plainOfHandler = plain[handler];
        return (event, sequence, doneNanos) ->
        {
            if (event.failure != null)
            {
                failures.incrementAndGet(); // the benchmark's samples are all valid: it reports any failure
                return;
            }
            final long latency = Math.min(Math.max(doneNanos - event.intendedNanos, 0), HIGHEST_NANOS);
            (event.result.adapted() ? adaptedOfHandler : plainOfHandler).recordValue(latency);
        };
    }

    /** @return the latencies of adapted events since the last call, merged over the handlers, in ns. */
    public Histogram adaptedInterval()
    {
        return merged(adapted);
    }

    /** @return the latencies of plain (certain) events since the last call, merged over the handlers, in ns. */
    public Histogram plainInterval()
    {
        return merged(plain);
    }

    /** @return the events whose prediction threw, so far. */
    public long failures()
    {
        return failures.get();
    }

    private static Histogram merged(final SingleWriterRecorder[] recorders)
    {
        final Histogram merged = new Histogram(1, HIGHEST_NANOS, 3);
        for (final SingleWriterRecorder recorder : recorders)
        {
            merged.add(recorder.getIntervalHistogram());
        }
        return merged;
    }
}
