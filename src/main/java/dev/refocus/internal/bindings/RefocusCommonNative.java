package dev.refocus.internal.bindings;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of {@code native/include/refocus/common.h}: version, error codes and kernel variant.
 * JavaCPP generates the JNI code from these declarations; see the header for the contracts.
 */
@Platform(include = "refocus/common.h", library = "jnirefocus")
@NoException
public final class RefocusCommonNative
{
    static
    {
        Loader.load();
    }

    /** Mirrors {@code REFOCUS_ERROR_ARGUMENT}. */
    public static final int REFOCUS_ERROR_ARGUMENT = -1;
    /** Mirrors {@code REFOCUS_ERROR_NAN}. */
    public static final int REFOCUS_ERROR_NAN = -2;

    private RefocusCommonNative()
    {
    }

    public static native int refocus_version_number();

    public static native int refocus_is_error(int code);

    public static native String refocus_error_name(int code);

    public static native String refocus_kernel_variant();

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
