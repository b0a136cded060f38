package dev.refocus.cuda;

/**
 * No CUDA device can serve refocus here: this build has no CUDA library, the machine has no NVIDIA driver (or one
 * too old for CUDA 13), or it has no device. The message says which, in the CUDA runtime's words. The CPU backends
 * are unaffected.
 */
public final class CudaUnavailableException extends IllegalStateException
{
    private static final long serialVersionUID = 1L;

    CudaUnavailableException(final String message)
    {
        super(message);
    }

    CudaUnavailableException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
