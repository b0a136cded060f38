package dev.refocus.latency;

import com.lmax.disruptor.BlockingWaitStrategy;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.WaitStrategy;
import com.lmax.disruptor.YieldingWaitStrategy;
import com.lmax.disruptor.dsl.Disruptor;
import com.lmax.disruptor.dsl.ProducerType;
import com.lmax.disruptor.util.DaemonThreadFactory;
import dev.refocus.DenseNetwork;
import dev.refocus.RefocusConfig;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntFunction;

/**
 * refocus in an LMAX Disruptor: one publisher, N {@link PredictionHandler}s that each own a predictor over one shared
 * network, and each take every N-th event. The example to copy: the ring's slots carry preallocated features and
 * results, so the hot path allocates nothing.
 *
 * <pre>{@code
 * try (RefocusPipeline pipeline = new RefocusPipeline(network, config, 2, 1024, Waiting.BLOCKING, h -> completion))
 * {
 *     RingBuffer<PredictionEvent> ring = pipeline.ring();
 *     long seq = ring.next();
 *     PredictionEvent e = ring.get(seq);
 *     System.arraycopy(sample, 0, e.features, 0, e.features.length);
 *     ring.publish(seq);                        // a handler predicts it and calls completion.completed(e, seq, t)
 * }
 * }</pre>
 *
 * <p><b>Note:</b> One publishing thread ({@link ProducerType#SINGLE}). {@link #close()} drains the ring, then waits for
 * every handler's {@code onShutdown()}, which closes its predictor on its own thread.
 */
public final class RefocusPipeline implements AutoCloseable
{
    /** How an idle handler waits for the next event. */
    public enum Waiting
    {
        /** A lock and condition: idle handlers sleep. For machines with fewer cores than threads (2-core VMs). */
        BLOCKING,
        /** Spins, then yields: lower latency, but each handler keeps a core busy. */
        YIELDING;

        WaitStrategy strategy()
        {
            return this == BLOCKING ? new BlockingWaitStrategy() : new YieldingWaitStrategy();
        }
    }

    private final Disruptor<PredictionEvent> disruptor;
    private final RingBuffer<PredictionEvent> ring;
    private final PredictionHandler[] handlers;
    private final CountDownLatch stopped;
    private boolean closed;

    /**
     * Starts the handlers' threads (each creates its predictor there).
     *
     * @param network     the model, shared read-only by every handler's predictor.
     * @param config      the refocus configuration.
     * @param handlers    N, the number of handlers (threads, predictors), at least 1.
     * @param ringSize    slots in the ring, a power of 2.
     * @param waiting     how idle handlers wait.
     * @param completions the completion of each handler, by ordinal (each called on its own handler's thread).
     */
    public RefocusPipeline(final DenseNetwork network, final RefocusConfig config, final int handlers,
        final int ringSize, final Waiting waiting, final IntFunction<Completion> completions)
    {
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(waiting, "waiting");
        Objects.requireNonNull(completions, "completions");
        if (handlers < 1)
        {
            throw new IllegalArgumentException("a pipeline needs at least one handler, got " + handlers);
        }
        if (ringSize < 1 || Integer.bitCount(ringSize) != 1)
        {
            throw new IllegalArgumentException("the ring size must be a power of 2, got " + ringSize);
        }
        final int inputSize = network.inputSize();
        final int classes = network.classes();
        this.disruptor = new Disruptor<>(() -> new PredictionEvent(inputSize, classes), ringSize,
            DaemonThreadFactory.INSTANCE, ProducerType.SINGLE, waiting.strategy());
        this.stopped = new CountDownLatch(handlers);
        this.handlers = new PredictionHandler[handlers];
        for (int h = 0; h < handlers; h++)
        {
            this.handlers[h] = new PredictionHandler(network, config, h, handlers,
                Objects.requireNonNull(completions.apply(h), "completion"), stopped::countDown);
        }
        disruptor.handleEventsWith(this.handlers);
        this.ring = disruptor.start();
    }

    /** @return the ring to publish to (from one thread). */
    public RingBuffer<PredictionEvent> ring()
    {
        return ring;
    }

    /** @return the number of handlers. */
    public int handlers()
    {
        return handlers.length;
    }

    /**
     * Waits until every handler has taken every event published so far.
     *
     * @param timeout how long to wait at most.
     * @param unit    its unit.
     * @throws TimeoutException if the handlers are still behind then.
     */
    public void drain(final long timeout, final TimeUnit unit) throws TimeoutException
    {
        final long deadline = System.nanoTime() + unit.toNanos(timeout);
        final long published = ring.getCursor();
        while (ring.getMinimumGatingSequence() < published)
        {
            if (System.nanoTime() - deadline > 0)
            {
                throw new TimeoutException("the handlers are behind the publisher: at " + ring.getMinimumGatingSequence()
                    + " of " + published);
            }
            Thread.yield();
        }
    }

    /** @return the thread of handler {@code h} once started, else {@code null} (for tests and thread pinning). */
    Thread thread(final int h)
    {
        return handlers[h].thread();
    }

    /** @return handler {@code h} (for tests). */
    PredictionHandler handler(final int h)
    {
        return handlers[h];
    }

    /**
     * Lets the handlers finish every published event, stops them and waits until each has closed its predictor.
     * Idempotent.
     */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        disruptor.shutdown(); // waits until the ring is drained, then halts the handlers
        try
        {
            if (!stopped.await(30, TimeUnit.SECONDS))
            {
                throw new IllegalStateException("the handlers did not stop within 30 s");
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the handlers stopped", e);
        }
    }
}
