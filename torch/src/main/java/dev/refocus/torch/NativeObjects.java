package dev.refocus.torch;

import org.bytedeco.javacpp.Pointer;

import java.util.ArrayDeque;

/**
 * The native objects that an owner keeps beyond one call, freed together by {@link #close()}. Each is retained, so
 * that no {@link org.bytedeco.javacpp.PointerScope} open on the thread (ours for temporaries, or a caller's) frees
 * it when it closes; the garbage collector remains the safety net for an owner that is never closed.
 *
 * <p><b>Note:</b> This class is not thread-safe.
 */
final class NativeObjects implements AutoCloseable
{
    private final ArrayDeque<Pointer> kept = new ArrayDeque<>();

    /**
     * @param pointer a native object to keep until {@link #close()}.
     * @return the same object.
     */
    <T extends Pointer> T keep(final T pointer)
    {
        pointer.retainReference();
        kept.push(pointer);
        return pointer;
    }

    /** Releases every kept object, the last kept first. Idempotent. */
    @Override
    public void close()
    {
        while (!kept.isEmpty())
        {
            kept.pop().releaseReference();
        }
    }
}
