package dev.refocus.benchmarks;

import dev.refocus.DenseNetwork;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each row measures what its name says, on a network of the format its parameter names. */
class Bf16BenchmarkTest
{
    @Test
    void shouldTimeWhatTheNamesSay()
    {
        float[] float32Logits = null;
        for (final DenseNetwork.WeightFormat weights : DenseNetwork.WeightFormat.values())
        {
            final Bf16Benchmark b = new Bf16Benchmark();
            b.model = "M";
            b.weights = weights;
            b.setUp();
            try
            {
                assertEquals(weights, b.predictor.network().weightFormat());
                b.plainForward();
                assertFalse(b.out.adapted());
                if (float32Logits == null)
                {
                    float32Logits = b.out.logits().clone();
                }
                else
                {
                    assertNotEquals(float32Logits[0], b.out.logit(0)); // another model: the rounded one
                    assertEquals(float32Logits[0], b.out.logit(0), 1e-2f * (1 + Math.abs(float32Logits[0])));
                }
                b.uncertainImplicit();
                assertTrue(b.out.adapted());
                b.certainBatch64();
                for (int i = 0; i < Bf16Benchmark.BATCH; i++)
                {
                    assertFalse(b.outs[i].adapted(), "sample " + i);
                }
                b.uncertainBatch64();
                for (int i = 0; i < Bf16Benchmark.BATCH; i++)
                {
                    assertTrue(b.outs[i].adapted(), "sample " + i);
                }
            }
            finally
            {
                b.tearDown();
            }
        }
    }
}
