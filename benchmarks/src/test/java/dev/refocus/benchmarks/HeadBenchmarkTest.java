package dev.refocus.benchmarks;

import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The three rows adapt the same sample to the same answer: the native head is the libtorch backend's step. */
class HeadBenchmarkTest
{
    @Test
    void shouldTimeTheSameStepThreeWays() throws IOException
    {
        final HeadBenchmark b = new HeadBenchmark();
        b.setUp();
        try
        {
            b.backboneForward();
            assertEquals(HeadBenchmark.FEATURES, b.features.classes());
            b.torchNoClone();
            assertTrue(b.out.adapted());
            final float[] torch = b.out.logits().clone();
            final int answer = b.out.finalClass();
            b.torchClone();
            assertTrue(b.out.adapted());
            assertArrayEquals(torch, b.out.logits(), 1e-4f, "clone and no clone");
            b.nativeHead();
            assertTrue(b.out.adapted());
            assertEquals(answer, b.out.finalClass());
            assertArrayEquals(torch, b.out.logits(), 1e-4f, "libtorch and the native head");
        }
        finally
        {
            b.tearDown();
        }
    }
}
