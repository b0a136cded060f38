package dev.refocus.internal.bindings;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.MemberGetter;
import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of {@code native/include/refocus/common.h}: version, error codes, loss methods and kernel variant.
 * JavaCPP generates the JNI code from these declarations; see the header for the contracts. The header's constants
 * are read from it through {@link MemberGetter}s, never copied by hand; {@code dev.refocus.Method}'s codes are
 * checked against them by a test.
 */
@Platform(include = "refocus/common.h", library = "jnirefocus")
@NoException
public final class RefocusCommonNative
{
    /** The C ABI these bindings are written for: {@code REFOCUS_VERSION_NUMBER} of {@code common.h}. */
    public static final int VERSION_NUMBER = 100;

    static
    {
        Loader.load();
        final int loaded = refocus_version_number();
        if (loaded != VERSION_NUMBER)
        {
            throw new UnsatisfiedLinkError("the refocus native library has version " + loaded
                + ", its Java bindings expect " + VERSION_NUMBER
                + ": a library from another build (a stale JavaCPP cache?) was loaded");
        }
    }

    public static final int REFOCUS_ERROR_ARGUMENT = REFOCUS_ERROR_ARGUMENT();
    public static final int REFOCUS_ERROR_NAN = REFOCUS_ERROR_NAN();
    public static final int REFOCUS_ERROR_CUDA = REFOCUS_ERROR_CUDA();

    private RefocusCommonNative()
    {
    }

    public static native int refocus_version_number();

    public static native int refocus_is_error(int code);

    public static native String refocus_error_name(int code);

    public static native String refocus_kernel_variant();

    /** @return the version the header declares, compiled into the JNI glue. */
    @MemberGetter
    public static native int REFOCUS_VERSION_NUMBER();

    @MemberGetter
    public static native int REFOCUS_ERROR_ARGUMENT();

    @MemberGetter
    public static native int REFOCUS_ERROR_NAN();

    @MemberGetter
    public static native int REFOCUS_ERROR_CUDA();

    @MemberGetter
    public static native int REFOCUS_IFO_WEIGHTED();

    @MemberGetter
    public static native int REFOCUS_IFO();

    @MemberGetter
    public static native int REFOCUS_DOFO();

    @MemberGetter
    public static native int REFOCUS_CROSS_ENTROPY();

    @MemberGetter
    public static native int REFOCUS_ENTROPY();

    @MemberGetter
    public static native int REFOCUS_METHOD_COUNT();

    /**
     * Turns a return code of the C ABI into the exception Java callers get.
     *
     * @param rc   the code; non-negative codes are results and pass.
     * @param what the native step, for the message.
     * @return {@code rc}.
     * @throws ArithmeticException   for REFOCUS_ERROR_NAN: the model produced a NaN logit.
     * @throws IllegalStateException for any other error: an argument Java should have rejected first.
     */
    public static int check(final int rc, final String what)
    {
        if (rc == REFOCUS_ERROR_NAN)
        {
            throw new ArithmeticException(what + ": a candidate logit is NaN");
        }
        if (rc < 0)
        {
            throw new IllegalStateException(what + ": " + refocus_error_name(rc));
        }
        return rc;
    }
}
