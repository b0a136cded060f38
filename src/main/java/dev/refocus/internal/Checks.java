package dev.refocus.internal;

import dev.refocus.RefocusConfig;

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
}
