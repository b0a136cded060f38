package dev.refocus.cuda;

import dev.refocus.internal.bindings.cuda.CudaNative;

/** Loads the CUDA library once and says whether, and why not, CUDA can be used; nothing here throws. */
final class CudaRuntime
{
    private static final String UNAVAILABLE;
    private static final int DEVICES;

    static
    {
        String why = null;
        int devices = 0;
        try
        {
            final int count = CudaNative.refocus_cuda_device_count();
            if (count > 0)
            {
                devices = count;
            }
            else
            {
                why = count == 0 ? "the CUDA runtime sees no device"
                    : "the CUDA runtime cannot start: " + CudaNative.refocus_cuda_last_error();
            }
        }
        catch (final UnsatisfiedLinkError | NoClassDefFoundError e)
        {
            why = "this build of refocus has no CUDA library (it was built without nvcc): " + e.getMessage();
        }
        UNAVAILABLE = why;
        DEVICES = devices;
    }

    private CudaRuntime()
    {
    }

    /** @return the devices refocus can use, 0 when CUDA is unavailable. */
    static int deviceCount()
    {
        return DEVICES;
    }

    /** @return why CUDA is unavailable, or null when a device is there. */
    static String unavailableReason()
    {
        return UNAVAILABLE;
    }

    /**
     * @param device a device index.
     * @throws CudaUnavailableException if CUDA is unavailable.
     * @throws IllegalArgumentException if there is no such device.
     */
    static void checkDevice(final int device)
    {
        if (UNAVAILABLE != null)
        {
            throw new CudaUnavailableException("no CUDA device for refocus: " + UNAVAILABLE);
        }
        if (device < 0 || device >= DEVICES)
        {
            throw new IllegalArgumentException("CUDA device " + device + " does not exist; this machine has "
                + DEVICES + " (0 to " + (DEVICES - 1) + ")");
        }
    }
}
