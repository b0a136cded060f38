package dev.refocus.benchmarks;

import java.util.Arrays;

/**
 * The samples a batch-1 benchmark row takes in turn: 256 distinct inputs of {@link BenchmarkModels#inputs}, the
 * first 64 of which are the batch rows' batch. One input called over and over lets the CPU's branch predictor
 * learn its path (which ReLU units are on, which rows the backward pass skips), which no serving program sees:
 * on model S an uncertain sample took 2.55 &micro;s on one sample and 2.94 on samples that vary (bench_kernels).
 *
 * <p><b>Note:</b> not thread-safe; one per benchmark state (JMH's {@code Scope.Thread}).
 */
final class SampleCycle
{
    static final int SAMPLES = 256; // a power of two: the next index is a mask

    private final float[][] samples = new float[SAMPLES][];
    private int next;

    /** @param model S, M or L. */
    SampleCycle(final String model)
    {
        final int in = BenchmarkModels.sizes(model)[0];
        final float[] all = BenchmarkModels.inputs(model, SAMPLES);
        for (int i = 0; i < SAMPLES; i++)
        {
            samples[i] = Arrays.copyOfRange(all, i * in, (i + 1) * in);
        }
    }

    /** @return sample {@code i} (0 to 255); its array must not be written. */
    float[] sample(final int i)
    {
        return samples[i];
    }

    /** @return the index of the next sample (0 to 255, then 0 again), for rows that keep their own copies. */
    int nextIndex()
    {
        return next++ & (SAMPLES - 1);
    }

    /** @return the next sample, allocation-free; its array must not be written. */
    float[] next()
    {
        return samples[nextIndex()];
    }

    /** For tests that compare rows on one sample: the next sample is sample 0 again. */
    void restart()
    {
        next = 0;
    }
}
