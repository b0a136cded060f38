package dev.refocus.internal.bindings;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of {@code native/include/refocus/focus_head.h}: margin, focus classes, decision
 * and loss gradient on a logits vector. Arguments are not checked here: callers validate them in
 * Java first (see {@code dev.refocus.FocusHead}); the native side still rejects sizes and indices
 * out of range with an error code rather than reading out of bounds.
 */
@Platform(include = "refocus/focus_head.h", library = "jnirefocus")
@NoException
public final class FocusHeadNative
{
    static
    {
        Loader.load(RefocusCommonNative.class);
        Loader.load();
    }

    private FocusHeadNative()
    {
    }

    public static native int refocus_focus_head(
        @Const FloatPointer logits, int nClasses,
        @Const IntPointer candidates, int nCandidates,
        int nFocus, float threshold, int method,
        IntPointer focus, FloatPointer margin, FloatPointer dlogits);

    public static native int refocus_logit_grad(
        @Const FloatPointer logits, int nClasses,
        @Const IntPointer candidates, int nCandidates,
        @Const IntPointer focus, int nFocus, int method,
        FloatPointer dlogits);
}
