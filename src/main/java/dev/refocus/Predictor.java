package dev.refocus;

import java.nio.FloatBuffer;
import java.util.Objects;

/**
 * Predicts with refocus: a plain forward pass, and on an uncertain sample (margin below d) the refocus step
 * and a second forward pass with the adapted parameters, which are then forgotten. Every backend extends this
 * class, which validates every argument before any work starts, so a bad call is an exception, never a crash
 * or a corrupted result.
 *
 * <p><b>Note:</b> A predictor is not thread-safe: it owns its workspace. It belongs to the first thread that
 * predicts with it, and a call from any other thread throws {@link IllegalStateException}. Use one predictor per
 * thread; the network and the configuration are shared safely. {@link #close()} may be called from any thread.
 */
public abstract class Predictor implements AutoCloseable
{
    private final int inputSize;
    private final int classes;
    private final RefocusConfig config;
    private volatile boolean closed;
    private Thread owner;

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
        checkCall(input.length, learningRate, marginThreshold, out);
        for (int i = 0; i < inputSize; i++)
        {
            checkFinite(input[i], i);
        }
        loadInput(input);
        run(learningRate, marginThreshold, out);
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
        checkCall(input.remaining(), learningRate, marginThreshold, out);
        final int base = input.position();
        for (int i = 0; i < inputSize; i++)
        {
            checkFinite(input.get(base + i), i);
        }
        loadInput(input);
        run(learningRate, marginThreshold, out);
    }

    /** Releases the workspace. Idempotent; the predictor cannot be used afterwards. */
    @Override
    public final void close()
    {
        if (!closed)
        {
            closed = true;
            release();
        }
    }

    /** @return whether {@link #close()} was called. */
    public final boolean isClosed()
    {
        return closed;
    }

    /** Copies the input into the workspace; it has been validated. */
    protected abstract void loadInput(float[] input);

    /** Copies the input (position to limit, without moving the position) into the workspace; it has been validated. */
    protected abstract void loadInput(FloatBuffer input);

    /** Predicts the loaded input into {@code out}; arguments have been validated. */
    protected abstract void run(float learningRate, float marginThreshold, Prediction out);

    /** Frees what the backend holds; called once by {@link #close()}. */
    protected void release()
    {
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
        out.set(initialClass, finalClass, adapted, margin);
    }

    private void checkCall(final int length, final float learningRate, final float marginThreshold,
        final Prediction out)
    {
        if (closed)
        {
            throw new IllegalStateException("the predictor is closed");
        }
        final Thread current = Thread.currentThread();
        if (owner != current)
        {
            if (owner != null)
            {
                throw new IllegalStateException("a predictor belongs to one thread: it is used by " + owner.getName()
                    + ", not by " + current.getName() + " (create one predictor per thread)");
            }
            owner = current;
        }
        Objects.requireNonNull(out, "out");
        if (length != inputSize)
        {
            throw new IllegalArgumentException("input has " + length + " features, the model takes " + inputSize);
        }
        if (out.classes() != classes)
        {
            throw new IllegalArgumentException("the result holds " + out.classes() + " classes, the model has "
                + classes + " (use newPrediction())");
        }
        Checks.learningRate(learningRate);
        Checks.marginThreshold(marginThreshold);
    }

    private static void checkFinite(final float value, final int index)
    {
        if (!Float.isFinite(value))
        {
            throw new IllegalArgumentException("input[" + index + "] is " + value + "; inputs must be finite");
        }
    }
}
