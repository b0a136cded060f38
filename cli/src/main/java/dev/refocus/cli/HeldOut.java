package dev.refocus.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Tune's honest report: the setting (method, d, &eta;) is selected on one part of the labelled samples and reported
 * on another, never on the same samples. With a held-out split, the part held out reports on the setting the
 * rest selected. With k-fold cross-validation, each fold reports on the setting the other folds selected, and the
 * folds' counts are pooled: every sample reports exactly once, on a setting it did not help select; the pooled
 * result is that of selecting this way, and the setting to run is then selected on all samples.
 *
 * <p>The report on the held-out samples: accuracy change on all and on the uncertain ones, fixed and broken answers,
 * McNemar's exact p-value and the exact interval of the change ({@link Stats}), and a verdict at 5 %.
 */
final class HeldOut
{
    /** The level of the test and of the intervals (95 %). */
    static final double ALPHA = 0.05;

    /** What to do, from the held-out test at 5 %. */
    enum Verdict
    {
        GAIN("significant gain: switch on with this file"),
        NO_GAIN("no significant gain at 5 %: keep refocus off"),
        LOSS("significant loss at 5 %: keep refocus off");

        private final String text;

        Verdict(final String text)
        {
            this.text = text;
        }

        /** @return whether refocus should run (answer with the adapted predictions). */
        boolean switchOn()
        {
            return this == GAIN;
        }

        @Override
        public String toString()
        {
            return text;
        }
    }

    /**
     * Counts on the held-out samples, pooled over folds.
     *
     * @param samples               held-out samples.
     * @param adapted               of them, uncertain (adapted) under the setting that reports on them.
     * @param correctPlain          right without refocus.
     * @param correctRefocus        right with refocus.
     * @param fixed                 wrong to right.
     * @param broken                right to wrong.
     * @param changed               answers changed.
     */
    record Tally(int samples, int adapted, int correctPlain, int correctRefocus, int fixed, int broken, int changed)
    {
        static Tally of(final Tune.Row r)
        {
            return new Tally(r.samples(), r.adapted(), r.correctPlain(), r.correctRefocus(), r.wrongToRight(),
                r.rightToWrong(), r.changed());
        }

        Tally plus(final Tally o)
        {
            return new Tally(samples + o.samples, adapted + o.adapted, correctPlain + o.correctPlain,
                correctRefocus + o.correctRefocus, fixed + o.fixed, broken + o.broken, changed + o.changed);
        }

        /** @return the accuracy change on all held-out samples, in percentage points. */
        double deltaAcc()
        {
            return samples == 0 ? 0.0 : 100.0 * (fixed - broken) / samples;
        }

        /** @return the accuracy change on the uncertain held-out samples, in percentage points. */
        double deltaAccUncertain()
        {
            return adapted == 0 ? 0.0 : 100.0 * (fixed - broken) / adapted;
        }
    }

    /**
     * @param split             how the samples were split, in words (kind, share or folds, seed, sizes).
     * @param seed              the split's seed.
     * @param folds             0 for a held-out split, else the number of folds.
     * @param selected          the setting to run: selected on the tuning part (held-out split) or on all samples
     *                          (k-fold), with its counts there.
     * @param selectedOnAll     the selected setting counted on every labelled sample (for the band).
     * @param foldChoices       k-fold: the setting each fold's other folds selected, counted on those; else empty.
     * @param tuningRows        every setting counted on the samples that selected {@code selected}.
     * @param heldOutRows       held-out split: every setting counted on the held-out part (for the plot); else
     *                          null.
     * @param tally             the held-out counts of the selected setting(s).
     * @param p                 McNemar's exact p-value on them.
     * @param intervalAll       the 95 % interval of the accuracy change on all held-out samples, in pp.
     * @param intervalUncertain the same on the uncertain held-out samples, in pp.
     * @param verdict           what to do.
     */
    record Report(String split, long seed, int folds, Tune.Row selected, Tune.Row selectedOnAll,
        List<Tune.Row> foldChoices,
        List<Tune.Row> tuningRows, List<Tune.Row> heldOutRows, Tally tally, double p, double[] intervalAll,
        double[] intervalUncertain, Verdict verdict)
    {
        /** @return the interval's kind, in words, for the output. */
        static String intervalKind()
        {
            return "exact: Clopper-Pearson on the discordant pairs, conditional on their number";
        }
    }

    private HeldOut()
    {
    }

    /**
     * Selects on a stratified part of the samples and reports on the rest.
     *
     * @param o        the sweep's outcomes on every sample.
     * @param fraction the share held out, in (0, 1).
     * @param seed     the split's seed.
     * @return the report.
     */
    static Report holdout(final Tune.Outcomes o, final double fraction, final long seed)
    {
        final Split.Fold fold = Split.holdout(o.labels(), fraction, seed);
        final List<Tune.Row> tuning = Tune.rows(o, fold.tuning());
        final List<Tune.Row> heldOut = Tune.rows(o, fold.heldOut());
        final Tune.Row selected = Tune.best(tuning);
        final String split = String.format(Locale.ROOT, "stratified held-out split: %d samples select, %d held out "
            + "(share %s), seed %d", fold.tuning().length, fold.heldOut().length, fraction, seed);
        return report(split, seed, 0, selected, Tune.find(Tune.rows(o, o.all()), selected), List.of(), tuning,
            heldOut, Tally.of(Tune.find(heldOut, selected)));
    }

    /**
     * Cross-validates the selection: each fold reports on the setting the other folds select.
     *
     * @param o    the sweep's outcomes on every sample.
     * @param k    the number of folds.
     * @param seed the split's seed.
     * @return the report, pooled over the folds; the setting to run is selected on all samples.
     */
    static Report kFold(final Tune.Outcomes o, final int k, final long seed)
    {
        final List<Split.Fold> folds = Split.kFold(o.labels(), k, seed);
        final List<Tune.Row> choices = new ArrayList<>();
        Tally tally = new Tally(0, 0, 0, 0, 0, 0, 0);
        for (final Split.Fold fold : folds)
        {
            final Tune.Row choice = Tune.best(Tune.rows(o, fold.tuning()));
            choices.add(choice);
            tally = tally.plus(Tally.of(Tune.find(Tune.rows(o, fold.heldOut()), choice)));
        }
        final List<Tune.Row> all = Tune.rows(o, o.all());
        final String split = String.format(Locale.ROOT, "stratified %d-fold cross-validation of %d samples, seed %d",
            k, o.labels().length, seed);
        final Tune.Row selected = Tune.best(all);
        return report(split, seed, k, selected, selected, choices, all, null, tally);
    }

    private static Report report(final String split, final long seed, final int folds, final Tune.Row selected,
        final Tune.Row selectedOnAll, final List<Tune.Row> choices, final List<Tune.Row> tuning, final List<Tune.Row> heldOut, final Tally t)
    {
        final double p = Stats.mcNemar(t.fixed(), t.broken());
        final double[] all = percent(Stats.deltaInterval(t.fixed(), t.broken(), Math.max(1, t.samples()), ALPHA));
        final double[] uncertain = percent(Stats.deltaInterval(t.fixed(), t.broken(), Math.max(1, t.adapted()),
            ALPHA));
        final Verdict verdict = p >= ALPHA ? Verdict.NO_GAIN : t.fixed() > t.broken() ? Verdict.GAIN : Verdict.LOSS;
        return new Report(split, seed, folds, selected, selectedOnAll, choices, tuning, heldOut, t, p, all, uncertain,
            verdict);
    }

    private static double[] percent(final double[] interval)
    {
        return new double[] {100 * interval[0], 100 * interval[1]};
    }
}
