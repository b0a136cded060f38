package dev.refocus;

import java.util.Arrays;

/**
 * The result of one prediction, owned by the caller and reused from call to call: a predictor fills it
 * without allocating. Not thread-safe; the usual pattern is one instance per predictor.
 */
public final class Prediction
{
    final float[] logits;
    int finalClass = -1;
    int initialClass = -1;
    boolean adapted;
    boolean fellBack;
    float margin = Float.NaN;

    /** @param classes the model's number of classes. */
    public Prediction(final int classes)
    {
        if (classes < 1)
        {
            throw new IllegalArgumentException("classes must be >= 1, got " + classes);
        }
        this.logits = new float[classes];
    }

    /** @return the answer: the most likely class (among the candidates) after refocus. */
    public int finalClass()
    {
        return finalClass;
    }

    /** @return the most likely class (among the candidates) of the plain forward pass. */
    public int initialClass()
    {
        return initialClass;
    }

    /** @return whether the sample was uncertain and the refocus step ran (whether or not it then {@link #fellBack()}). */
    public boolean adapted()
    {
        return adapted;
    }

    /**
     * Whether the step ran but its answer was discarded: the logits of a forward pass with the adapted parameters
     * were not all finite on the candidates (the step overflowed: a huge &eta; without clipping, huge weights or
     * inputs), so the prediction fell back to the plain one. Then {@link #adapted()} is true,
     * {@link #finalClass()} is {@link #initialClass()} and {@link #logits()} are the plain forward pass's. Every
     * backend follows this rule; a NaN logit of the plain pass itself is an {@link ArithmeticException} instead.
     *
     * @return whether the sample adapted and fell back to the plain prediction.
     */
    public boolean fellBack()
    {
        return fellBack;
    }

    /** @return the plain forward pass's softmax margin p<sub>(1)</sub> - p<sub>(2)</sub> (among the candidates). */
    public float margin()
    {
        return margin;
    }

    /** @return the number of classes. */
    public int classes()
    {
        return logits.length;
    }

    /**
     * @param c a class.
     * @return its logit: after the step when adapted (and not {@link #fellBack()}), else from the plain forward pass.
     */
    public float logit(final int c)
    {
        return logits[c];
    }

    /**
     * @return the logits (after the step when adapted and not {@link #fellBack()}). The array belongs to this result and is overwritten
     * by the next prediction into it; copy it to keep it.
     */
    public float[] logits()
    {
        return logits;
    }

    /** @return whether refocus changed the answer. */
    public boolean changed()
    {
        return finalClass != initialClass;
    }

    void set(final int initialClass, final int finalClass, final boolean adapted, final boolean fellBack,
        final float margin)
    {
        this.initialClass = initialClass;
        this.finalClass = finalClass;
        this.adapted = adapted;
        this.fellBack = fellBack;
        this.margin = margin;
    }

    @Override
    public String toString()
    {
        return "Prediction{final=" + finalClass + ", initial=" + initialClass + ", adapted=" + adapted
            + (fellBack ? ", fellBack=true" : "") + ", margin=" + margin + ", logits=" + Arrays.toString(logits) + "}";
    }
}
