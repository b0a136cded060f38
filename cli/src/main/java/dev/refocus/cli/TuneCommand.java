package dev.refocus.cli;

import dev.refocus.Method;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code refocus tune}: which method, learning rate and threshold to use on this model and data. */
@Command(name = "tune", mixinStandardHelpOptions = true,
    description = {"Sweep learning rate, threshold and method on labelled data, as the paper does (Figures 6-8):",
        "one gradient per uncertain sample, re-predicted at every rate of the grid with forward passes only",
        "(exact for T = 1). Prints a table, writes it as JSON and plots ΔAcc against the rate per method."})
final class TuneCommand implements Callable<Integer>
{
    @Mixin
    Options.Model model;

    @Mixin
    Options.Step step;

    @Option(names = {"-i", "--inputs"}, required = true, paramLabel = "FILE",
        description = "samples: .npy float32 [N, features], .csv or gzipped idx3")
    Path inputs;

    @Option(names = {"-l", "--labels"}, required = true, paramLabel = "FILE",
        description = "their classes: .npy integers [N], .csv (one per line) or gzipped idx1")
    Path labels;

    @Option(names = "--methods", split = ",", paramLabel = "METHOD", defaultValue = "IFO_WEIGHTED,IFO,DOFO",
        description = "methods to compare (default ${DEFAULT-VALUE})")
    List<Method> methods;

    @Option(names = "--etas", split = ",", paramLabel = "ETA", converter = Values.Rate.class,
        description = "learning rates, each >= 0 (default: the paper's grid 5e-6 * 2^k, k = 0..19)")
    float[] etas;

    @Option(names = {"-d", "--thresholds"}, split = ",", paramLabel = "D", defaultValue = "0.16",
        converter = Values.Threshold.class,
        description = "margin thresholds d in [0, 1] to compare (default ${DEFAULT-VALUE})")
    float[] thresholds;

    @Option(names = "--json", paramLabel = "FILE", defaultValue = "tune.json",
        description = "the results as JSON (default ${DEFAULT-VALUE})")
    Path json;

    @Option(names = "--plot", paramLabel = "FILE", defaultValue = "tune.png",
        description = "ΔAcc against the learning rate, .png or .svg (default ${DEFAULT-VALUE})")
    Path plot;

    private static final double DEFAULT_HOLDOUT = 0.5;

    // (no picocli default: a --holdout given beside --folds is refused rather than silently ignored)
    @Option(names = "--holdout", paramLabel = "SHARE", converter = Values.Share.class,
        description = "share of the samples held out to report on, stratified by class, in (0, 1); the rest select "
            + "the setting (default " + DEFAULT_HOLDOUT + ")")
    Double holdout;

    @Option(names = "--folds", paramLabel = "K", converter = Values.Folds.class,
        description = "k-fold cross-validation instead of one held-out split: each fold reports on the setting the "
            + "other K-1 select, K >= 2; not with --holdout")
    Integer folds;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", converter = Values.Seed.class,
        description = "seed of the stratified split (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--config-out", paramLabel = "FILE", defaultValue = "refocus.conf",
        description = {"the selected setting as a configuration file for predict --config, bench --config and "
            + "RefocusConfig.load, with the verdict and the evidence (default ${DEFAULT-VALUE});",
            "observe-only unless the verdict is a significant gain"})
    Path configOut;

    @Option(names = "--band-window", paramLabel = "W", defaultValue = "1000", converter = Values.Window.class,
        description = "the configuration's band: windows of W predictions whose adapted share or changed-answer "
            + "rate leaves what tuning saw fall back to plain predictions; 0 = no band (default ${DEFAULT-VALUE})")
    int bandWindow;

    @Option(names = "--progress", negatable = true, description = "a progress bar on stderr (default: on a terminal)")
    Boolean progress;

    @Override
    public Integer call() throws IOException
    {
        checkOutputs();
        final Options.Loaded network = model.load();
        step.checkFits(network);
        final DataFiles.Inputs x = DataFiles.readInputs(inputs);
        final DataFiles.Labels y = DataFiles.readLabels(labels);
        DataFiles.checkFits(network.file(), network.inputSize(), network.classes(), x, y);
        final HeldOut.Report report;
        try
        {
            report = run(network, x.rows(), y.values(), System.out, System.err);
        }
        catch (final DataFiles.NonFiniteLogits e)
        {
            throw e.named(network.file(), x);
        }
        writeJson(report, json);
        writePlot(report, plot);
        writeConfig(report);
        System.out.println("wrote " + json + ", " + plot + " and " + configOut);
        return 0;
    }

    /** Checks the options and what the sweep will write before it runs: a sweep is too long to lose to a bad path. */
    void checkOutputs()
    {
        if (holdout != null && folds != null)
        {
            throw new UsageException("--holdout and --folds exclude each other: --holdout SHARE reports on one "
                + "held-out split, --folds K on every fold");
        }
        final String name = plot.getFileName() == null ? "" : plot.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!name.endsWith(".png") && !name.endsWith(".svg"))
        {
            throw new UsageException("--plot takes a .png or .svg file, got " + plot);
        }
        Options.requireWritable("--json", json);
        Options.requireWritable("--plot", plot);
        Options.requireWritable("--config-out", configOut);
    }

    /** Sweeps, selects on one part of the samples, reports on another, and prints the table and the report. */
    HeldOut.Report run(final Options.Loaded network, final float[][] x, final int[] y, final PrintStream out,
        final PrintStream err)
    {
        final float[] grid = etas != null ? etas : Tune.paperGrid(20);
        for (final float d : thresholds)
        {
            step.config(methods.get(0), grid[0], d).checkFits(network.classes(), network.layers());
        }
        final ProgressBar bar = new ProgressBar(err, (long)x.length * methods.size(),
            progress != null ? progress : System.console() != null);
        if (folds != null && folds > x.length)
        {
            throw new UsageException("--folds " + folds + " is more than the " + x.length + " samples");
        }
        final Tune.Outcomes outcomes = Tune.outcomes(
            method -> step.create(network, step.config(method, grid[0], max(thresholds))),
            methods, grid, thresholds, x, y, bar::update);
        bar.finish();
        final HeldOut.Report report = folds != null ? HeldOut.kFold(outcomes, folds, seed)
            : HeldOut.holdout(outcomes, holdout != null ? holdout : DEFAULT_HOLDOUT, seed);
        print(report, out);
        return report;
    }

    private static float max(final float[] values)
    {
        float m = values[0];
        for (final float v : values)
        {
            m = Math.max(m, v);
        }
        return m;
    }

    static void print(final HeldOut.Report report, final PrintStream out)
    {
        out.println(report.split());
        out.println(report.folds() == 0 ? "selection, on the " + report.selected().samples() + " tuning samples:"
            : "every setting on all " + report.selected().samples() + " samples (each fold selects on its other "
            + (report.folds() - 1) + " folds):");
        out.println("method          d      eta         acc plain  acc refocus  adapted  ΔAcc uncertain  right→wrong"
            + "  wrong→right");
        for (final Tune.Row r : report.tuningRows())
        {
            out.println(format(r));
        }
        out.println();
        out.println("selected: " + format(report.selected()).trim());
        for (int f = 0; f < report.foldChoices().size(); f++)
        {
            final Tune.Row c = report.foldChoices().get(f);
            out.printf(Locale.ROOT, "  fold %d reports on: %s d=%s η=%s (selected on the other folds)%n", f + 1,
                c.method(), c.threshold(), c.eta());
        }
        final HeldOut.Tally t = report.tally();
        out.printf(Locale.ROOT, "held out (%d samples, %d uncertain): accuracy %.2f%% → %.2f%%, ΔAcc %+.2f pp "
                + "[%+.2f, %+.2f], on the uncertain ones %+.2f pp [%+.2f, %+.2f]%n", t.samples(), t.adapted(),
            100.0 * t.correctPlain() / t.samples(), 100.0 * t.correctRefocus() / t.samples(), t.deltaAcc(),
            report.intervalAll()[0], report.intervalAll()[1], t.deltaAccUncertain(), report.intervalUncertain()[0],
            report.intervalUncertain()[1]);
        out.printf(Locale.ROOT, "  %d wrong→right, %d right→wrong; McNemar exact p = %.4g; 95%% intervals %s%n",
            t.fixed(), t.broken(), report.p(), HeldOut.Report.intervalKind());
        out.println("verdict: " + report.verdict());
    }

    private static String format(final Tune.Row r)
    {
        return String.format(Locale.ROOT, "%-14s  %.3f  %-10.4g  %8.2f%%  %10.2f%%  %6.1f%%  %+12.2f pp  %11d  %11d",
            r.method(), r.threshold(), r.eta(), 100 * r.accuracyPlain(), 100 * r.accuracyRefocus(),
            100 * r.adaptedShare(), r.deltaAccUncertain(), r.rightToWrong(), r.wrongToRight());
    }

    /** Writes the configuration file (--config-out) of the selected setting, with the evidence. */
    void writeConfig(final HeldOut.Report report) throws IOException
    {
        final Path file = configOut;
        final List<String> sources = List.of(model.described(), inputs.toString(), labels.toString());
        final String text = TunedConfig.text(TunedConfig.config(report, step, bandWindow), report, sources,
            Instant.now());
        try
        {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        }
        catch (final IOException e)
        {
            throw new IOException("cannot write " + file + " (" + e.getMessage() + ")", e);
        }
    }

    static void writeJson(final HeldOut.Report report, final Path file) throws IOException
    {
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8)))
        {
            final HeldOut.Tally t = report.tally();
            w.println("{");
            w.println("  \"split\": {\"text\": \"" + report.split() + "\", \"kind\": \""
                + (report.folds() == 0 ? "holdout" : "kfold") + "\", \"folds\": " + report.folds()
                + ", \"seed\": " + report.seed() + "},");
            w.println("  \"best\": " + json(report.selected()) + ",");
            w.println(String.format(Locale.ROOT, "  \"heldOut\": {\"samples\": %d, \"adapted\": %d, "
                    + "\"accuracyPlain\": %.6f, \"accuracyRefocus\": %.6f, \"deltaAccPp\": %.4f, "
                    + "\"deltaAccPpInterval\": [%.4f, %.4f], \"deltaAccUncertainPp\": %.4f, "
                    + "\"deltaAccUncertainPpInterval\": [%.4f, %.4f], \"wrongToRight\": %d, \"rightToWrong\": %d, "
                    + "\"changed\": %d, \"mcNemarP\": %.6g, \"interval\": \"95 %%, %s\"},", t.samples(), t.adapted(),
                (double)t.correctPlain() / t.samples(), (double)t.correctRefocus() / t.samples(), t.deltaAcc(),
                report.intervalAll()[0], report.intervalAll()[1], t.deltaAccUncertain(),
                report.intervalUncertain()[0], report.intervalUncertain()[1], t.fixed(), t.broken(), t.changed(),
                report.p(), HeldOut.Report.intervalKind()));
            w.println("  \"verdict\": \"" + report.verdict() + "\", \"switchOn\": " + report.verdict().switchOn()
                + ",");
            if (!report.foldChoices().isEmpty())
            {
                w.println("  \"foldChoices\": [");
                rows(w, report.foldChoices());
                w.println("  ],");
            }
            if (report.heldOutRows() != null)
            {
                w.println("  \"heldOutRows\": [");
                rows(w, report.heldOutRows());
                w.println("  ],");
            }
            w.println("  \"rows\": [");
            rows(w, report.tuningRows());
            w.println("  ]");
            w.println("}");
            if (w.checkError())
            {
                throw new IOException("cannot write " + file + " (disk full?)");
            }
        }
    }

    private static void rows(final PrintWriter w, final List<Tune.Row> rows)
    {
        for (int i = 0; i < rows.size(); i++)
        {
            w.println("    " + json(rows.get(i)) + (i + 1 < rows.size() ? "," : ""));
        }
    }

    private static String json(final Tune.Row r)
    {
        return String.format(Locale.ROOT, "{\"method\": \"%s\", \"threshold\": %s, \"eta\": %s, \"samples\": %d, "
                + "\"adapted\": %d, \"accuracyPlain\": %.6f, \"accuracyRefocus\": %.6f, \"deltaAccUncertainPp\": %.4f, "
                + "\"rightToWrong\": %d, \"wrongToRight\": %d, \"changed\": %d}",
            r.method(), r.threshold(), r.eta(), r.samples(), r.adapted(), r.accuracyPlain(), r.accuracyRefocus(),
            r.deltaAccUncertain(), r.rightToWrong(), r.wrongToRight(), r.changed());
    }

    /**
     * ΔAcc on the uncertain samples against the rate: one line per method and threshold on the samples that
     * selected (the paper's Fig. 7-8), and for the selected method and threshold the held-out curve with its 95 %
     * interval (held-out split) or the pooled held-out result with its interval (k-fold).
     */
    static void writePlot(final HeldOut.Report report, final Path file) throws IOException
    {
        System.setProperty("java.awt.headless", "true");
        final XYChart chart = new XYChartBuilder().width(900).height(560)
            .title("refocus tune: " + report.verdict())
            .xAxisTitle("learning rate η (log scale)").yAxisTitle("ΔAcc on uncertain samples (pp)").build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNW);
        final List<Tune.Row> rows = report.tuningRows();
        final String part = report.folds() == 0 ? "tuning" : "all";
        final List<String> series = new ArrayList<>();
        for (final Tune.Row r : rows)
        {
            final String name = r.method() + " d=" + r.threshold() + " (" + part + ")";
            if (series.contains(name))
            {
                continue;
            }
            series.add(name);
            final List<Double> xs = new ArrayList<>();
            final List<Double> ys = new ArrayList<>();
            for (final Tune.Row s : select(rows, r.method(), r.threshold()))
            {
                xs.add((double)s.eta());
                ys.add(s.deltaAccUncertain());
            }
            chart.addSeries(name, xs, ys);
        }
        final Tune.Row chosen = report.selected();
        final String label = chosen.method() + " d=" + chosen.threshold();
        if (report.heldOutRows() != null)
        {
            final List<Double> xs = new ArrayList<>();
            final List<Double> ys = new ArrayList<>();
            final List<Double> lows = new ArrayList<>();
            final List<Double> highs = new ArrayList<>();
            for (final Tune.Row s : select(report.heldOutRows(), chosen.method(), chosen.threshold()))
            {
                final HeldOut.Tally t = HeldOut.Tally.of(s);
                final double[] ci = Stats.deltaInterval(t.fixed(), t.broken(), Math.max(1, t.adapted()),
                    HeldOut.ALPHA);
                xs.add((double)s.eta());
                ys.add(t.deltaAccUncertain());
                lows.add(100 * ci[0]);
                highs.add(100 * ci[1]);
            }
            heldOut(chart.addSeries(label + " (held out)", xs, ys));
            dashed(chart.addSeries(label + " (held out, 95 % low)", xs, lows));
            dashed(chart.addSeries(label + " (held out, 95 % high)", xs, highs));
        }
        else
        {
            final double x = chosen.eta();
            heldOut(chart.addSeries("held out, pooled over " + report.folds() + " folds", List.of(x),
                List.of(report.tally().deltaAccUncertain())));
            dashed(chart.addSeries("held out, 95 % interval", List.of(x, x),
                List.of(report.intervalUncertain()[0], report.intervalUncertain()[1])));
        }
        final String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        final String base = file.toString().replaceFirst("\\.[^.]*$", "");
        if (name.endsWith(".svg"))
        {
            VectorGraphicsEncoder.saveVectorGraphic(chart, base, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
        }
        else
        {
            BitmapEncoder.saveBitmap(chart, base, BitmapEncoder.BitmapFormat.PNG); // the name was checked before
        }
    }

    /** The held-out result: thick and black, apart from the tuning curves' colours. */
    private static void heldOut(final org.knowm.xchart.XYSeries series)
    {
        series.setLineWidth(3f);
        series.setLineColor(java.awt.Color.BLACK);
        series.setMarkerColor(java.awt.Color.BLACK);
    }

    /** The held-out interval's bounds: dashed grey, no markers. */
    private static void dashed(final org.knowm.xchart.XYSeries series)
    {
        series.setLineStyle(org.knowm.xchart.style.lines.SeriesLines.DASH_DASH);
        series.setLineColor(java.awt.Color.GRAY);
        series.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
    }

    /** @return the rows of one method and threshold. */
    static List<Tune.Row> select(final List<Tune.Row> rows, final Method method, final float threshold)
    {
        return rows.stream().filter(r -> r.method() == method && r.threshold() == threshold).toList();
    }
}
