package dev.refocus.benchmarks;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The libtorch benchmarks time what their names say, on the same network as the native ones. */
class TorchBenchmarkTest
{
    @ParameterizedTest
    @ValueSource(strings = {"S", "M"})
    void shouldTimeWhatTheNamesSay(final String model) throws IOException
    {
        final TorchBenchmark b = new TorchBenchmark();
        b.model = model;
        b.setUp();
        try
        {
            // every row on sample 0: each call takes the next sample
            final int plain = b.torchPlainForward();
            b.samples.restart();
            b.nativePlainForward();
            assertEquals(plain, b.out.finalClass());
            assertArrayEquals(b.out.logits(), b.plainLogits, 1e-4f, "libtorch and native plain forward passes");
            b.samples.restart();
            b.torchCertain();
            assertFalse(b.out.adapted());
            assertEquals(plain, b.out.finalClass());

            b.samples.restart();
            b.nativeUncertain();
            assertTrue(b.out.adapted());
            final float[] expected = b.out.logits().clone();
            b.samples.restart();
            b.torchNoClone();
            assertTrue(b.out.adapted());
            assertArrayEquals(expected, b.out.logits(), 1e-4f, "no clone");
            b.samples.restart();
            b.torchClone();
            assertTrue(b.out.adapted());
            assertArrayEquals(expected, b.out.logits(), 1e-4f, "clone");
        }
        finally
        {
            b.tearDown();
        }
    }
}
