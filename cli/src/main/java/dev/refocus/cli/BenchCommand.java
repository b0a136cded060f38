package dev.refocus.cli;

import dev.refocus.Method;
import dev.refocus.cpu.NativePredictor;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * {@code refocus bench}: what refocus costs per sample on this model, for each backend: plain forward pass, certain
 * sample (forward and margin check) and uncertain sample (the whole step), median and p99 after a warm-up. A quick
 * look for users; the project's own figures come from JMH (benchmarks/).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Per-sample latency of plain, certain and uncertain predictions for each backend (median, p99).")
final class BenchCommand implements Callable<Integer>
{
    @Mixin
    Options.Model model;

    @Mixin
    Options.Step step;

    @Option(names = {"-i", "--inputs"}, paramLabel = "FILE",
        description = "samples to time (.npy, .csv or gzipped idx3); default: 256 random normal samples")
    Path inputs;

    @Option(names = "--method", defaultValue = "IFO_WEIGHTED", paramLabel = "METHOD",
        description = "the method (default ${DEFAULT-VALUE})")
    Method method;

    @Option(names = "--eta", defaultValue = "0.02", paramLabel = "ETA", converter = Values.Rate.class,
        description = "learning rate, >= 0 (default ${DEFAULT-VALUE})")
    float eta;

    @Mixin
    Options.ConfigFile configFile;

    @Option(names = "--backends", split = ",", paramLabel = "NAME",
        description = "backends to time (default: every one that can run the model)")
    List<Options.Backend> backends;

    @Option(names = "--seconds", defaultValue = "1", paramLabel = "S", converter = Values.Seconds.class,
        description = "measuring time per row, after as long a warm-up, in (0, 3600] (default ${DEFAULT-VALUE})")
    double seconds;

    /** The configuration read from --config, or null: the options make it. */
    RefocusConfig config;

    @Override
    public Integer call() throws IOException
    {
        configFile.requireNoConflict();
        final Options.Loaded network = model.load();
        step.checkFits(network);
        if (configFile.file != null)
        {
            // what runs, except the band: a trip would turn the uncertain row into plain predictions
            config = configFile.load(network).toBuilder().band(null).build();
        }
        if (backends != null)
        {
            for (final Options.Backend backend : backends)
            {
                backend.requireRuns(network);
            }
        }
        final float[][] samples;
        if (inputs != null)
        {
            final DataFiles.Inputs x = DataFiles.readInputs(inputs);
            DataFiles.checkFits(network.file(), network.inputSize(), network.classes(), x, null);
            samples = x.rows();
        }
        else
        {
            samples = random(network.inputSize());
        }
        try
        {
            run(network, samples, System.out);
        }
        catch (final ArithmeticException e)
        {
            throw new DataFiles.DataException(network.file() + ": the model's logits are not finite ("
                + e.getMessage() + "): are its weights finite?");
        }
        return 0;
    }

    void run(final Options.Loaded network, final float[][] samples, final PrintStream out)
    {
        final RefocusConfig c = config != null ? config : step.config(method, eta, 0.16f);
        final float rate = c.learningRate();
        out.printf(Locale.ROOT, "%s, %s, η = %s%s, one thread%n", network, c.method(), rate,
            c.observeOnly() ? ", observe-only (an uncertain sample also pays the plain pass)" : "");
        out.println("native kernels: " + NativePredictor.kernelVariant());
        out.println("backend         case        median µs    p99 µs   × first row");
        double baseline = Double.NaN;
        for (final Options.Backend backend : backends != null ? backends : List.of(Options.Backend.values()))
        {
            if (backends == null && !backend.runs(network))
            {
                continue;
            }
            try (Predictor predictor = Options.Step.create(backend, network, c))
            {
                final Prediction p = predictor.newPrediction();
                for (final String kind : new String[] {"plain", "certain", "uncertain"})
                {
                    if (kind.equals("plain") && !(predictor instanceof NativePredictor))
                    {
                        continue; // only the native backend has a separate plain pass
                    }
                    final Call call = kind.equals("plain") ? x -> ((NativePredictor)predictor).forward(x, p)
                        : kind.equals("certain") ? x -> predictor.predict(x, rate, 0.0f, p)
                        : x -> predictor.predict(x, rate, 1.0f, p);
                    final double[] q = time(call, samples, seconds);
                    if (Double.isNaN(baseline))
                    {
                        baseline = q[0]; // the first row: native plain where the native backend runs
                    }
                    out.printf(Locale.ROOT, "%-14s  %-9s  %10.2f  %9.2f   %8.2f%n", backend.label(), kind, q[0], q[1],
                        q[0] / baseline);
                }
            }
        }
    }

    private interface Call
    {
        void predict(float[] x);
    }

    /** @return the median and p99 in microseconds, measured for about {@code seconds} after as long a warm-up. */
    private static double[] time(final Call call, final float[][] samples, final double seconds)
    {
        final long budget = (long)(seconds * 1e9);
        long start = System.nanoTime();
        for (int i = 0; System.nanoTime() - start < budget; i++)
        {
            call.predict(samples[i % samples.length]);
        }
        long[] nanos = new long[1 << 12];
        int n = 0;
        start = System.nanoTime();
        while (System.nanoTime() - start < budget || n < 5)
        {
            final long t0 = System.nanoTime();
            call.predict(samples[n % samples.length]);
            if (n == nanos.length)
            {
                nanos = Arrays.copyOf(nanos, 2 * n);
            }
            nanos[n++] = System.nanoTime() - t0;
        }
        Arrays.sort(nanos, 0, n);
        return new double[] {nanos[n / 2] / 1e3, nanos[Math.min(n - 1, (int)(0.99 * n))] / 1e3};
    }

    private static float[][] random(final int features)
    {
        final Random random = new Random(0);
        final float[][] x = new float[256][features];
        for (final float[] row : x)
        {
            for (int j = 0; j < features; j++)
            {
                row[j] = (float)random.nextGaussian();
            }
        }
        return x;
    }
}
