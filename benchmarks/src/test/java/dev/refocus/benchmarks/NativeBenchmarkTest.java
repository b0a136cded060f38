package dev.refocus.benchmarks;

import dev.refocus.DenseNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each benchmark measures what its name says: certain samples do not adapt, uncertain ones do, modes agree, the
 * network has the weight format its parameter names, and batch-1 calls take the samples in turn.
 */
class NativeBenchmarkTest
{
    @ParameterizedTest
    @CsvSource({"S, FLOAT32", "M, FLOAT32", "M, BFLOAT16"})
    void shouldTimeWhatTheNamesSay(final String model, final DenseNetwork.WeightFormat weights)
    {
        final NativeBenchmark b = new NativeBenchmark();
        b.model = model;
        b.weights = weights;
        b.setUp();
        try
        {
            assertEquals(weights, b.implicit.network().weightFormat());
            // each call takes the next sample: no branch predictor learns one sample's path
            b.plainForward();
            final float[] first = b.out.logits().clone();
            b.plainForward();
            assertFalse(Arrays.equals(first, b.out.logits()), "the second call's sample");

            // the rows compared below run on sample 0, the batch's first row
            b.samples.restart();
            b.plainForward();
            assertFalse(b.out.adapted());
            final int plain = b.out.finalClass();
            b.samples.restart();
            b.certain();
            assertFalse(b.out.adapted());
            assertEquals(plain, b.out.finalClass());

            b.samples.restart();
            b.uncertainImplicit();
            assertTrue(b.out.adapted());
            final float[] implicit = b.out.logits().clone();
            b.samples.restart();
            b.uncertainShadow();
            assertTrue(b.out.adapted());
            assertArrayEquals(implicit, b.out.logits(), 1e-4f);
            b.samples.restart();
            b.uncertainReference();
            assertTrue(b.out.adapted());
            assertArrayEquals(implicit, b.out.logits(), 1e-3f);

            b.certainBatch64();
            for (int i = 0; i < NativeBenchmark.BATCH; i++)
            {
                assertFalse(b.outs[i].adapted(), "sample " + i);
            }
            assertEquals(plain, b.outs[0].finalClass()); // the batch's first row is the single input

            b.uncertainBatch64();
            for (int i = 0; i < NativeBenchmark.BATCH; i++)
            {
                assertTrue(b.outs[i].adapted(), "sample " + i);
            }
            assertArrayEquals(implicit, b.outs[0].logits(), 1e-4f); // the batch's first row is the single input
        }
        finally
        {
            b.tearDown();
        }
    }
}
