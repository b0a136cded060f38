package dev.refocus.example;

import dev.refocus.Prediction;
import dev.refocus.Predictor;

import java.util.Arrays;

/** Accuracy without and with refocus over a labelled dataset, and the latency of each call. */
final class Evaluation
{
    int samples;
    int correctPlain;
    int correctRefocus;
    int adapted;
    int correctPlainAdapted;
    int correctRefocusAdapted;
    int rightToWrong;
    int wrongToRight;
    private final long[] certainNanos;
    private final long[] uncertainNanos;
    private int certainCount;
    private int uncertainCount;

    private Evaluation(final int capacity)
    {
        certainNanos = new long[capacity];
        uncertainNanos = new long[capacity];
    }

    /** Predicts every sample once with {@code predictor}, timing each call. */
    static Evaluation run(final Predictor predictor, final float[][] inputs, final int[] labels)
    {
        final Evaluation e = new Evaluation(inputs.length);
        final Prediction out = predictor.newPrediction();
        for (int i = 0; i < inputs.length; i++)
        {
            final long start = System.nanoTime();
            predictor.predict(inputs[i], out);
            final long nanos = System.nanoTime() - start;
            e.add(out, labels[i], nanos);
        }
        return e;
    }

    private void add(final Prediction out, final int label, final long nanos)
    {
        final boolean before = out.initialClass() == label;
        final boolean after = out.finalClass() == label;
        samples++;
        correctPlain += before ? 1 : 0;
        correctRefocus += after ? 1 : 0;
        rightToWrong += before && !after ? 1 : 0;
        wrongToRight += !before && after ? 1 : 0;
        if (out.adapted())
        {
            adapted++;
            correctPlainAdapted += before ? 1 : 0;
            correctRefocusAdapted += after ? 1 : 0;
            uncertainNanos[uncertainCount++] = nanos;
        }
        else
        {
            certainNanos[certainCount++] = nanos;
        }
    }

    double accuracyPlain()
    {
        return (double)correctPlain / samples;
    }

    double accuracyRefocus()
    {
        return (double)correctRefocus / samples;
    }

    /** @return the paper's &Delta;Acc: accuracy change on the uncertain (adapted) samples, in percentage points. */
    double deltaOnUncertain()
    {
        return adapted == 0 ? 0.0 : 100.0 * (correctRefocusAdapted - correctPlainAdapted) / adapted;
    }

    /** @param q quantile in [0, 1]. @return the latency of certain samples at that quantile, in microseconds. */
    double certainMicros(final double q)
    {
        return quantile(certainNanos, certainCount, q);
    }

    /** @param q quantile in [0, 1]. @return the latency of uncertain samples at that quantile, in microseconds. */
    double uncertainMicros(final double q)
    {
        return quantile(uncertainNanos, uncertainCount, q);
    }

    private static double quantile(final long[] nanos, final int count, final double q)
    {
        if (count == 0)
        {
            return Double.NaN;
        }
        final long[] sorted = Arrays.copyOf(nanos, count);
        Arrays.sort(sorted);
        return sorted[(int)Math.min(count - 1, Math.floor(q * count))] / 1000.0;
    }
}
