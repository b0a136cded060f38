package dev.refocus.latency;

import dev.refocus.DenseNetwork;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.NativePredictor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;
import org.HdrHistogram.HistogramLogWriter;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The open-loop latency benchmark of a {@link RefocusPipeline}: it measures the pipeline's capacity at each share of
 * uncertain samples, then runs a grid of event rates (fractions of that capacity) x shares, and reports the latency
 * percentiles of adapted and plain events per cell, with what a {@link PauseDetector} saw meanwhile. It writes one
 * {@code .hlog} per cell (intervals tagged {@code plain}, {@code adapted}, {@code pause}), a Markdown table and a
 * plot of the percentile distributions.
 *
 * <pre>
 * java -jar latency/target/latency.jar [--seconds 10] [--handlers 1] [--rates 0.25,0.5,0.75]
 *     [--shares 0,0.05,0.2] [--wait blocking|yielding] [--out latency/target/results]
 *     [--model examples/fashion-mnist/mlp-784-512-256-10.safetensors]
 *     [--images examples/fashion-mnist/test-3000-images-idx3-ubyte.gz] [--eta 0.65536] [-d 0.16]
 * </pre>
 */
public final class LatencyBenchmark
{
    /** The percentiles of the table. */
    private static final double[] PERCENTILES = {50, 99, 99.9, 99.99};

    /**
     * What to run.
     *
     * @param model          the safetensors model.
     * @param images         the IDX images the pools are drawn from.
     * @param config         the refocus configuration (its d sorts the pools).
     * @param handlers       N.
     * @param waiting        the handlers' wait strategy.
     * @param rates          the event rates, as fractions of the capacity measured at each share.
     * @param shares         the shares of uncertain samples.
     * @param seconds        how long each cell runs.
     * @param warmupSeconds  how long the pipeline runs closed-loop before the capacity is measured (JIT).
     * @param out            where the results go.
     */
    public record Options(Path model, Path images, RefocusConfig config, int handlers, RefocusPipeline.Waiting waiting,
        double[] rates, double[] shares, double seconds, double warmupSeconds, Path out)
    {
    }

    /**
     * One cell of the grid.
     *
     * @param share    the share of uncertain samples.
     * @param fraction the rate as a fraction of capacity.
     * @param rate     events per second.
     * @param plain    latencies of plain events (ns).
     * @param adapted  latencies of adapted events (ns).
     * @param pause    stalls the pause detector saw during the cell (ns).
     * @param lateness the publisher's worst lateness (ns).
     */
    public record Cell(double share, double fraction, double rate, Histogram plain, Histogram adapted, Histogram pause,
        long lateness)
    {
    }

    private LatencyBenchmark()
    {
    }

    /**
     * Runs the grid and writes its files into {@link Options#out()}: {@code cell-r<fraction>-u<share>.hlog},
     * {@code latency.md} and {@code latency.png}.
     *
     * @param options what to run.
     * @param log     where progress goes.
     * @return the cells, by share then rate.
     * @throws IOException if the model or images cannot be read, or the results written.
     * @throws TimeoutException if the handlers fall more than a minute behind.
     */
    public static List<Cell> run(final Options options, final PrintStream log) throws IOException, TimeoutException
    {
        final DenseNetwork network = DenseNetwork.load(options.model());
        final SamplePools pools = SamplePools.classify(network, options.config(),
            SamplePools.idxImages(options.images()));
        log.printf(Locale.ROOT, "%s; %d certain and %d uncertain samples at d = %s; %d handler(s), %s wait; "
                + "kernels %s; %d CPUs%n", network, pools.certain().length, pools.uncertain().length,
            options.config().marginThreshold(), options.handlers(), options.waiting(), NativePredictor.kernelVariant(),
            Runtime.getRuntime().availableProcessors());
        Files.createDirectories(options.out());
        final List<Cell> cells = new ArrayList<>();
        final LatencyRecorders recorders = new LatencyRecorders(options.handlers());
        try (RefocusPipeline pipeline = new RefocusPipeline(network, options.config(), options.handlers(), 1024,
                 options.waiting(), recorders);
             PauseDetector pauses = new PauseDetector(1_000_000, LatencyRecorders.HIGHEST_NANOS))
        {
            final long warmup = OpenLoopLoad.publishClosedLoop(pipeline, pools.mix(1 << 12, 0.5, 1), options.warmupSeconds());
            log.printf(Locale.ROOT, "warm-up: %d events%n", warmup);
            for (final double share : options.shares())
            {
                final float[][] mix = pools.mix(1 << 16, share, Double.doubleToLongBits(share));
                final double capacity = capacity(pipeline, mix, options);
                log.printf(Locale.ROOT, "uncertain %.0f %%: capacity %.0f events/s%n", 100 * share, capacity);
                for (final double fraction : options.rates())
                {
                    final Cell cell = cell(pipeline, recorders, pauses, mix, share, fraction, capacity * fraction,
                        options);
                    writeLog(cell, options.out());
                    log.println(row(cell, "plain", cell.plain()));
                    cells.add(cell);
                }
            }
        }
        if (recorders.failures() != 0)
        {
            throw new IllegalStateException(recorders.failures() + " predictions failed");
        }
        writeTable(cells, options, log);
        plot(cells, options.out().resolve("latency.png"));
        return cells;
    }

    /** @return events per second the pipeline takes, closed loop, with these samples. */
    private static double capacity(final RefocusPipeline pipeline, final float[][] mix, final Options options)
        throws TimeoutException
    {
        final long start = System.nanoTime();
        final long events = OpenLoopLoad.publishClosedLoop(pipeline, mix, Math.min(3, options.seconds()));
        return events * 1e9 / (System.nanoTime() - start);
    }

    private static Cell cell(final RefocusPipeline pipeline, final LatencyRecorders recorders,
        final PauseDetector pauses, final float[][] mix, final double share, final double fraction, final double rate,
        final Options options) throws TimeoutException
    {
        pipeline.drain(1, TimeUnit.MINUTES);
        recorders.plainInterval(); // what came before this cell is dropped
        recorders.adaptedInterval();
        pauses.interval(null);
        final long startMillis = System.currentTimeMillis();
        final long lateness = OpenLoopLoad.publishAtRate(pipeline.ring(), mix, rate,
            Math.max(1, Math.round(rate * options.seconds())));
        pipeline.drain(1, TimeUnit.MINUTES);
        final long endMillis = System.currentTimeMillis();
        final Histogram plain = recorders.plainInterval();
        final Histogram adapted = recorders.adaptedInterval();
        final Histogram pause = pauses.interval(null);
        for (final Histogram h : List.of(plain, adapted, pause))
        {
            h.setStartTimeStamp(startMillis);
            h.setEndTimeStamp(endMillis);
        }
        plain.setTag("plain");
        adapted.setTag("adapted");
        pause.setTag("pause");
        return new Cell(share, fraction, rate, plain, adapted, pause, lateness);
    }

    /** @return the name of a cell's files, {@code cell-r0.50-u0.05}. */
    static String name(final Cell cell)
    {
        return String.format(Locale.ROOT, "cell-r%.2f-u%.2f", cell.fraction(), cell.share());
    }

    private static void writeLog(final Cell cell, final Path dir) throws IOException
    {
        try (PrintStream file = new PrintStream(Files.newOutputStream(dir.resolve(name(cell) + ".hlog")), false,
            "US-ASCII"))
        {
            final HistogramLogWriter writer = new HistogramLogWriter(file);
            writer.outputComment(String.format(Locale.ROOT, "refocus latency: %.0f events/s (%.2f of capacity), "
                + "%.0f %% uncertain samples; values in ns", cell.rate(), cell.fraction(), 100 * cell.share()));
            writer.outputLogFormatVersion();
            writer.outputStartTime(cell.plain().getStartTimeStamp());
            writer.setBaseTime(cell.plain().getStartTimeStamp());
            writer.outputLegend();
            writer.outputIntervalHistogram(cell.plain());
            writer.outputIntervalHistogram(cell.adapted());
            writer.outputIntervalHistogram(cell.pause());
        }
    }

    private static String micros(final long nanos)
    {
        return String.format(Locale.ROOT, "%.1f", nanos / 1e3);
    }

    /** @return the Markdown row of one kind of event in a cell. */
    static String row(final Cell cell, final String kind, final Histogram h)
    {
        final StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %.0f (%.2f) | %.0f %% | %s | %d |",
            cell.rate(), cell.fraction(), 100 * cell.share(), kind, h.getTotalCount()));
        for (final double p : PERCENTILES)
        {
            row.append(' ').append(h.getTotalCount() == 0 ? "-" : micros(h.getValueAtPercentile(p))).append(" |");
        }
        row.append(' ').append(h.getTotalCount() == 0 ? "-" : micros(h.getMaxValue())).append(" | ")
            .append(micros(cell.pause().getValueAtPercentile(99.9))).append(" / ")
            .append(micros(cell.pause().getMaxValue())).append(" |");
        return row.toString();
    }

    private static void writeTable(final List<Cell> cells, final Options options, final PrintStream log)
        throws IOException
    {
        final List<String> lines = new ArrayList<>();
        lines.add("| rate /s (of capacity) | uncertain | kind | count | p50 µs | p99 µs | p99.9 µs | p99.99 µs "
            + "| max µs | pauses p99.9 / max µs |");
        lines.add("|---|---|---|---|---|---|---|---|---|---|");
        for (final Cell cell : cells)
        {
            lines.add(row(cell, "plain", cell.plain()));
            if (cell.adapted().getTotalCount() > 0)
            {
                lines.add(row(cell, "adapted", cell.adapted()));
            }
        }
        Files.write(options.out().resolve("latency.md"), lines);
        lines.forEach(log::println);
    }

    /** Plots the percentile distribution of each cell, plain and adapted side by side, with the pauses. */
    private static void plot(final List<Cell> cells, final Path file) throws IOException
    {
        final XYChart plain = chart("plain (certain) events");
        final XYChart adapted = chart("adapted (uncertain) events");
        final Histogram pauses = new Histogram(1, LatencyRecorders.HIGHEST_NANOS, 3);
        for (final Cell cell : cells)
        {
            final String label = String.format(Locale.ROOT, "%.0f/s (%.2f), %.0f %% uncertain", cell.rate(),
                cell.fraction(), 100 * cell.share());
            series(plain, label, cell.plain());
            series(adapted, label, cell.adapted());
            pauses.add(cell.pause());
        }
        for (final XYChart chart : List.of(plain, adapted))
        {
            final XYSeries series = series(chart, "pause detector (whole grid)", pauses);
            if (series != null)
            {
                series.setLineStyle(org.knowm.xchart.style.lines.SeriesLines.DASH_DASH);
            }
        }
        BitmapEncoder.saveBitmap(List.of(plain, adapted), 1, 2, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static XYChart chart(final String title)
    {
        final XYChart chart = new XYChartBuilder().width(800).height(600).title(title)
            .xAxisTitle("percentile: 1/(1-p) (10 = p90, 100 = p99, 1000 = p99.9, 10^4 = p99.99)")
            .yAxisTitle("latency from intended send time (µs)").build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNW);
        chart.getStyler().setMarkerSize(0);
        return chart;
    }

    private static XYSeries series(final XYChart chart, final String label, final Histogram h)
    {
        if (h.getTotalCount() == 0)
        {
            return null;
        }
        final List<Double> x = new ArrayList<>();
        final List<Double> y = new ArrayList<>();
        for (final HistogramIterationValue v : h.percentiles(5))
        {
            final double p = v.getPercentileLevelIteratedTo() / 100;
            if (p >= 1)
            {
                break;
            }
            x.add(1 / (1 - p));
            y.add(Math.max(v.getValueIteratedTo(), 1) / 1e3);
        }
        x.add(x.isEmpty() ? 1.0 : x.get(x.size() - 1) * 2); // the maximum, one step beyond the last percentile
        y.add(Math.max(h.getMaxValue(), 1) / 1e3);
        final XYSeries series = chart.addSeries(label, x, y);
        series.setMarker(SeriesMarkers.NONE);
        return series;
    }

    /**
     * Runs the grid (see the class comment for the options).
     *
     * @param args options.
     * @throws Exception on any failure.
     */
    public static void main(final String[] args) throws Exception
    {
        Path model = Path.of("examples/fashion-mnist/mlp-784-512-256-10.safetensors");
        Path images = Path.of("examples/fashion-mnist/test-3000-images-idx3-ubyte.gz");
        float eta = 0.65536f;
        float d = 0.16f;
        int handlers = Math.max(1, Runtime.getRuntime().availableProcessors() - 1);
        RefocusPipeline.Waiting waiting = RefocusPipeline.Waiting.BLOCKING;
        double[] rates = {0.25, 0.5, 0.75};
        double[] shares = {0, 0.05, 0.2};
        double seconds = 10;
        double warmup = 5;
        Path out = Path.of("latency/target/results");
        for (int i = 0; i < args.length; i++)
        {
            final String value = i + 1 < args.length ? args[i + 1] : null;
            if (value == null)
            {
                throw new IllegalArgumentException(args[i] + " needs a value");
            }
            switch (args[i++])
            {
                case "--model" -> model = Path.of(value);
                case "--images" -> images = Path.of(value);
                case "--eta" -> eta = Float.parseFloat(value);
                case "-d" -> d = Float.parseFloat(value);
                case "--handlers" -> handlers = Integer.parseInt(value);
                case "--wait" -> waiting = RefocusPipeline.Waiting.valueOf(value.toUpperCase(Locale.ROOT));
                case "--rates" -> rates = numbers(value);
                case "--shares" -> shares = numbers(value);
                case "--seconds" -> seconds = Double.parseDouble(value);
                case "--warmup" -> warmup = Double.parseDouble(value);
                case "--out" -> out = Path.of(value);
                default -> throw new IllegalArgumentException("unknown option " + args[i - 1]
                    + "; options: --model --images --eta -d --handlers --wait --rates --shares --seconds --warmup --out");
            }
        }
        final RefocusConfig config = RefocusConfig.builder(eta).marginThreshold(d).build();
        run(new Options(model, images, config, handlers, waiting, rates, shares, seconds, warmup, out), System.out);
        System.out.println("hlog files, latency.md and latency.png in " + out);
    }

    private static double[] numbers(final String list)
    {
        return Arrays.stream(list.split(",")).mapToDouble(Double::parseDouble).toArray();
    }
}
