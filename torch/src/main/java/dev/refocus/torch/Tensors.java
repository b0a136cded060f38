package dev.refocus.torch;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Small helpers between libtorch tensors and Java arrays. */
final class Tensors
{
    private Tensors()
    {
    }

    /**
     * @return the tensor's dtype as the canonical enum constant (JavaCPP hands out other instances, which {@code ==}
     * and {@code switch} do not recognise).
     */
    static torch.ScalarType dtype(final Tensor tensor)
    {
        return tensor.scalar_type().intern();
    }

    /** @return a copy of a float32 tensor's values, row-major. */
    static float[] toArray(final Tensor tensor)
    {
        final Tensor contiguous = tensor.contiguous();
        final float[] values = new float[(int)contiguous.numel()];
        contiguous.data_ptr_float().get(values);
        return values;
    }

    /**
     * @param tensor a contiguous float32 tensor that outlives the result.
     * @return a pointer to its memory, sized to its values.
     */
    static FloatPointer floats(final Tensor tensor)
    {
        return tensor.data_ptr_float().capacity(tensor.numel());
    }

    /**
     * @param tensor a contiguous int64 tensor that outlives the result.
     * @return a pointer to its memory, sized to its values.
     */
    static LongPointer longs(final Tensor tensor)
    {
        return tensor.data_ptr_long().capacity(tensor.numel());
    }
}
