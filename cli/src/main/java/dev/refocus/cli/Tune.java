package dev.refocus.cli;

import dev.refocus.Method;
import dev.refocus.Prediction;
import dev.refocus.Predictor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * The tuning sweep: for each method, every sample is predicted once per learning rate of the grid (with one
 * gradient per uncertain sample where the backend can), at the largest margin threshold asked for; each smaller
 * threshold is the same sweep restricted to the samples whose margin is below it.
 */
final class Tune
{
    /** One setting's outcome on the whole dataset. */
    record Row(Method method, float threshold, float eta, int samples, int adapted, int correctPlain,
        int correctRefocus, int correctPlainAdapted, int correctRefocusAdapted, int rightToWrong, int wrongToRight)
    {
        double accuracyPlain()
        {
            return (double)correctPlain / samples;
        }

        double accuracyRefocus()
        {
            return (double)correctRefocus / samples;
        }

        /** @return the paper's &Delta;Acc: the accuracy change on the adapted samples, in percentage points. */
        double deltaAccUncertain()
        {
            return adapted == 0 ? 0.0 : 100.0 * (correctRefocusAdapted - correctPlainAdapted) / adapted;
        }

        double adaptedShare()
        {
            return (double)adapted / samples;
        }
    }

    /** Makes the predictor of one method (closed by the sweep). */
    interface PredictorFactory
    {
        Predictor create(Method method);
    }

    private Tune()
    {
    }

    /**
     * @param factory    a predictor per method.
     * @param methods    the methods to sweep.
     * @param etas       the learning-rate grid.
     * @param thresholds the margin thresholds d.
     * @param inputs     the samples.
     * @param labels     their classes.
     * @param progress   told the number of samples done after each sample (for a progress bar).
     * @return one row per method, threshold and rate, in that order.
     * @throws DataFiles.NonFiniteLogits if the model's logits for a sample are NaN.
     */
    static List<Row> sweep(final PredictorFactory factory, final List<Method> methods, final float[] etas,
        final float[] thresholds, final float[][] inputs, final int[] labels, final IntConsumer progress)
    {
        float maxThreshold = 0.0f;
        for (final float d : thresholds)
        {
            maxThreshold = Math.max(maxThreshold, d);
        }
        final List<Row> rows = new ArrayList<>();
        int done = 0;
        for (final Method method : methods)
        {
            // counts over the samples: per threshold, and per threshold and rate
            final int[] adapted = new int[thresholds.length];
            final int[] correctPlainAdapted = new int[thresholds.length];
            final int[][] correctRefocus = new int[thresholds.length][etas.length];
            final int[][] correctRefocusAdapted = new int[thresholds.length][etas.length];
            final int[][] rightToWrong = new int[thresholds.length][etas.length];
            final int[][] wrongToRight = new int[thresholds.length][etas.length];
            int correctPlain = 0;
            try (Predictor predictor = factory.create(method))
            {
                final Prediction out = predictor.newPrediction();
                final int[] finals = new int[etas.length];
                for (int i = 0; i < inputs.length; i++)
                {
                    try
                    {
                        predictor.sweep(inputs[i], etas, maxThreshold, out, finals);
                    }
                    catch (final ArithmeticException e)
                    {
                        throw new DataFiles.NonFiniteLogits(i, e);
                    }
                    final boolean before = out.initialClass() == labels[i];
                    correctPlain += before ? 1 : 0;
                    for (int t = 0; t < thresholds.length; t++)
                    {
                        final boolean adapts = out.adapted() && out.margin() < thresholds[t];
                        adapted[t] += adapts ? 1 : 0;
                        correctPlainAdapted[t] += adapts && before ? 1 : 0;
                        for (int k = 0; k < etas.length; k++)
                        {
                            final boolean after = (adapts ? finals[k] : out.initialClass()) == labels[i];
                            correctRefocus[t][k] += after ? 1 : 0;
                            correctRefocusAdapted[t][k] += adapts && after ? 1 : 0;
                            rightToWrong[t][k] += before && !after ? 1 : 0;
                            wrongToRight[t][k] += !before && after ? 1 : 0;
                        }
                    }
                    progress.accept(++done);
                }
            }
            for (int t = 0; t < thresholds.length; t++)
            {
                for (int k = 0; k < etas.length; k++)
                {
                    rows.add(new Row(method, thresholds[t], etas[k], inputs.length, adapted[t], correctPlain,
                        correctRefocus[t][k], correctPlainAdapted[t], correctRefocusAdapted[t][k],
                        rightToWrong[t][k], wrongToRight[t][k]));
                }
            }
        }
        return rows;
    }

    /** @return the row with the best accuracy with refocus (ties: fewer answers changed, then the smaller rate). */
    static Row best(final List<Row> rows)
    {
        Row best = rows.get(0);
        for (final Row r : rows)
        {
            final int changed = r.rightToWrong() + r.wrongToRight();
            final int bestChanged = best.rightToWrong() + best.wrongToRight();
            if (r.correctRefocus() > best.correctRefocus()
                || (r.correctRefocus() == best.correctRefocus() && changed < bestChanged))
            {
                best = r;
            }
        }
        return best;
    }

    /** @return the paper's grid: 5e-6 * 2^k for k = 0 .. n - 1. */
    static float[] paperGrid(final int n)
    {
        final float[] etas = new float[n];
        for (int k = 0; k < n; k++)
        {
            etas[k] = (float)(5e-6 * Math.pow(2, k));
        }
        return etas;
    }
}
