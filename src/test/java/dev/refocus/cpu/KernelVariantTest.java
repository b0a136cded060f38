package dev.refocus.cpu;

import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The name of the kernels' SIMD variant crosses the binding (the variants themselves are tested by ctest, each
 * one this CPU can execute: native/test/test_kernels.cpp).
 */
class KernelVariantTest
{
    @Test
    void shouldNameOneOfTheThreeVariants()
    {
        final String variant = NativePredictor.kernelVariant();
        assertTrue(Set.of("x86-64-v4 (AVX-512)", "x86-64-v3 (AVX2+FMA)", "x86-64 baseline").contains(variant), variant);
    }
}
