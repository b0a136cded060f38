package dev.refocus.benchmarks;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The parallel rows time what their names say, and two threads answer as one. */
class ParallelBatchBenchmarkTest
{
    @Test
    void shouldTimeWhatTheNamesSay()
    {
        final float[][] logits = new float[2][];
        for (final int threads : new int[] {1, 2})
        {
            final ParallelBatchBenchmark b = new ParallelBatchBenchmark();
            b.model = "M";
            b.threads = threads;
            b.setUp();
            try
            {
                b.certainBatch64();
                for (int i = 0; i < ParallelBatchBenchmark.BATCH; i++)
                {
                    assertFalse(b.outs[i].adapted(), "sample " + i);
                }
                b.uncertainBatch64();
                for (int i = 0; i < ParallelBatchBenchmark.BATCH; i++)
                {
                    assertTrue(b.outs[i].adapted(), "sample " + i);
                }
                logits[threads - 1] = b.outs[ParallelBatchBenchmark.BATCH - 1].logits().clone();
            }
            finally
            {
                b.tearDown();
            }
        }
        assertArrayEquals(logits[0], logits[1]); // the last sample is in the worker's share
    }
}
