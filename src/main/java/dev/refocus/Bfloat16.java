package dev.refocus;

/**
 * bfloat16, the top half of a float32 (sign, 8 exponent bits, 7 mantissa bits), held in a {@code short}: the storage
 * of {@link DenseNetwork.WeightFormat#BFLOAT16} weights. Widening is exact; rounding is to nearest, ties to even, as
 * PyTorch's {@code tensor.to(torch.bfloat16)}.
 */
final class Bfloat16
{
    private Bfloat16()
    {
    }

    /**
     * @param value a float.
     * @return the nearest bf16, ties to even: a finite value beyond the largest bf16 (about 3.3895e38) gives an
     * infinity, which the caller refuses; an infinity stays itself; a NaN gives a quiet NaN of the same sign.
     */
    static short round(final float value)
    {
        final int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value))
        {
            // the top half alone could be an infinity (a NaN whose payload sits in the low half): set the quiet bit
            return (short)((bits >>> 16) | 0x0040);
        }
        // adding half an ulp of bf16 (less one, plus the kept half's lowest bit) carries into the top half exactly
        // when the dropped half is more than a tie, or a tie and the kept half is odd; a carry out of the mantissa
        // raises the exponent, which is right, up to the infinity of the same sign
        final int lowestKept = (bits >>> 16) & 1;
        return (short)((bits + 0x7FFF + lowestKept) >>> 16);
    }

    /**
     * @param half a bf16.
     * @return its value as a float, exactly.
     */
    static float widen(final short half)
    {
        return Float.intBitsToFloat((half & 0xFFFF) << 16);
    }
}
