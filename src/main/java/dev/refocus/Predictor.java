package dev.refocus;

import dev.refocus.internal.Checks;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * Predicts with refocus: a plain forward pass, and on an uncertain sample (margin below d) the refocus step
 * and a second forward pass with the adapted parameters, which are then forgotten. Every backend extends this
 * class, which validates every argument before any work starts, so a bad call is an exception, never a crash
 * or a corrupted result.
 *
 * <p>No answer comes from non-finite logits, on any backend: a NaN candidate logit of the plain forward pass is an
 * {@link ArithmeticException}, and when a forward pass with the adapted parameters (after any of the T steps) gives
 * a candidate logit that is infinite or NaN, the sample falls back to its plain prediction
 * ({@link Prediction#fellBack()}).
 *
 * <p>Every predictor keeps a {@link Guard} around the backend's step, so every backend gets the same guardrails:
 * counters of its predictions, observe-only ({@link RefocusConfig#observeOnly()}) and a band
 * ({@link RefocusConfig#band()}) that falls back to plain predictions; see {@link #guard()}.
 *
 * <p>Every backend is made the same way, {@code XPredictor.create(model, config)} (with options where the backend
 * has some), which fits {@link Factory}: an engine that makes one predictor per task takes a factory.
 *
 * <p><b>Note:</b> A predictor serves one call at a time, from any thread: thread pools, executors, virtual threads
 * and engine tasks may hand it from thread to thread. A call made while another runs fails with
 * {@link IllegalStateException} (it never waits and never corrupts the workspace); use one predictor per concurrent
 * caller; the network and the configuration are shared safely. Each call starts with a compare-and-set of the
 * predictor's state and ends with a release store of it, so everything a call did (its workspace, its result)
 * happens-before whatever the next call does, on whichever thread: no other synchronisation is needed to pass a
 * predictor, or a {@link Prediction} it filled, from one thread to the next through this predictor. {@link #close()}
 * may be called from any thread; while a prediction is running it fails with {@link IllegalStateException} instead
 * of freeing memory in use.
 */
public abstract class Predictor implements AutoCloseable
{
    private final int inputSize;
    private final int classes;
    private final RefocusConfig config;
    private final int[] candidates; // null: every class
    private final Guard guard;

    // IDLE -> BUSY for the length of a call, IDLE -> CLOSED once: close() never frees what a call uses, and no two
    // calls overlap
    private static final int IDLE = 0;
    private static final int BUSY = 1;
    private static final int CLOSED = 2;
    private static final VarHandle STATE;
    @SuppressWarnings("unused") // accessed through STATE
    private volatile int state;

    static
    {
        try
        {
            STATE = MethodHandles.lookup().findVarHandle(Predictor.class, "state", int.class);
        }
        catch (final ReflectiveOperationException e)
        {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * @param inputSize number of input features.
     * @param classes   number of classes.
     * @param config    the configuration, already checked against the model.
     */
    protected Predictor(final int inputSize, final int classes, final RefocusConfig config)
    {
        this.inputSize = inputSize;
        this.classes = classes;
        this.config = Objects.requireNonNull(config, "config");
        this.candidates = config.hasCandidates() ? config.candidates() : null;
        this.guard = new Guard(config);
    }

    /** @return number of input features a prediction takes. */
    public final int inputSize()
    {
        return inputSize;
    }

    /** @return number of classes. */
    public final int classes()
    {
        return classes;
    }

    /** @return the configuration. */
    public final RefocusConfig config()
    {
        return config;
    }

    /**
     * @return this predictor's guardrails: its counters, observe-only mode and band ({@link Guard}); read them from
     * any thread, add them to a {@link GuardGroup} to sum and publish them.
     */
    public final Guard guard()
    {
        return guard;
    }

    /** @return a new result sized for this predictor (allocates: call it at set-up, then reuse the result). */
    public final Prediction newPrediction()
    {
        return new Prediction(classes);
    }

    /**
     * Predicts one sample with the configured learning rate and margin threshold.
     *
     * @param input {@link #inputSize()} finite features; read, never kept.
     * @param out   receives the result.
     */
    public final void predict(final float[] input, final Prediction out)
    {
        predict(input, config.learningRate(), config.marginThreshold(), out);
    }

    /**
     * Predicts one sample with this call's learning rate and margin threshold.
     *
     * @param input           {@link #inputSize()} finite features; read, never kept.
     * @param learningRate    &eta; for this call, finite and &ge; 0.
     * @param marginThreshold d for this call, in [0, 1].
     * @param out             receives the result.
     */
    public final void predict(final float[] input, final float learningRate, final float marginThreshold,
        final Prediction out)
    {
        Objects.requireNonNull(input, "input");
        checkCall(learningRate, marginThreshold);
        checkInputLength(input.length);
        checkResult(out);
        checkFinite(input, 0, inputSize);
        acquire();
        try
        {
            loadInput(input);
            guardedRun(learningRate, marginThreshold, out);
        }
        finally
        {
            release();
        }
    }

    /**
     * Predicts one sample with the configured learning rate and margin threshold.
     *
     * @param input exactly {@link #inputSize()} finite features between its position and limit; read, never
     *              kept; its position does not move.
     * @param out   receives the result.
     */
    public final void predict(final FloatBuffer input, final Prediction out)
    {
        predict(input, config.learningRate(), config.marginThreshold(), out);
    }

    /**
     * Predicts one sample with this call's learning rate and margin threshold.
     *
     * @param input           exactly {@link #inputSize()} finite features between its position and limit;
     *                        read, never kept; its position does not move.
     * @param learningRate    &eta; for this call, finite and &ge; 0.
     * @param marginThreshold d for this call, in [0, 1].
     * @param out             receives the result.
     */
    public final void predict(final FloatBuffer input, final float learningRate, final float marginThreshold,
        final Prediction out)
    {
        Objects.requireNonNull(input, "input");
        checkCall(learningRate, marginThreshold);
        checkInputLength(input.remaining());
        checkResult(out);
        checkFinite(input, inputSize);
        acquire();
        try
        {
            loadInput(input);
            guardedRun(learningRate, marginThreshold, out);
        }
        finally
        {
            release();
        }
    }

    /**
     * Predicts one sample at several learning rates, as a tuning sweep does: {@code out} gets the plain pass's
     * initial class, margin and decision (and the result at the last rate), {@code finalClasses[k]} the answer at
     * {@code learningRates[k]} (the initial class when the sample is certain, or falls back at that rate). Backends
     * that can take one gradient and re-predict at every rate with forward passes only (the paper's sweep, exact for
     * T = 1) do so.
     *
     * @param input           {@link #inputSize()} finite features.
     * @param learningRates   the rates, each finite and &ge; 0.
     * @param marginThreshold d, in [0, 1].
     * @param out             receives the plain decision.
     * @param finalClasses    receives one answer per rate; at least as long as {@code learningRates}.
     */
    public final void sweep(final float[] input, final float[] learningRates, final float marginThreshold,
        final Prediction out, final int[] finalClasses)
    {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(learningRates, "learningRates");
        Objects.requireNonNull(finalClasses, "finalClasses");
        if (learningRates.length == 0 || finalClasses.length < learningRates.length)
        {
            throw new IllegalArgumentException("a sweep needs at least one rate and one answer slot per rate");
        }
        for (final float eta : learningRates)
        {
            Checks.learningRate(eta);
        }
        checkCall(learningRates[0], marginThreshold);
        checkInputLength(input.length);
        checkResult(out);
        checkFinite(input, 0, inputSize);
        acquire();
        try
        {
            loadInput(input);
            runSweep(learningRates, marginThreshold, out, finalClasses);
        }
        finally
        {
            release();
        }
    }

    /**
     * The guardrails around one prediction of the loaded input, for every backend: a tripped band answers plainly
     * (d = 0: no sample is uncertain), observe-only answers plainly after counting the step, and every prediction
     * is counted. Allocates nothing.
     */
    private void guardedRun(final float learningRate, final float marginThreshold, final Prediction out)
    {
        final Guard g = guard;
        if (g.bypass())
        {
            run(learningRate, 0.0f, out);
            g.countBypassed();
            return;
        }
        run(learningRate, marginThreshold, out);
        final boolean adapted = out.adapted();
        final boolean changed = out.changed();
        final boolean fellBack = out.fellBack();
        if (adapted && g.observeOnly())
        {
            run(learningRate, 0.0f, out); // the plain prediction, as with refocus off
        }
        g.count(adapted, changed, fellBack);
    }

    /**
     * For backends with calls of their own (batches): whether this call must answer plainly, with d = 0, because
     * the band has tripped. Read it once per call.
     */
    protected final boolean bypassing()
    {
        return guard.bypass();
    }

    /**
     * For backends with calls of their own (batches): counts one sample's prediction from its result.
     *
     * @param out      the sample's result, as the step gave it (before any plain re-run of observe-only).
     * @param bypassed what {@link #bypassing()} said for this call (and the call ran with d = 0).
     * @return whether the result must be replaced by the plain prediction (observe-only, and the step ran).
     */
    protected final boolean countGuarded(final Prediction out, final boolean bypassed)
    {
        if (bypassed)
        {
            guard.countBypassed();
            return false;
        }
        guard.count(out.adapted(), out.changed(), out.fellBack());
        return out.adapted() && guard.observeOnly();
    }

    /**
     * Releases the workspace. Idempotent; the predictor cannot be used afterwards.
     *
     * @throws IllegalStateException if a prediction is running.
     */
    @Override
    public final void close()
    {
        final int was = (int)STATE.compareAndExchange(this, IDLE, CLOSED);
        if (was == BUSY)
        {
            throw new IllegalStateException("attempt to close a predictor while it is predicting");
        }
        if (was == IDLE)
        {
            free();
        }
    }

    /** @return whether {@link #close()} was called. */
    public final boolean isClosed()
    {
        return state == CLOSED;
    }

    /** Copies the input into the workspace; it has been validated. */
    protected abstract void loadInput(float[] input);

    /** Copies the input (position to limit, without moving the position) into the workspace; it has been validated. */
    protected abstract void loadInput(FloatBuffer input);

    /** Predicts the loaded input into {@code out}; arguments have been validated. */
    protected abstract void run(float learningRate, float marginThreshold, Prediction out);

    /**
     * The sweep of the loaded input; by default one whole prediction per rate. Arguments have been validated.
     */
    protected void runSweep(final float[] learningRates, final float marginThreshold, final Prediction out,
        final int[] finalClasses)
    {
        for (int k = 0; k < learningRates.length; k++)
        {
            run(learningRates[k], marginThreshold, out);
            finalClasses[k] = out.finalClass();
            if (!out.adapted())
            {
                Arrays.fill(finalClasses, 0, learningRates.length, out.initialClass()); // certain at any rate
                return;
            }
        }
    }

    /** Frees what the backend holds; called once by {@link #close()}. */
    protected void free()
    {
    }

    /**
     * For backends with calls of their own: marks the predictor busy, so that {@link #close()} waits for no one
     * and frees nothing in use. Pair it with {@link #release()} in a finally block, after the checks.
     *
     * @throws IllegalStateException if the predictor is closed, or busy with a call from another thread.
     */
    protected final void acquire()
    {
        final int was = (int)STATE.compareAndExchange(this, IDLE, BUSY);
        if (was != IDLE)
        {
            throw new IllegalStateException(was == CLOSED ? "the predictor is closed"
                : "the predictor is busy with another call: a predictor serves one call at a time "
                + "(use one predictor per concurrent caller)");
        }
    }

    /** Ends what {@link #acquire()} began. */
    protected final void release()
    {
        STATE.setRelease(this, IDLE);
    }

    /** For backends: the array {@code out}'s logits are written to. */
    protected static float[] logits(final Prediction out)
    {
        return out.logits;
    }

    /** For backends: records the decision and answer into {@code out}. */
    protected static void complete(final Prediction out, final int initialClass, final int finalClass,
        final boolean adapted, final float margin)
    {
        out.set(initialClass, finalClass, adapted, false, margin);
    }

    /**
     * For backends: records an uncertain sample that fell back to its plain prediction (see
     * {@link Prediction#fellBack()}); the backend has left, or put back, the plain pass's logits in {@code out}.
     */
    protected static void completeFallback(final Prediction out, final int initialClass, final float margin)
    {
        out.set(initialClass, initialClass, true, true, margin);
    }

    /**
     * For backends: the fallback rule's test, to apply to the logits of every forward pass with adapted parameters.
     *
     * @param z logits, {@link #classes()} of them.
     * @return whether every candidate logit (every logit when there are no candidates) is finite.
     */
    protected final boolean finiteCandidates(final float[] z)
    {
        if (candidates == null)
        {
            for (int c = 0; c < classes; c++)
            {
                if (!Float.isFinite(z[c]))
                {
                    return false;
                }
            }
            return true;
        }
        for (final int c : candidates)
        {
            if (!Float.isFinite(z[c]))
            {
                return false;
            }
        }
        return true;
    }

    /**
     * For backends: the checks of every call, before any work: the predictor is open, &eta; and d are in range.
     *
     * @param learningRate    &eta; of the call.
     * @param marginThreshold d of the call.
     */
    protected final void checkCall(final float learningRate, final float marginThreshold)
    {
        if (state == CLOSED)
        {
            throw new IllegalStateException("the predictor is closed");
        }
        Checks.learningRate(learningRate);
        Checks.marginThreshold(marginThreshold);
    }

    /**
     * For backends: a single sample's input has {@link #inputSize()} features.
     *
     * @param length number of input values the caller passed.
     */
    protected final void checkInputLength(final int length)
    {
        if (length != inputSize)
        {
            throw new IllegalArgumentException("input has " + length + " features, the model takes " + inputSize);
        }
    }

    /** For backends: {@code out} is a result of this predictor's size. */
    protected final void checkResult(final Prediction out)
    {
        Checks.result(out, classes);
    }

    /** For backends: every value of {@code input[from, from + length)} is finite. */
    protected static void checkFinite(final float[] input, final int from, final int length)
    {
        Checks.finite(input, from, length);
    }

    /** For backends: the next {@code length} values of {@code input}, from its position, are finite. */
    protected static void checkFinite(final FloatBuffer input, final int length)
    {
        final int base = input.position();
        for (int i = 0; i < length; i++)
        {
            final float value = input.get(base + i);
            if (!Float.isFinite(value))
            {
                throw new IllegalArgumentException("input[" + i + "] is " + value + "; inputs must be finite");
            }
        }
    }

    /**
     * Makes predictors of one backend for a model: {@code NativePredictor::create}, {@code ReferencePredictor::create},
     * {@code TorchPredictor::create}, or a lambda that adds a backend's options. What an engine takes to make one
     * predictor per task or thread.
     *
     * @param <M> the model type: {@link DenseNetwork}, a libtorch model, ...
     * @param <P> the predictor type.
     */
    @FunctionalInterface
    public interface Factory<M, P extends Predictor>
    {
        /**
         * @param model  the model, shared by every predictor made from it.
         * @param config the refocus configuration, checked against the model.
         * @return a new predictor; the caller closes it.
         */
        P create(M model, RefocusConfig config);
    }
}
