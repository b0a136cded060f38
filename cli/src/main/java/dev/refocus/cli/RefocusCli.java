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
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The {@code refocus} command. Without a subcommand it runs the shipped example end to end: {@code tune} on the
 * Fashion-MNIST test subset, then {@code predict} with the best weighted-iFo rate, then {@code bench}.
 *
 * <p>Exit codes: 0 success; 1 an unexpected failure; 2 bad usage (an unknown option, a missing, malformed or
 * out-of-range option value, an option that does not fit the model, an output path that cannot be written); 3 bad
 * input (a missing or malformed model or data file, data that does not fit the model, labels out of range).
 * Messages name the file, and the line or sample, and what is wrong; only an unexpected failure prints a stack trace.
 */
@Command(name = "refocus", mixinStandardHelpOptions = true, version = "refocus 0.1.0",
    subcommands = {PredictCommand.class, TuneCommand.class, BenchCommand.class},
    description = {"Focus on likely classes: refine a classifier's uncertain predictions at inference time.",
        "Without a command: tune, predict and bench on the shipped Fashion-MNIST example."},
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
        final Path modelFile = example.resolve("mlp-784-512-256-10.safetensors");
        final Path images = example.resolve("test-3000-images-idx3-ubyte.gz");
        final Path labels = example.resolve("test-3000-labels-idx1-ubyte.gz");
        DataFiles.requireFile(modelFile);
        final Options.Loaded network = new Options.Loaded(modelFile, DenseNetwork.load(modelFile), null);
        final DataFiles.Inputs inputs = DataFiles.readInputs(images);
        final DataFiles.Labels classes = DataFiles.readLabels(labels);
        DataFiles.checkFits(modelFile, network.inputSize(), network.classes(), inputs, classes);
        final float[][] x = inputs.rows();
        final int[] y = classes.values();
        System.out.println("refocus example: " + network + " on " + x.length + " Fashion-MNIST test images ("
            + example + ")");

        System.out.println();
        System.out.println("$ refocus tune --model " + modelFile + " --inputs " + images + " --labels " + labels
            + " --methods " + String.join(",", names(Method.values())));
        final TuneCommand tune = parse(new TuneCommand(), "--model", modelFile.toString(), "--inputs",
            images.toString(), "--labels", labels.toString(), "--methods", String.join(",", names(Method.values())),
            "--json", out.resolve("tune.json").toString(), "--plot", out.resolve("tune.png").toString());
        final List<Tune.Row> rows = tune.run(network, x, y, System.out, System.err);
        TuneCommand.writeJson(rows, tune.json);
        TuneCommand.writePlot(rows, tune.plot);
        System.out.println("wrote " + tune.json + " and " + tune.plot);

        final Tune.Row best = Tune.best(TuneCommand.select(rows, Method.IFO_WEIGHTED, 0.16f));
        final Path predictions = out.resolve("predictions.csv");
        System.out.println();
        System.out.println("$ refocus predict --model " + modelFile + " --inputs " + images + " --eta " + best.eta()
            + " --output " + predictions);
        final PredictCommand predict = parse(new PredictCommand(), "--model", modelFile.toString(), "--inputs",
            images.toString(), "--eta", String.valueOf(best.eta()), "--output", predictions.toString());
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(predictions, StandardCharsets.UTF_8));
            Predictor predictor = predict.step.create(network,
                predict.step.config(predict.method, predict.eta, predict.threshold)))
        {
            PredictCommand.write(predictor, x, PredictCommand.Format.CSV, w);
        }
        System.out.printf("wrote %s: weighted iFo at η = %s: accuracy %.2f%% → %.2f%%, %.1f%% of samples adapted, "
                + "%d right→wrong, %d wrong→right%n", predictions, best.eta(), 100 * best.accuracyPlain(),
            100 * best.accuracyRefocus(), 100 * best.adaptedShare(), best.rightToWrong(), best.wrongToRight());

        System.out.println();
        System.out.println("$ refocus bench --model " + modelFile + " --inputs " + images + " --eta " + best.eta());
        final BenchCommand bench = parse(new BenchCommand(), "--model", modelFile.toString(), "--eta",
            String.valueOf(best.eta()));
        bench.run(network, x, System.out);
        return 0;
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
