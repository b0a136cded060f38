package dev.refocus;

import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bf16 rounding (to nearest, ties to even: against the definition, in double), and {@link DenseNetwork}'s
 * {@link DenseNetwork.WeightFormat#BFLOAT16} networks: the rounded weights, the float32 biases, the refused overflow,
 * the block's size and the way back to float32.
 */
class Bfloat16Test
{
    private static float bf16(final float value)
    {
        return Bfloat16.widen(Bfloat16.round(value));
    }

    private static float bits(final int bits)
    {
        return Float.intBitsToFloat(bits);
    }

    @Test
    void shouldRoundTiesToEven()
    {
        final float ulp = 0x1p-7f; // of bf16 in [1, 2)
        assertEquals(1.0f, bf16(1.0f + ulp / 2)); // a tie: 1 is even
        assertEquals(1.0f + 2 * ulp, bf16(1.0f + 1.5f * ulp)); // a tie: 1 + ulp is odd, 1 + 2 ulp even
        assertEquals(1.0f + ulp, bf16(Math.nextUp(1.0f + ulp / 2))); // past the tie
        assertEquals(1.0f, bf16(Math.nextDown(1.0f + ulp / 2)));
        assertEquals(-1.0f - 2 * ulp, bf16(-1.0f - 1.5f * ulp)); // the sign does not matter
        assertEquals(2.0f, bf16(2.0f - ulp / 4)); // a carry into the exponent
        assertEquals(-0.0f, bf16(-0.0f));
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(bf16(-0.0f)));
    }

    @Test
    void shouldRoundSubnormalsToNearestEven()
    {
        assertEquals(0.0f, bf16(bits(0x0000_0001))); // far below half of bf16's smallest subnormal (2^-133)
        assertEquals(0.0f, bf16(bits(0x0000_8000))); // a tie with 0: even
        assertEquals(bits(0x0001_0000), bf16(bits(0x0000_8001)));
        assertEquals(bits(0x0002_0000), bf16(bits(0x0001_8000))); // a tie: up to the even one
        assertEquals(bits(0x0080_0000), bf16(bits(0x007F_FFFF))); // the largest subnormal rounds to the smallest normal
        assertEquals(bits(0x8001_0000), bf16(bits(0x8000_8001)));
    }

    @Test
    void shouldKeepInfinitiesAndNaNs()
    {
        assertEquals(Float.POSITIVE_INFINITY, bf16(Float.POSITIVE_INFINITY));
        assertEquals(Float.NEGATIVE_INFINITY, bf16(Float.NEGATIVE_INFINITY));
        assertEquals(bits(0x7F7F_0000), bf16(bits(0x7F7F_7FFF))); // the largest bf16, 3.3895e38
        assertEquals(Float.POSITIVE_INFINITY, bf16(bits(0x7F7F_8000))); // a tie: the even neighbour is infinity
        assertEquals(Float.NEGATIVE_INFINITY, bf16(-Float.MAX_VALUE));
        for (final int nan : new int[] {0x7FC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7FBF_FFFF, 0xFFC0_1234})
        {
            final short rounded = Bfloat16.round(bits(nan));
            assertTrue(Float.isNaN(Bfloat16.widen(rounded)), Integer.toHexString(nan));
            assertEquals(0x0040, rounded & 0x0040, "quiet: " + Integer.toHexString(nan));
            assertEquals(nan < 0, rounded < 0, "sign: " + Integer.toHexString(nan));
        }
    }

    /** A bf16's value for the rounding rule: IEEE 754 rounds to infinity as if it were 2^128, the next exponent. */
    private static double value(final short half)
    {
        final float f = Bfloat16.widen(half);
        return Float.isInfinite(f) ? Math.signum(f) * 0x1p128 : f;
    }

    /** The definition, in double: no bf16 is nearer, and of two as near the even one wins. */
    @Test
    void shouldRoundEveryFloatToTheNearestBf16()
    {
        final Random random = new Random(5);
        for (int k = 0; k < 1_000_000; k++)
        {
            final float f = bits(random.nextInt());
            if (!Float.isFinite(f))
            {
                continue;
            }
            final short r = Bfloat16.round(f);
            final double error = Math.abs(value(r) - f);
            for (final int neighbour : new int[] {r - 1, r + 1})
            {
                final float other = Bfloat16.widen((short)neighbour);
                if (Float.isNaN(other) || Math.signum(other) * Math.signum(f) < 0)
                {
                    continue;
                }
                final double otherError = Math.abs(value((short)neighbour) - f);
                assertTrue(error < otherError || (error == otherError && (r & 1) == 0),
                    () -> f + " rounds to " + Bfloat16.widen(r) + " but " + other + " is nearer or as near and even");
            }
            if (Float.isFinite(Bfloat16.widen(r)))
            {
                // bf16 has 8 significant bits: its unit roundoff is 2^-8 (subnormals: half the smallest, 2^-134)
                assertTrue(error <= Math.abs((double)f) * 0x1p-8 + 0x1p-134, () -> f + ": relative error over 2^-8");
            }
        }
    }

    @Test
    void shouldHoldRoundedWeightsAndFloatBiases()
    {
        final DenseNetwork network = DenseNetwork.builder(3)
            .layer(new float[] {0.1f, -0.2f, 1.0f + 0x1p-8f, 3e-39f, Float.NaN, 7.0f}, new float[] {0.3f, 1e-7f},
                Activation.RELU)
            .layer(new float[] {-1.5f, 2.5f, 0.0f, Float.NEGATIVE_INFINITY}, new float[] {0.1f, 0.2f},
                Activation.IDENTITY)
            .build();
        final DenseNetwork half = network.toWeightFormat(DenseNetwork.WeightFormat.BFLOAT16);
        assertEquals(DenseNetwork.WeightFormat.BFLOAT16, half.weightFormat());
        assertEquals(DenseNetwork.WeightFormat.FLOAT32, network.weightFormat());
        assertSame(half, half.toWeightFormat(DenseNetwork.WeightFormat.BFLOAT16));
        assertEquals(network.parameterCount(), half.parameterCount());
        assertEquals(network.toString().replace("]", ", bf16 weights]"), half.toString());
        // 6 weights (12 bytes), 2 biases (8), 4 weights (8), 2 biases (8)
        assertEquals(36, half.parameterBytes());
        assertEquals(4 * 14, network.parameterBytes());
        for (int l = 0; l < network.layers(); l++)
        {
            final FloatBuffer original = network.weight(l);
            final FloatBuffer rounded = half.weight(l);
            assertTrue(rounded.isReadOnly());
            assertEquals(original.remaining(), rounded.remaining());
            for (int i = 0; i < original.remaining(); i++)
            {
                assertEquals(bf16(original.get(i)), rounded.get(i), "W" + l + "[" + i + "]");
            }
            assertEquals(network.bias(l), half.bias(l)); // float32, bit for bit
            assertTrue(half.bias(l).isReadOnly());
        }
        assertEquals(1.0f, half.weight(0).get(2)); // a tie, to even
        assertTrue(Float.isNaN(half.weight(0).get(4)));
        assertEquals(Float.NEGATIVE_INFINITY, half.weight(1).get(3));

        final DenseNetwork widened = half.toWeightFormat(DenseNetwork.WeightFormat.FLOAT32);
        assertNotSame(network, widened);
        assertEquals(DenseNetwork.WeightFormat.FLOAT32, widened.weightFormat());
        assertEquals(network.parameterBytes(), widened.parameterBytes());
        for (int l = 0; l < network.layers(); l++)
        {
            assertEquals(half.weight(l), widened.weight(l));
            assertEquals(half.bias(l), widened.bias(l));
        }
    }

    @Test
    void shouldRefuseAWeightThatRoundsToInfinity()
    {
        final float[] w = new float[] {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 3.4e38f};
        final DenseNetwork network = DenseNetwork.builder(2)
            .layer(new float[] {1.0f, 1.0f}, new float[] {0.0f}, Activation.RELU)
            .layer(new float[] {1.0f}, new float[] {0.0f}, Activation.RELU)
            .layer(w, new float[6], Activation.IDENTITY)
            .build();
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> network.toWeightFormat(DenseNetwork.WeightFormat.BFLOAT16));
        assertTrue(e.getMessage().startsWith("layer 2: weight 5 (3.4E38) is too large for bfloat16"),
            e.getMessage());
    }
}
