package dev.refocus.cpu;

import dev.refocus.DenseNetwork;
import dev.refocus.DensePredictor;
import dev.refocus.Guard;
import dev.refocus.GuardGroup;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.internal.Checks;

import java.util.Objects;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * Batches split over a fixed set of threads: each thread predicts a contiguous share of the samples with its own
 * {@link NativePredictor} (its own workspace; the network's weights are shared), the calling thread the first
 * share, threads made once by the caller's {@link ThreadFactory} the others. Every sample's result is the same, bit
 * for bit, as with one predictor (a sample's result never depends on the others in its batch).
 *
 * <pre>{@code
 * ThreadFactory daemons = task -> {
 *     Thread thread = new Thread(task, "refocus-batch");
 *     thread.setDaemon(true);
 *     return thread;
 * };
 * try (ParallelBatchPredictor predictor = ParallelBatchPredictor.create(network, config, Mode.IMPLICIT, 1024, 2, daemons)) {
 *     predictor.predict(batch, n, out);   // out: n results from newPrediction(), reused
 * }
 * }</pre>
 *
 * <p>A call allocates nothing: the workers wait parked between calls, and a call hands them their shares through
 * fields and {@link LockSupport#unpark}. Worth it for batches whose work outweighs waking a thread (tens of
 * microseconds): large models, or many samples; a single-threaded {@link NativePredictor} stays the default.
 *
 * <p><b>Thread safety:</b> one call at a time, from any thread (as every predictor); a concurrent call fails with
 * {@link IllegalStateException}. {@link #close()} stops and joins the workers and frees the workspaces; a
 * predictor dropped without it keeps its workers parked (they hold it reachable): close it.
 */
public final class ParallelBatchPredictor implements AutoCloseable
{
    private final NativePredictor[] shares; // shares[0] is the caller's, shares[i] worker i's
    private final Worker[] workers;         // workers[0] is null: the caller
    private final int maxBatch;
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile boolean closed;

    // the current call, written before the workers are released (the unpark and their volatile read of the
    // generation publish it) and read by them only until they report done
    private float[] batch;
    private Prediction[] out;
    private float learningRate;
    private float marginThreshold;
    private int n;
    private Thread caller;

    private ParallelBatchPredictor(final DenseNetwork network, final RefocusConfig config,
        final DensePredictor.Mode mode, final int maxBatch, final int threads, final ThreadFactory threadFactory)
    {
        this.maxBatch = maxBatch;
        this.shares = new NativePredictor[threads];
        this.workers = new Worker[threads];
        final int perShare = (maxBatch + threads - 1) / threads; // the largest share of any batch
        try
        {
            for (int i = 0; i < threads; i++)
            {
                shares[i] = NativePredictor.create(network, config, mode, perShare);
            }
            for (int i = 1; i < threads; i++)
            {
                workers[i] = new Worker(i);
                final Thread thread = threadFactory.newThread(workers[i]);
                if (thread == null)
                {
                    throw new IllegalStateException("the thread factory made no thread for worker " + i);
                }
                workers[i].thread = thread;
                thread.start();
            }
        }
        catch (final RuntimeException | Error e)
        {
            close();
            throw e;
        }
    }

    /**
     * @param network       the model, shared by every share's predictor.
     * @param config        the refocus configuration; checked against the network.
     * @param mode          how each share's predictor holds &theta;'.
     * @param maxBatch      the most samples one call takes.
     * @param threads       the threads of a call, the caller's included: 1 or more (1: no worker).
     * @param threadFactory makes the {@code threads - 1} workers, once (the caller's choice of names, daemon status,
     *                      priority or affinity); each worker thread is started here and ends at {@link #close()}.
     * @return the predictor.
     * @throws IllegalArgumentException if {@code maxBatch < 1}, {@code threads < 1}, or as
     *                                  {@link NativePredictor#create(DenseNetwork, RefocusConfig, DensePredictor.Mode, int)}.
     */
    public static ParallelBatchPredictor create(final DenseNetwork network, final RefocusConfig config,
        final DensePredictor.Mode mode, final int maxBatch, final int threads, final ThreadFactory threadFactory)
    {
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(threadFactory, "threadFactory");
        if (maxBatch < 1)
        {
            throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        }
        if (threads < 1)
        {
            throw new IllegalArgumentException("threads must be >= 1 (the caller's included), got " + threads);
        }
        return new ParallelBatchPredictor(network, config, mode, maxBatch, threads, threadFactory);
    }

    /** @return the threads of a call, the caller's included. */
    public int threads()
    {
        return shares.length;
    }

    /** @return the most samples one call takes. */
    public int maxBatch()
    {
        return maxBatch;
    }

    /**
     * @return the guardrails of each thread's share ({@link Guard}: counters, observe-only, band), one
     * per thread: each share counts and bands its own samples; add them all to one {@link GuardGroup}
     * to see the whole predictor. A new array each call.
     */
    public Guard[] guards()
    {
        final Guard[] guards = new Guard[shares.length];
        for (int i = 0; i < shares.length; i++)
        {
            guards[i] = shares[i].guard();
        }
        return guards;
    }

    /** @return a result of this predictor's size, to allocate once and reuse. */
    public Prediction newPrediction()
    {
        return shares[0].newPrediction();
    }

    /**
     * Predicts {@code n} samples with the configured learning rate and margin threshold.
     *
     * @see #predict(float[], int, float, float, Prediction[])
     */
    public void predict(final float[] batch, final int n, final Prediction[] out)
    {
        predict(batch, n, shares[0].config().learningRate(), shares[0].config().marginThreshold(), out);
    }

    /**
     * Predicts {@code n} samples over the threads, with this call's learning rate and margin threshold; each
     * sample's result is the same as from a single {@link NativePredictor}. Every argument is checked before any
     * thread starts work.
     *
     * @param batch           {@code n} rows of finite features, row-major, from index 0; it may be longer.
     * @param n               number of samples, 1 to {@link #maxBatch()}.
     * @param learningRate    &eta; for this call, finite and &ge; 0.
     * @param marginThreshold d for this call, in [0, 1].
     * @param out             at least {@code n} results, filled in order.
     * @throws ArithmeticException   if a candidate logit of a plain pass is NaN (the other shares still complete).
     * @throws IllegalStateException if the predictor is closed or busy with another call.
     */
    public void predict(final float[] batch, final int n, final float learningRate, final float marginThreshold,
        final Prediction[] out)
    {
        final NativePredictor first = shares[0];
        Checks.batch(batch, 0, n, maxBatch, first.inputSize(), out);
        Checks.learningRate(learningRate);
        Checks.marginThreshold(marginThreshold);
        for (int i = 0; i < n; i++)
        {
            Checks.result(out[i], first.classes());
        }
        Checks.finite(batch, 0, n * first.inputSize());
        if (!busy.compareAndSet(false, true))
        {
            throw new IllegalStateException(closed ? "the predictor is closed"
                : "the predictor is busy with another call: a predictor serves one call at a time");
        }
        try
        {
            run(batch, n, learningRate, marginThreshold, out);
        }
        finally
        {
            busy.set(false);
        }
    }

    private void run(final float[] batch, final int n, final float learningRate, final float marginThreshold,
        final Prediction[] out)
    {
        this.batch = batch;
        this.n = n;
        this.learningRate = learningRate;
        this.marginThreshold = marginThreshold;
        this.out = out;
        this.caller = Thread.currentThread();
        for (int i = 1; i < workers.length; i++)
        {
            workers[i].release();
        }
        RuntimeException failure = null;
        try
        {
            predictShare(0);
        }
        catch (final RuntimeException e)
        {
            failure = e;
        }
        for (int i = 1; i < workers.length; i++)
        {
            final RuntimeException e = workers[i].awaitDone();
            failure = failure == null ? e : failure;
        }
        this.batch = null; // keep no caller's array reachable between calls
        this.out = null;
        if (failure != null)
        {
            throw failure;
        }
    }

    /** Share {@code i}: samples {@code [i n / t, (i + 1) n / t)}, possibly none. */
    private void predictShare(final int i)
    {
        final int t = shares.length;
        final int from = (int)((long)i * n / t);
        final int to = (int)((long)(i + 1) * n / t);
        if (to > from)
        {
            shares[i].predict(batch, from, to - from, learningRate, marginThreshold, out);
        }
    }

    /**
     * Stops and joins the workers, then frees every share's workspace. Idempotent, from any thread.
     *
     * @throws IllegalStateException if a prediction runs on another thread (as every predictor's {@code close()}).
     */
    @Override
    public void close()
    {
        // take the predictor for good: no call runs now, and none will (busy stays set; closed says why)
        if (!busy.compareAndSet(false, true))
        {
            if (closed)
            {
                return;
            }
            throw new IllegalStateException("cannot close the predictor while a prediction runs");
        }
        closed = true;
        for (final Worker worker : workers)
        {
            if (worker != null && worker.thread != null)
            {
                LockSupport.unpark(worker.thread);
                boolean interrupted = false;
                while (worker.thread.isAlive())
                {
                    try
                    {
                        worker.thread.join();
                    }
                    catch (final InterruptedException e)
                    {
                        interrupted = true;
                    }
                }
                if (interrupted)
                {
                    Thread.currentThread().interrupt();
                }
            }
        }
        for (final NativePredictor share : shares)
        {
            if (share != null)
            {
                share.close();
            }
        }
    }

    /** One worker thread: waits parked for a call's generation, predicts its share, reports done. */
    private final class Worker implements Runnable
    {
        private final int share;
        private Thread thread;
        private volatile long requested;
        private volatile long done;
        private RuntimeException failure; // written before done, read after it

        Worker(final int share)
        {
            this.share = share;
        }

        void release()
        {
            requested = requested + 1; // only the caller writes it, one call at a time
            LockSupport.unpark(thread);
        }

        RuntimeException awaitDone()
        {
            while (done != requested)
            {
                LockSupport.park(this);
            }
            final RuntimeException e = failure;
            failure = null;
            return e;
        }

        @Override
        public void run()
        {
            long seen = 0;
            while (true)
            {
                while (requested == seen)
                {
                    if (closed)
                    {
                        return;
                    }
                    LockSupport.park(this);
                }
                seen = requested;
                try
                {
                    predictShare(share);
                }
                catch (final RuntimeException e)
                {
                    failure = e;
                }
                catch (final Error e)
                {
                    failure = new IllegalStateException("worker " + share + " failed", e);
                }
                done = seen;
                LockSupport.unpark(caller);
            }
        }
    }
}
