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
    /**
     * One setting's outcome on a set of samples: how many, how many adapted, right before and after (on all and on
     * the adapted ones), right→wrong (broken), wrong→right (fixed), and answers changed (any change of class).
     */
    record Row(Method method, float threshold, float eta, int samples, int adapted, int correctPlain,
        int correctRefocus, int correctPlainAdapted, int correctRefocusAdapted, int rightToWrong, int wrongToRight,
        int changed)
    {
        /** @return the accuracy change on all samples, in percentage points. */
        double deltaAcc()
        {
            return samples == 0 ? 0.0 : 100.0 * (correctRefocus - correctPlain) / samples;
        }

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
     * What the sweep saw for one method, per sample, at the largest threshold: enough to count any setting of the
     * grid on any subset of the samples without predicting again.
     *
     * @param method   the method.
     * @param initial  each sample's plain answer.
     * @param margin   its margin.
     * @param adapted  whether it adapted at the largest threshold.
     * @param finals   {@code finals[i][k]}: its answer at rate k.
     */
    record MethodOutcomes(Method method, int[] initial, float[] margin, boolean[] adapted, int[][] finals)
    {
    }

    /**
     * The sweep's per-sample results for every method, and the grid and labels they belong to.
     *
     * @param methods    per method, in sweep order.
     * @param etas       the rate grid.
     * @param thresholds the thresholds d, in the order asked.
     * @param labels     the samples' classes.
     */
    record Outcomes(List<MethodOutcomes> methods, float[] etas, float[] thresholds, int[] labels)
    {
        /** @return every sample's index, for counting on all of them. */
        int[] all()
        {
            final int[] all = new int[labels.length];
            for (int i = 0; i < all.length; i++)
            {
                all[i] = i;
            }
            return all;
        }
    }

    /**
     * The sweep on every sample, counted on every sample: {@code rows(outcomes(...), all)}.
     *
     * @return one row per method, threshold and rate, in that order.
     * @throws DataFiles.NonFiniteLogits if the model's logits for a sample are NaN.
     */
    static List<Row> sweep(final PredictorFactory factory, final List<Method> methods, final float[] etas,
        final float[] thresholds, final float[][] inputs, final int[] labels, final IntConsumer progress)
    {
        final Outcomes o = outcomes(factory, methods, etas, thresholds, inputs, labels, progress);
        return rows(o, o.all());
    }

    /**
     * Predicts every sample once per method (one gradient per uncertain sample, every rate with forward passes where
     * the backend can) at the largest threshold, and keeps each sample's answers.
     *
     * @param factory    a predictor per method.
     * @param methods    the methods to sweep.
     * @param etas       the learning-rate grid.
     * @param thresholds the margin thresholds d.
     * @param inputs     the samples.
     * @param labels     their classes.
     * @param progress   told the number of samples done after each sample (for a progress bar).
     * @return the per-sample outcomes.
     * @throws DataFiles.NonFiniteLogits if the model's logits for a sample are NaN.
     */
    static Outcomes outcomes(final PredictorFactory factory, final List<Method> methods, final float[] etas,
        final float[] thresholds, final float[][] inputs, final int[] labels, final IntConsumer progress)
    {
        float maxThreshold = 0.0f;
        for (final float d : thresholds)
        {
            maxThreshold = Math.max(maxThreshold, d);
        }
        final List<MethodOutcomes> all = new ArrayList<>();
        int done = 0;
        for (final Method method : methods)
        {
            final int n = inputs.length;
            final MethodOutcomes m = new MethodOutcomes(method, new int[n], new float[n], new boolean[n],
                new int[n][etas.length]);
            try (Predictor predictor = factory.create(method))
            {
                final Prediction out = predictor.newPrediction();
                for (int i = 0; i < n; i++)
                {
                    try
                    {
                        predictor.sweep(inputs[i], etas, maxThreshold, out, m.finals()[i]);
                    }
                    catch (final ArithmeticException e)
                    {
                        throw new DataFiles.NonFiniteLogits(i, e);
                    }
                    m.initial()[i] = out.initialClass();
                    m.margin()[i] = out.margin();
                    m.adapted()[i] = out.adapted();
                    progress.accept(++done);
                }
            }
            all.add(m);
        }
        return new Outcomes(all, etas, thresholds, labels);
    }

    /**
     * Counts every setting of the sweep on some of the samples.
     *
     * @param o       the sweep's outcomes.
     * @param samples the indices of the samples to count, each once.
     * @return one row per method, threshold and rate, in that order.
     */
    static List<Row> rows(final Outcomes o, final int[] samples)
    {
        final float[] etas = o.etas();
        final float[] thresholds = o.thresholds();
        final int[] labels = o.labels();
        final List<Row> rows = new ArrayList<>();
        for (final MethodOutcomes m : o.methods())
        {
            // counts over the samples: per threshold, and per threshold and rate
            final int[] adapted = new int[thresholds.length];
            final int[] correctPlainAdapted = new int[thresholds.length];
            final int[][] correctRefocus = new int[thresholds.length][etas.length];
            final int[][] correctRefocusAdapted = new int[thresholds.length][etas.length];
            final int[][] rightToWrong = new int[thresholds.length][etas.length];
            final int[][] wrongToRight = new int[thresholds.length][etas.length];
            final int[][] changed = new int[thresholds.length][etas.length];
            int correctPlain = 0;
            for (final int i : samples)
            {
                final int initial = m.initial()[i];
                final boolean before = initial == labels[i];
                correctPlain += before ? 1 : 0;
                for (int t = 0; t < thresholds.length; t++)
                {
                    final boolean adapts = m.adapted()[i] && m.margin()[i] < thresholds[t];
                    adapted[t] += adapts ? 1 : 0;
                    correctPlainAdapted[t] += adapts && before ? 1 : 0;
                    for (int k = 0; k < etas.length; k++)
                    {
                        final int answer = adapts ? m.finals()[i][k] : initial;
                        final boolean after = answer == labels[i];
                        correctRefocus[t][k] += after ? 1 : 0;
                        correctRefocusAdapted[t][k] += adapts && after ? 1 : 0;
                        rightToWrong[t][k] += before && !after ? 1 : 0;
                        wrongToRight[t][k] += !before && after ? 1 : 0;
                        changed[t][k] += answer != initial ? 1 : 0;
                    }
                }
            }
            for (int t = 0; t < thresholds.length; t++)
            {
                for (int k = 0; k < etas.length; k++)
                {
                    rows.add(new Row(m.method(), thresholds[t], etas[k], samples.length, adapted[t], correctPlain,
                        correctRefocus[t][k], correctPlainAdapted[t], correctRefocusAdapted[t][k],
                        rightToWrong[t][k], wrongToRight[t][k], changed[t][k]));
                }
            }
        }
        return rows;
    }

    /** @return the row of the same setting (method, threshold, rate) as {@code setting}. */
    static Row find(final List<Row> rows, final Row setting)
    {
        for (final Row r : rows)
        {
            if (r.method() == setting.method() && r.threshold() == setting.threshold() && r.eta() == setting.eta())
            {
                return r;
            }
        }
        throw new IllegalArgumentException("no row for " + setting);
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
