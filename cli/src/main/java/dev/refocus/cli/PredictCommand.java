package dev.refocus.cli;

import dev.refocus.Guard;
import dev.refocus.Method;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code refocus predict}: one row per sample with what refocus did. */
@Command(name = "predict", mixinStandardHelpOptions = true,
    description = "Predict every sample with refocus: initial class, final class, adapted or not, margin.")
final class PredictCommand implements Callable<Integer>
{
    enum Format
    {
        CSV, JSONL
    }

    @Mixin
    Options.Model model;

    @Mixin
    Options.Step step;

    @Option(names = {"-i", "--inputs"}, required = true, paramLabel = "FILE",
        description = "samples: .npy float32 [N, features], .csv (one sample per line) or gzipped idx3")
    Path inputs;

    @Option(names = "--method", defaultValue = "IFO_WEIGHTED", paramLabel = "METHOD",
        description = "IFO_WEIGHTED, IFO, DOFO, CROSS_ENTROPY or ENTROPY (default ${DEFAULT-VALUE})")
    Method method;

    @Option(names = "--eta", paramLabel = "ETA", converter = Values.Rate.class,
        description = "learning rate, >= 0 (model-specific: find it with tune); required unless --config is given")
    Float eta;

    @Mixin
    Options.ConfigFile configFile;

    @Option(names = {"-d", "--threshold"}, paramLabel = "D", defaultValue = "0.16", converter = Values.Threshold.class,
        description = "margin threshold d in [0, 1]: a sample adapts when p1 - p2 < d (default ${DEFAULT-VALUE})")
    float threshold;

    @Option(names = "--format", defaultValue = "CSV", paramLabel = "FORMAT",
        description = "csv or jsonl (default ${DEFAULT-VALUE})")
    Format format;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "where the rows go (default: stdout)")
    Path output;

    @Override
    public Integer call() throws IOException
    {
        if (output != null)
        {
            Options.requireWritable("--output", output);
        }
        configFile.requireEtaOrConfig(eta);
        final Options.Loaded network = model.load();
        step.checkFits(network);
        final RefocusConfig config = configFile.file != null ? configFile.load(network)
            : step.config(method, eta, threshold);
        final DataFiles.Inputs samples = DataFiles.readInputs(inputs);
        DataFiles.checkFits(network.file(), network.inputSize(), network.classes(), samples, null);
        try (Predictor predictor = step.create(network, config);
            PrintWriter out = output == null
                ? new PrintWriter(new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8)))
                : new PrintWriter(Files.newBufferedWriter(output, StandardCharsets.UTF_8)))
        {
            try
            {
                write(predictor, samples.rows(), format, out);
            }
            catch (final DataFiles.NonFiniteLogits e)
            {
                throw e.named(network.file(), samples);
            }
            if (output != null && out.checkError())
            {
                throw new IOException("cannot write " + output + " (disk full?)");
            }
            System.err.println("refocus: " + summary(predictor));
        }
        return 0;
    }

    /** @return what the predictor's guard counted, in words. */
    static String summary(final Predictor predictor)
    {
        final Guard g = predictor.guard();
        return String.format(Locale.ROOT, "%d samples, %d adapted, %d answers changed by refocus%s%s", g.samples(),
            g.adapted(), g.changed(), g.observeOnly() ? " (observe-only: the plain answers were written)" : "",
            g.bandTrips() > 0 ? "; the band tripped " + g.bandTrips() + " times, " + g.bypassed()
                + " samples answered plainly" : "");
    }

    /**
     * Predicts every sample and writes one row each.
     *
     * @throws DataFiles.NonFiniteLogits if the model's logits for a sample are NaN.
     */
    static void write(final Predictor predictor, final float[][] samples, final Format format, final PrintWriter out)
    {
        final Prediction p = predictor.newPrediction();
        if (format == Format.CSV)
        {
            out.println("index,initial_class,final_class,adapted,margin");
        }
        for (int i = 0; i < samples.length; i++)
        {
            try
            {
                predictor.predict(samples[i], p);
            }
            catch (final ArithmeticException e)
            {
                throw new DataFiles.NonFiniteLogits(i, e);
            }
            if (format == Format.CSV)
            {
                out.printf(Locale.ROOT, "%d,%d,%d,%b,%.6f%n", i, p.initialClass(), p.finalClass(), p.adapted(),
                    p.margin());
            }
            else
            {
                out.printf(Locale.ROOT, "{\"index\":%d,\"initial_class\":%d,\"final_class\":%d,\"adapted\":%b,"
                    + "\"margin\":%.6f}%n", i, p.initialClass(), p.finalClass(), p.adapted(), p.margin());
            }
        }
        out.flush();
    }
}
