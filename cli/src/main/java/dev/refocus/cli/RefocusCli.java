package dev.refocus.cli;

import dev.refocus.DenseNetwork;
import dev.refocus.Method;
import dev.refocus.ModelFormatException;
import dev.refocus.Predictor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * The {@code refocus} command. Without a subcommand it runs the shipped example end to end and honestly: for the
 * MLP (native backend), {@code tune} with held-out evaluation on the Fashion-MNIST test subset, then {@code predict}
 * and {@code bench} with the configuration file it wrote; for the CNN (libtorch backend), {@code tune}; then both
 * verdicts, whatever they are.
 *
 * <p>Exit codes: 0 success; 1 an unexpected failure; 2 bad usage (an unknown option, a missing, malformed or
 * out-of-range option value, an option that does not fit the model, an output path that cannot be written); 3 bad
 * input (a missing or malformed model or data file, data that does not fit the model, labels out of range).
 * Messages name the file, and the line or sample, and what is wrong; only an unexpected failure prints a stack trace.
 */
@Command(name = "refocus", mixinStandardHelpOptions = true, version = "refocus 0.1.0",
    subcommands = {PredictCommand.class, TuneCommand.class, BenchCommand.class},
    description = {"Focus on likely classes: refine a classifier's uncertain predictions at inference time.",
        "Without a command: tune (held out), predict and bench on the shipped Fashion-MNIST example's two models."},
    exitCodeListHeading = "%\nExit codes:%\n",
    exitCodeList = {"0:success", "1:an unexpected failure",
        "2:bad usage: an unknown option, a bad option value, an output path that cannot be written",
        "3:bad input: a missing or malformed model or data file, data that does not fit the model"})
public final class RefocusCli implements Callable<Integer>
{
    static final int EXIT_FAILURE = 1;
    static final int EXIT_BAD_INPUT = 3;

    @Option(names = "--example", paramLabel = "DIR", defaultValue = "examples/fashion-mnist",
        description = "the example's folder (default ${DEFAULT-VALUE})")
    Path example;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "target/refocus-example",
        description = "where the example's files go (default ${DEFAULT-VALUE})")
    Path out;

    public static void main(final String[] args)
    {
        int code;
        try
        {
            code = commandLine().execute(args);
        }
        catch (final OutOfMemoryError e)
        {
            // data files are checked against the heap before they are read; this is what remains
            System.err.println("refocus: out of memory (the JVM may use " + DataFiles.bytes(
                Runtime.getRuntime().maxMemory()) + "): give it more with java -Xmx, or use fewer samples");
            code = EXIT_FAILURE;
        }
        System.exit(code);
    }

    /** @return the configured command line: case-insensitive enums, clear errors, our exit codes. */
    static CommandLine commandLine()
    {
        final CommandLine cli = new CommandLine(new RefocusCli());
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setExecutionExceptionHandler(RefocusCli::handle);
        return cli;
    }

    /** Maps what a command threw to a message and an exit code: 2 bad usage, 3 bad input, 1 anything else. */
    private static int handle(final Exception e, final CommandLine line, final CommandLine.ParseResult parsed)
        throws Exception
    {
        if (e instanceof UsageException)
        {
            // reported as picocli reports the usage errors it finds itself: the message, then the usage
            return line.getParameterExceptionHandler().handleParseException(
                new CommandLine.ParameterException(line, e.getMessage()), parsed.originalArgs().toArray(new String[0]));
        }
        final PrintWriter err = line.getErr();
        if (isBadInput(e))
        {
            err.println("refocus: " + message(e));
            return EXIT_BAD_INPUT;
        }
        if (e instanceof IOException)
        {
            err.println("refocus: " + message(e));
            return EXIT_FAILURE;
        }
        err.println("refocus: unexpected error: " + e);
        e.printStackTrace(err);
        return EXIT_FAILURE;
    }

    private static boolean isBadInput(final Exception e)
    {
        return e instanceof NoSuchFileException || e instanceof AccessDeniedException
            || e instanceof ModelFormatException || e instanceof DataFiles.DataException;
    }

    private static String message(final Exception e)
    {
        if (e instanceof NoSuchFileException)
        {
            return "no such file: " + ((NoSuchFileException)e).getFile();
        }
        if (e instanceof FileSystemException)
        {
            final FileSystemException f = (FileSystemException)e;
            return f.getFile() + ": " + (f.getReason() != null ? f.getReason() : e.getClass().getSimpleName());
        }
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }

    @Override
    public Integer call() throws IOException
    {
        if (Files.exists(out) && !Files.isDirectory(out))
        {
            throw new UsageException("--out " + out + " is not a directory");
        }
        Files.createDirectories(out);
        final long start = System.nanoTime();
        final Path mlpFile = example.resolve("mlp-784-512-256-10.safetensors");
        final Path cnnFile = example.resolve("cnn-fashion-mnist.pt");
        final Path images = example.resolve("test-3000-images-idx3-ubyte.gz");
        final Path labels = example.resolve("test-3000-labels-idx1-ubyte.gz");
        DataFiles.requireFile(mlpFile);
        DataFiles.requireFile(cnnFile);
        final Options.Loaded mlp = new Options.Loaded(mlpFile, DenseNetwork.load(mlpFile), null);
        final DataFiles.Inputs inputs = DataFiles.readInputs(images);
        final DataFiles.Labels classes = DataFiles.readLabels(labels);
        DataFiles.checkFits(mlpFile, mlp.inputSize(), mlp.classes(), inputs, classes);
        final float[][] x = inputs.rows();
        final int[] y = classes.values();
        System.out.println("refocus example: is refocus worth switching on for these two models? " + x.length
            + " labelled Fashion-MNIST test images (" + example + "); tune selects on half of them and reports on "
            + "the other half");

        System.out.println();
        System.out.println("== 1. the MLP " + mlp + ", native backend");
        final Path mlpConf = out.resolve("mlp.conf");
        final HeldOut.Report mlpReport = tune(mlp, x, y, "mlp", mlpConf, String.join(",", names(Method.values())),
            "--model", mlpFile.toString(), "--inputs", images.toString(), "--labels", labels.toString());

        final Path predictions = out.resolve("mlp-predictions.csv");
        System.out.println();
        System.out.println("$ refocus predict --model " + mlpFile + " --inputs " + images + " --config " + mlpConf
            + " --output " + predictions);
        final PredictCommand predict = parse(new PredictCommand(), "--model", mlpFile.toString(), "--inputs",
            images.toString(), "--config", mlpConf.toString(), "--output", predictions.toString());
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(predictions, StandardCharsets.UTF_8));
            Predictor predictor = predict.step.create(mlp, predict.configFile.load(mlp)))
        {
            PredictCommand.write(predictor, x, PredictCommand.Format.CSV, w);
            System.out.println("wrote " + predictions + ": " + PredictCommand.summary(predictor));
        }

        System.out.println();
        System.out.println("$ refocus bench --model " + mlpFile + " --inputs " + images + " --config " + mlpConf);
        final BenchCommand bench = parse(new BenchCommand(), "--model", mlpFile.toString(), "--config",
            mlpConf.toString());
        bench.config = bench.configFile.load(mlp).toBuilder().band(null).build();
        bench.run(mlp, x, System.out);

        System.out.println();
        final TuneCommand cnnTune = parse(new TuneCommand(), "--model", cnnFile.toString(), "--input-shape",
            "1,1,28,28", "--inputs", images.toString(), "--labels", labels.toString());
        final Options.Loaded cnn = cnnTune.model.load();
        System.out.println("== 2. the CNN " + cnn + " (" + cnnFile.getFileName() + "), libtorch backend");
        final Path cnnConf = out.resolve("cnn.conf");
        final HeldOut.Report cnnReport = tune(cnn, x, y, "cnn", cnnConf, "IFO_WEIGHTED,IFO,DOFO", "--model",
            cnnFile.toString(), "--input-shape", "1,1,28,28", "--inputs", images.toString(), "--labels",
            labels.toString());

        System.out.println();
        System.out.printf(Locale.ROOT, "== verdicts on %d held-out images (%.0f s in all)%n",
            mlpReport.tally().samples(), (System.nanoTime() - start) / 1e9);
        for (final Object[] m : new Object[][] {{"MLP", mlpReport, mlpConf}, {"CNN", cnnReport, cnnConf}})
        {
            final HeldOut.Report r = (HeldOut.Report)m[1];
            final HeldOut.Tally t = r.tally();
            System.out.printf(Locale.ROOT, "%s: %s d=%s η=%s: ΔAcc %+.2f pp [%+.2f, %+.2f], %d wrong→right, "
                    + "%d right→wrong, p = %.3g: %s (%s)%n", m[0], r.selected().method(), r.selected().threshold(),
                r.selected().eta(), t.deltaAcc(), r.intervalAll()[0], r.intervalAll()[1], t.fixed(), t.broken(),
                r.p(), r.verdict(), m[2]);
        }
        return 0;
    }

    /** Runs tune as {@code refocus tune args... --methods methods} would, writing its files under --out. */
    private HeldOut.Report tune(final Options.Loaded model, final float[][] x, final int[] y, final String name,
        final Path config, final String methods, final String... args) throws IOException
    {
        final List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--methods", methods, "--json", out.resolve(name + "-tune.json").toString(), "--plot",
            out.resolve(name + "-tune.png").toString(), "--config-out", config.toString()));
        System.out.println("$ refocus tune " + String.join(" ", all));
        final TuneCommand tune = parse(new TuneCommand(), all.toArray(new String[0]));
        final HeldOut.Report report = tune.run(model, x, y, System.out, System.err);
        TuneCommand.writeJson(report, tune.json);
        TuneCommand.writePlot(report, tune.plot);
        tune.writeConfig(report);
        System.out.println("wrote " + tune.json + ", " + tune.plot + " and " + tune.configOut);
        return report;
    }

    /** Fills a command's options from arguments, defaults included, as the command line would. */
    private static <T> T parse(final T command, final String... args)
    {
        final CommandLine line = new CommandLine(command);
        line.setCaseInsensitiveEnumValuesAllowed(true);
        line.parseArgs(args);
        return command;
    }

    private static String[] names(final Method[] methods)
    {
        final String[] names = new String[methods.length];
        for (int i = 0; i < methods.length; i++)
        {
            names[i] = methods[i].name();
        }
        return names;
    }
}
