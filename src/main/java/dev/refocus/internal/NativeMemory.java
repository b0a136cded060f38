package dev.refocus.internal;

import org.bytedeco.javacpp.Pointer;

/** Ownership of the native memory refocus allocates through JavaCPP. */
public final class NativeMemory
{
    private NativeMemory()
    {
    }

    /**
     * Makes a new pointer ours alone: JavaCPP attaches every new pointer to the caller's innermost
     * {@code PointerScope}, if one is open, and closing that scope would free memory a predictor still uses. One
     * reference more keeps it alive until the owner's {@code close()} frees it.
     *
     * @param pointer a pointer just allocated.
     * @param <P>     its type.
     * @return the pointer.
     */
    public static <P extends Pointer> P owned(final P pointer)
    {
        pointer.retainReference();
        return pointer;
    }
}
