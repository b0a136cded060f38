package dev.refocus.internal.bindings.cuda;

import dev.refocus.internal.bindings.DenseNative;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of {@code native/include/refocus/cuda.h}: the CUDA step, in a JNI library of its own
 * ({@code libjnirefocus_cuda}, the CUDA runtime linked statically) so that the CPU library never depends on CUDA.
 * Loading it needs no GPU and no driver; it is absent from builds made without nvcc, and then loading this class
 * throws {@link UnsatisfiedLinkError}. Handles are raw addresses ({@code long}), as in {@link DenseNative}.
 */
@Platform(include = "refocus/cuda.h", library = "jnirefocus_cuda")
@NoException
public final class CudaNative
{
    static
    {
        Loader.load();
    }

    private CudaNative()
    {
    }

    public static native String refocus_cuda_last_error();

    public static native int refocus_cuda_device_count();

    /** @param out one pointer slot that receives the weights' handle. */
    public static native int refocus_cuda_weights_upload(int device, @Const DenseNative.Config cfg,
        @Cast("refocus_cuda_weights**") PointerPointer<?> out);

    public static native void refocus_cuda_weights_free(@Cast("refocus_cuda_weights*") long weights);

    /** @param out one pointer slot that receives the context's handle. */
    public static native int refocus_cuda_create(@Cast("const refocus_cuda_weights*") long weights,
        @Const DenseNative.Config cfg, @Cast("refocus_cuda**") PointerPointer<?> out);

    public static native void refocus_cuda_free(@Cast("refocus_cuda*") long ctx);

    public static native @Cast("intptr_t") long refocus_cuda_inputs(@Cast("refocus_cuda*") long ctx);

    public static native @Cast("intptr_t") long refocus_cuda_logits(@Cast("refocus_cuda*") long ctx);

    public static native @Cast("intptr_t") long refocus_cuda_answers(@Cast("refocus_cuda*") long ctx);

    public static native @Cast("intptr_t") long refocus_cuda_margins(@Cast("refocus_cuda*") long ctx);

    public static native int refocus_cuda_predict(@Cast("refocus_cuda*") long ctx, int n, float learningRate,
        float threshold);

    public static native int refocus_cuda_forward(@Cast("refocus_cuda*") long ctx, int n);

    /** @param stream a {@code cudaStream_t}, 0 for the legacy default stream. */
    public static native int refocus_cuda_predict_device(@Cast("refocus_cuda*") long ctx,
        @Cast("const float*") long inputs, int n, @Cast("void*") long stream, float learningRate, float threshold);

    /** @param out one pointer slot that receives the buffer's device address. */
    public static native int refocus_cuda_buffer_alloc(int device, long bytes, @Cast("void**") PointerPointer<?> out);

    public static native int refocus_cuda_buffer_write(@Cast("void*") long buffer, long offset,
        @Const float[] values, long count);

    public static native void refocus_cuda_buffer_free(@Cast("void*") long buffer);

    /** @return the address a one-slot {@link PointerPointer} received. */
    public static long handle(final PointerPointer<?> slot)
    {
        final Pointer p = slot.get(0);
        return p == null ? 0 : p.address();
    }
}
