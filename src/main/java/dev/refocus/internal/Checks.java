package dev.refocus.internal;

import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;

import java.util.Objects;

/** Argument checks shared by the API and the backends: each one throws IllegalArgumentException with a message that says why. */
public final class Checks
{
    private Checks()
    {
    }

    public static float learningRate(final float eta)
    {
        if (!(eta >= 0.0f) || Float.isInfinite(eta))
        {
            throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + eta);
        }
        return eta;
    }

    public static float marginThreshold(final float d)
    {
        if (!(d >= 0.0f && d <= 1.0f))
        {
            throw new IllegalArgumentException("margin threshold must be in [0, 1], got " + d);
        }
        return d;
    }

    /** Focus classes and candidates against a model's number of classes. */
    public static void classes(final RefocusConfig config, final int classes)
    {
        final int[] candidates = config.hasCandidates() ? config.candidates() : null;
        final int pool = candidates == null ? classes : candidates.length;
        if (candidates != null)
        {
            for (final int c : candidates)
            {
                if (c >= classes)
                {
                    throw new IllegalArgumentException(
                        "candidate class " + c + " is out of range for a model with " + classes + " classes");
                }
            }
        }
        if (config.focusClasses() >= pool)
        {
            throw new IllegalArgumentException("focus classes (" + config.focusClasses() + ") must be fewer than the "
                + (candidates == null ? "model's classes (" : "candidate classes (") + pool + ")");
        }
    }

    /**
     * A batch call's shape: samples {@code first} to {@code first + n - 1} of {@code batch}, results in the same
     * entries of {@code out}.
     */
    public static void batch(final float[] batch, final int first, final int n, final int maxBatch,
        final int inputSize, final Prediction[] out)
    {
        Objects.requireNonNull(batch, "batch");
        Objects.requireNonNull(out, "out");
        if (n < 1 || n > maxBatch)
        {
            throw new IllegalArgumentException("batch of " + n + " samples; this predictor takes 1 to " + maxBatch);
        }
        if (first < 0)
        {
            throw new IllegalArgumentException("the first sample is row " + first + "; rows start at 0");
        }
        final long end = ((long)first + n) * inputSize; // long: first may be anything up to Integer.MAX_VALUE
        if (batch.length < end)
        {
            throw new IllegalArgumentException("the batch holds " + batch.length + " values, fewer than "
                + (first == 0 ? "" : first + " + ") + n + " samples of " + inputSize + " features");
        }
        if (out.length < (long)first + n)
        {
            throw new IllegalArgumentException(out.length + " results for " + (first == 0 ? n + " samples"
                : "samples " + first + " to " + ((long)first + n - 1)));
        }
    }

    /** A result of a model with this many classes. */
    public static void result(final Prediction out, final int classes)
    {
        Objects.requireNonNull(out, "out");
        if (out.classes() != classes)
        {
            throw new IllegalArgumentException("the result holds " + out.classes() + " classes, the model has "
                + classes + " (use newPrediction())");
        }
    }

    /** Every value of {@code input[from, from + length)} is finite. */
    public static void finite(final float[] input, final int from, final int length)
    {
        for (int i = from; i < from + length; i++)
        {
            if (!Float.isFinite(input[i]))
            {
                throw new IllegalArgumentException("input[" + i + "] is " + input[i] + "; inputs must be finite");
            }
        }
    }
}
