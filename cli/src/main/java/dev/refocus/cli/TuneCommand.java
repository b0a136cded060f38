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
        final List<Tune.Row> rows;
        try
        {
            rows = run(network, x.rows(), y.values(), System.out, System.err);
        }
        catch (final DataFiles.NonFiniteLogits e)
        {
            throw e.named(network.file(), x);
        }
        writeJson(rows, json);
        writePlot(rows, plot);
        System.out.println("wrote " + json + " and " + plot);
        return 0;
    }

    /** Checks what the sweep will write before it runs: a sweep is too long to lose to a bad path. */
    void checkOutputs()
    {
        final String name = plot.getFileName() == null ? "" : plot.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!name.endsWith(".png") && !name.endsWith(".svg"))
        {
            throw new UsageException("--plot takes a .png or .svg file, got " + plot);
        }
        Options.requireWritable("--json", json);
        Options.requireWritable("--plot", plot);
    }

    /** Sweeps and prints the table and the best setting. */
    List<Tune.Row> run(final Options.Loaded network, final float[][] x, final int[] y, final PrintStream out,
        final PrintStream err)
    {
        final float[] grid = etas != null ? etas : Tune.paperGrid(20);
        for (final float d : thresholds)
        {
            step.config(methods.get(0), grid[0], d).checkFits(network.classes(), network.layers());
        }
        final ProgressBar bar = new ProgressBar(err, (long)x.length * methods.size(),
            progress != null ? progress : System.console() != null);
        final List<Tune.Row> rows = Tune.sweep(
            method -> step.create(network, step.config(method, grid[0], max(thresholds))),
            methods, grid, thresholds, x, y, bar::update);
        bar.finish();
        print(rows, out);
        return rows;
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

    static void print(final List<Tune.Row> rows, final PrintStream out)
    {
        out.println("method          d      eta         acc plain  acc refocus  adapted  ΔAcc uncertain  right→wrong"
            + "  wrong→right");
        for (final Tune.Row r : rows)
        {
            out.println(format(r));
        }
        final Tune.Row best = Tune.best(rows);
        out.println();
        out.println("best: " + format(best).trim());
    }

    private static String format(final Tune.Row r)
    {
        return String.format(Locale.ROOT, "%-14s  %.3f  %-10.4g  %8.2f%%  %10.2f%%  %6.1f%%  %+12.2f pp  %11d  %11d",
            r.method(), r.threshold(), r.eta(), 100 * r.accuracyPlain(), 100 * r.accuracyRefocus(),
            100 * r.adaptedShare(), r.deltaAccUncertain(), r.rightToWrong(), r.wrongToRight());
    }

    static void writeJson(final List<Tune.Row> rows, final Path file) throws IOException
    {
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8)))
        {
            final Tune.Row best = Tune.best(rows);
            w.println("{");
            w.println("  \"best\": " + json(best) + ",");
            w.println("  \"rows\": [");
            for (int i = 0; i < rows.size(); i++)
            {
                w.println("    " + json(rows.get(i)) + (i + 1 < rows.size() ? "," : ""));
            }
            w.println("  ]");
            w.println("}");
            if (w.checkError())
            {
                throw new IOException("cannot write " + file + " (disk full?)");
            }
        }
    }

    private static String json(final Tune.Row r)
    {
        return String.format(Locale.ROOT, "{\"method\": \"%s\", \"threshold\": %s, \"eta\": %s, \"samples\": %d, "
                + "\"adapted\": %d, \"accuracyPlain\": %.6f, \"accuracyRefocus\": %.6f, \"deltaAccUncertainPp\": %.4f, "
                + "\"rightToWrong\": %d, \"wrongToRight\": %d}",
            r.method(), r.threshold(), r.eta(), r.samples(), r.adapted(), r.accuracyPlain(), r.accuracyRefocus(),
            r.deltaAccUncertain(), r.rightToWrong(), r.wrongToRight());
    }

    /** ΔAcc on the uncertain samples against the rate, one line per method and threshold (the paper's Fig. 7-8). */
    static void writePlot(final List<Tune.Row> rows, final Path file) throws IOException
    {
        System.setProperty("java.awt.headless", "true");
        final XYChart chart = new XYChartBuilder().width(900).height(560)
            .title("refocus tune: accuracy change on the uncertain samples")
            .xAxisTitle("learning rate η (log scale)").yAxisTitle("ΔAcc on uncertain samples (pp)").build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNW);
        final List<String> series = new ArrayList<>();
        for (final Tune.Row r : rows)
        {
            final String name = r.method() + " d=" + r.threshold();
            if (series.contains(name))
            {
                continue;
            }
            series.add(name);
            final List<Double> xs = new ArrayList<>();
            final List<Double> ys = new ArrayList<>();
            for (final Tune.Row s : rows)
            {
                if (s.method() == r.method() && s.threshold() == r.threshold())
                {
                    xs.add((double)s.eta());
                    ys.add(s.deltaAccUncertain());
                }
            }
            chart.addSeries(name, xs, ys);
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

    /** @return the rows of one method and threshold. */
    static List<Tune.Row> select(final List<Tune.Row> rows, final Method method, final float threshold)
    {
        return rows.stream().filter(r -> r.method() == method && r.threshold() == threshold).toList();
    }
}
