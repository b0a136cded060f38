package dev.refocus.cli;

import dev.refocus.Band;
import dev.refocus.RefocusConfig;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The configuration file tune writes, so that what was tuned is what runs: the selected setting as
 * {@link RefocusConfig}'s text form, one entry per line ({@code RefocusConfig.load}, {@code predict --config},
 * {@code bench --config} read it), comment lines that say the verdict, and an {@code [evidence]} section that
 * {@code RefocusConfig} skips: the data, the split, the held-out result and its statistics.
 *
 * <p>Unless the verdict is a significant gain the file says {@code observeOnly=true}: a predictor made from it
 * answers as with refocus off and counts what refocus would have done. The band (when asked for) comes from every
 * labelled sample under the selected setting: for the share of samples that adapted and the share whose answer
 * changed, the 95 % Clopper-Pearson interval of the tuned rate, widened to the counts a window of W samples stays
 * within with probability 99.9 % at each end of it (the 0.05 % binomial quantile at the lower end, the 99.95 % one
 * at the upper): on data like the tuning data, a window leaves the band by chance less than once in a thousand.
 */
final class TunedConfig
{
    /** How often a window of data like the tuning data leaves the band by chance, at most, per side. */
    private static final double BAND_TAIL = 0.0005;

    private TunedConfig()
    {
    }

    /**
     * @param report       the held-out report.
     * @param step         the step options tune ran with (n_f, T, clip, subset, candidates).
     * @param bandWindow   the band's window, or 0 for no band.
     * @return the configuration to run: the selected setting, observe-only unless the verdict is a gain, and the
     * band.
     */
    static RefocusConfig config(final HeldOut.Report report, final Options.Step step, final int bandWindow)
    {
        final Tune.Row s = report.selected();
        final RefocusConfig.Builder b = step.config(s.method(), s.eta(), s.threshold()).toBuilder()
            .observeOnly(!report.verdict().switchOn());
        if (bandWindow > 0)
        {
            b.band(band(report.selectedOnAll(), bandWindow));
        }
        return b.build();
    }

    /** @return the band of a window for the rates of the selected setting on every labelled sample. */
    static Band band(final Tune.Row all, final int window)
    {
        final double[] adapted = Stats.clopperPearson(all.adapted(), all.samples(), HeldOut.ALPHA);
        final double[] changed = Stats.clopperPearson(all.changed(), all.samples(), HeldOut.ALPHA);
        return Band.of(window,
            (double)Stats.binomialQuantile(window, adapted[0], BAND_TAIL) / window,
            (double)Stats.binomialQuantile(window, adapted[1], 1 - BAND_TAIL) / window,
            (double)Stats.binomialQuantile(window, changed[0], BAND_TAIL) / window,
            (double)Stats.binomialQuantile(window, changed[1], 1 - BAND_TAIL) / window);
    }

    /**
     * @param config   what {@link #config} made.
     * @param report   the held-out report.
     * @param sources  the model, inputs and labels files, for the evidence.
     * @param now      when tune ran.
     * @return the file's text.
     */
    static String text(final RefocusConfig config, final HeldOut.Report report, final List<String> sources,
        final Instant now)
    {
        final StringBuilder s = new StringBuilder();
        s.append("# refocus configuration, written by refocus tune on ").append(now.truncatedTo(ChronoUnit.SECONDS))
            .append('\n');
        s.append("# read by RefocusConfig.load(path), refocus predict --config and refocus bench --config\n");
        s.append("# verdict: ").append(report.verdict()).append('\n');
        if (config.observeOnly())
        {
            s.append("# observeOnly=true: predictors answer as with refocus off and count what refocus would do;\n");
            s.append("# remove it to switch refocus on against this evidence\n");
        }
        // the text form, one entry per line: its entries are separated by ", " and no value holds one
        s.append(config.toString().replace(", ", "\n")).append('\n');
        s.append('\n');
        s.append("[evidence]\n");
        for (final String line : evidence(report, sources))
        {
            s.append(line).append('\n');
        }
        return s.toString();
    }

    private static List<String> evidence(final HeldOut.Report r, final List<String> sources)
    {
        final HeldOut.Tally t = r.tally();
        final Tune.Row all = r.selectedOnAll();
        final List<String> lines = new ArrayList<>();
        lines.add("model=" + sources.get(0));
        lines.add("inputs=" + sources.get(1));
        lines.add("labels=" + sources.get(2));
        lines.add("samples=" + all.samples());
        lines.add("split=" + r.split());
        lines.add("seed=" + r.seed());
        for (int f = 0; f < r.foldChoices().size(); f++)
        {
            final Tune.Row c = r.foldChoices().get(f);
            lines.add("fold" + (f + 1) + "=" + c.method() + " d=" + c.threshold() + " eta=" + c.eta());
        }
        lines.add("heldOutSamples=" + t.samples());
        lines.add("heldOutUncertain=" + t.adapted());
        lines.add(String.format(Locale.ROOT, "heldOutAccuracy=%.4f -> %.4f", (double)t.correctPlain() / t.samples(),
            (double)t.correctRefocus() / t.samples()));
        lines.add(String.format(Locale.ROOT, "deltaAccPp=%+.3f [%+.3f, %+.3f]", t.deltaAcc(), r.intervalAll()[0],
            r.intervalAll()[1]));
        lines.add(String.format(Locale.ROOT, "deltaAccUncertainPp=%+.3f [%+.3f, %+.3f]", t.deltaAccUncertain(),
            r.intervalUncertain()[0], r.intervalUncertain()[1]));
        lines.add("wrongToRight=" + t.fixed());
        lines.add("rightToWrong=" + t.broken());
        lines.add(String.format(Locale.ROOT, "mcNemarP=%.6g", r.p()));
        lines.add("interval=95 %, " + HeldOut.Report.intervalKind());
        lines.add("verdict=" + r.verdict());
        lines.add(String.format(Locale.ROOT, "allSamples=%d adapted (%.2f %%), %d answers changed (%.2f %%)",
            all.adapted(), 100.0 * all.adapted() / all.samples(), all.changed(), 100.0 * all.changed() / all.samples()));
        return lines;
    }

    /**
     * @param text a configuration file's text.
     * @return its verdict line from the evidence, or null when it has none (a file not written by tune).
     */
    static String verdict(final String text)
    {
        boolean evidence = false;
        for (final String line : text.split("\\R"))
        {
            final String l = line.strip();
            evidence |= l.equals("[evidence]");
            if (evidence && l.startsWith("verdict="))
            {
                return l.substring("verdict=".length());
            }
        }
        return null;
    }
}
