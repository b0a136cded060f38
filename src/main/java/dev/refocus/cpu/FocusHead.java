package dev.refocus.cpu;

import dev.refocus.RefocusConfig;
import dev.refocus.internal.Checks;
import dev.refocus.internal.bindings.FocusHeadNative;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;

import java.util.Objects;

import static dev.refocus.internal.NativeMemory.owned;
import static dev.refocus.internal.bindings.RefocusCommonNative.check;

/**
 * The native focus head for logits from any model: the softmax margin, the focus classes, the adapt decision
 * and the loss gradient dL/dz of the configured method (C ABI: {@code refocus/focus_head.h}). It lets a caller
 * who runs their own model do the rest of the refocus step.
 *
 * <pre>{@code
 * try (FocusHead head = new FocusHead(10, config)) {
 *     if (head.evaluate(logits)) {
 *         head.copyLogitGradient(dz);   // backpropagate dz through your model, step, re-predict
 *     }
 * }
 * }</pre>
 *
 * <p><b>Note:</b> This class is not thread-safe: it owns native buffers. Use one per thread.
 */
public final class FocusHead implements AutoCloseable
{
    private final int classes;
    private final RefocusConfig config;
    private final int candidateCount;
    private final FloatPointer logits;
    private final FloatPointer dlogits;
    private final FloatPointer marginOut;
    private final IntPointer focusOut;
    private final IntPointer candidates;
    private final int[] focus;
    private float margin = Float.NaN;
    private boolean ranked;
    private boolean closed;

    /**
     * @param classes number of classes (length of a logits vector).
     * @param config  method, focus classes, candidates and default margin threshold; checked against
     *                {@code classes}.
     */
    public FocusHead(final int classes, final RefocusConfig config)
    {
        if (classes < 1)
        {
            throw new IllegalArgumentException("classes must be >= 1, got " + classes);
        }
        config.checkFits(classes, Integer.MAX_VALUE);
        this.classes = classes;
        this.config = config;
        final int[] k = config.hasCandidates() ? config.candidates() : null;
        this.candidateCount = k == null ? 0 : k.length;
        this.candidates = k == null ? null : owned(new IntPointer(k.length).put(k));
        this.logits = owned(new FloatPointer(classes));
        this.dlogits = owned(new FloatPointer(classes));
        this.marginOut = owned(new FloatPointer(1));
        this.focusOut = owned(new IntPointer(config.focusClasses()));
        this.focus = new int[config.focusClasses()];
    }

    /**
     * Ranks the logits and decides, with the configured margin threshold.
     *
     * @param z {@code classes} logits (NaN is an error, &plusmn;&infin; are allowed).
     * @return whether the sample is uncertain (margin &lt; d): then {@link #copyLogitGradient} holds dL/dz.
     */
    public boolean evaluate(final float[] z)
    {
        return evaluate(z, config.marginThreshold());
    }

    /**
     * Ranks the logits and decides, with this call's margin threshold.
     *
     * @param z               {@code classes} logits (NaN is an error, &plusmn;&infin; are allowed).
     * @param marginThreshold d in [0, 1].
     * @return whether the sample is uncertain (margin &lt; d): then {@link #copyLogitGradient} holds dL/dz.
     * @throws ArithmeticException if a candidate logit is NaN.
     */
    public boolean evaluate(final float[] z, final float marginThreshold)
    {
        checkLogits(z);
        Checks.marginThreshold(marginThreshold);
        logits.put(z);
        final int rc = FocusHeadNative.refocus_focus_head(logits, classes, candidates, candidateCount,
            focus.length, marginThreshold, config.method().nativeCode(), focusOut, marginOut, dlogits);
        check(rc, "native focus head");
        focusOut.get(focus);
        margin = marginOut.get(0);
        ranked = true;
        return rc == 1;
    }

    /**
     * The loss gradient at new logits for the focus classes of the last {@link #evaluate}: what each step
     * after the first needs (F stays fixed, z and p&#771; are the current ones).
     *
     * @param z {@code classes} logits of the current parameters.
     */
    public void gradient(final float[] z)
    {
        checkLogits(z);
        if (!ranked)
        {
            throw new IllegalStateException("gradient() needs the focus classes of an evaluate() call first");
        }
        logits.put(z);
        check(FocusHeadNative.refocus_logit_grad(logits, classes, candidates, candidateCount, focusOut,
            focus.length, config.method().nativeCode(), dlogits), "native focus head");
    }

    /** @return the margin of the last {@link #evaluate}. */
    public float margin()
    {
        return margin;
    }

    /** @return the most likely candidate class of the last {@link #evaluate}. */
    public int topClass()
    {
        return focus[0];
    }

    /** @param i rank, from 0 (most likely) to focus classes - 1. @return the focus class at that rank. */
    public int focusClass(final int i)
    {
        return focus[i];
    }

    /**
     * Copies dL/dz of the last uncertain {@link #evaluate} or of the last {@link #gradient}.
     *
     * @param dst an array of at least {@code classes} values.
     */
    public void copyLogitGradient(final float[] dst)
    {
        if (closed)
        {
            throw new IllegalStateException("the focus head is closed");
        }
        if (dst.length < classes)
        {
            throw new IllegalArgumentException("need " + classes + " values, got " + dst.length);
        }
        dlogits.get(dst, 0, classes);
    }

    /** Frees the native buffers. Idempotent. */
    @Override
    public void close()
    {
        if (!closed)
        {
            closed = true;
            logits.close();
            dlogits.close();
            marginOut.close();
            focusOut.close();
            if (candidates != null)
            {
                candidates.close();
            }
        }
    }

    private void checkLogits(final float[] z)
    {
        Objects.requireNonNull(z, "logits");
        if (closed)
        {
            throw new IllegalStateException("the focus head is closed");
        }
        if (z.length != classes)
        {
            throw new IllegalArgumentException("got " + z.length + " logits, the head has " + classes + " classes");
        }
    }
}
