package dev.refocus.latency;

import com.lmax.disruptor.EventHandler;
import dev.refocus.DenseNetwork;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.NativePredictor;

/**
 * One of N handlers of a {@link RefocusPipeline}: it predicts the events whose sequence is its own
 * ({@code sequence % N == ordinal}) with a predictor of its own, which it creates in {@link #onStart()} and closes in
 * {@link #onShutdown()}; the Disruptor calls both, and every {@link #onEvent}, on the handler's one thread. After
 * warm-up an event allocates nothing: the features and the result live in the event, the predictor's workspace
 * off the heap.
 */
final class PredictionHandler implements EventHandler<PredictionEvent>
{
    private final DenseNetwork network;
    private final RefocusConfig config;
    private final int ordinal;
    private final int handlers;
    private final Completion completion;
    private final Runnable stopped;
    private NativePredictor predictor; // only touched on the handler's thread
    private RuntimeException startFailure; // why onStart() could not create the predictor, passed on with each event
    private volatile Thread thread;

    PredictionHandler(final DenseNetwork network, final RefocusConfig config, final int ordinal, final int handlers,
        final Completion completion, final Runnable stopped)
    {
        this.network = network;
        this.config = config;
        this.ordinal = ordinal;
        this.handlers = handlers;
        this.completion = completion;
        this.stopped = stopped;
    }

    @Override
    public void onStart()
    {
        thread = Thread.currentThread();
        try
        {
            predictor = NativePredictor.create(network, config);
        }
        catch (final RuntimeException e) // the Disruptor only logs it: every event of this handler will carry it
        {
            startFailure = new IllegalStateException("handler " + ordinal + " could not create its predictor: "
                + e.getMessage(), e);
        }
    }

    @Override
    public void onEvent(final PredictionEvent event, final long sequence, final boolean endOfBatch)
    {
        if (sequence % handlers != ordinal)
        {
            return; // another handler's event
        }
        if (predictor == null)
        {
            event.failure = startFailure;
            completion.completed(event, sequence, System.nanoTime());
            return;
        }
        try
        {
            predictor.predict(event.features, event.result);
            event.failure = null;
        }
        catch (final RuntimeException e) // a bad sample (wrong length, non-finite): passed on, never dropped
        {
            event.failure = e;
        }
        completion.completed(event, sequence, System.nanoTime());
    }

    @Override
    public void onShutdown()
    {
        try
        {
            if (predictor != null)
            {
                predictor.close();
            }
        }
        finally
        {
            stopped.run();
        }
    }

    /** @return the handler's thread once it has started, else {@code null}. */
    Thread thread()
    {
        return thread;
    }

    /** @return the predictor (for tests: closed after the pipeline's close), {@code null} before the start. */
    NativePredictor predictor()
    {
        return predictor;
    }
}
