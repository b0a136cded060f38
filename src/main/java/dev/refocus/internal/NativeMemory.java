package dev.refocus.internal;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

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

    /**
     * A direct buffer over native memory that something else owns and keeps alive (a workspace, pinned host memory).
     *
     * @param start the first byte's address.
     * @param bytes the length.
     * @return a view in the platform's byte order.
     */
    public static ByteBuffer view(final long start, final long bytes)
    {
        final Pointer at = new Pointer()
        {
            {
                address = start; // (a parameter named address would be shadowed by this field here)
            }
        };
        // a BytePointer proper (one byte per element, no deallocator) whose buffer spans exactly the bytes
        return new BytePointer(at).position(0).capacity(bytes).limit(bytes).asByteBuffer().order(ByteOrder.nativeOrder());
    }
}
