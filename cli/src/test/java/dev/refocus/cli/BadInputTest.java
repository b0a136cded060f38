package dev.refocus.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad command lines and bad files, as a hostile user would try them: every option with an out-of-range value, every
 * kind of input malformed (truncated, empty, wrong magic, binary as CSV, a directory, a missing file, wrong dtype,
 * wrong shape, ragged, labels out of range, negative or too few, malformed models). Each must exit with its code
 * (2 bad usage, 3 bad input) and a message that names the file (and the line or sample) and the problem, with no
 * stack trace. What each case gave is written to {@code cli/target/bad-inputs.txt}.
 */
class BadInputTest
{
    private static final String CNN = "torch/src/test/resources/dev/refocus/torch/cnn.pt";
    private static final String TORCH = "torch/src/test/resources/dev/refocus/torch/";
    private static final String ONNX = "onnx/src/test/resources/dev/refocus/onnx/";
    private static final ConcurrentLinkedQueue<String> REPORT = new ConcurrentLinkedQueue<>();

    @TempDir
    Path dir;

    private String model;
    private String x;
    private String y;
    private String x64;

    /** One bad command line: what it must give. */
    private record Case(String category, String name, int code, List<String> fragments, String[] args)
    {
    }

    @AfterAll
    static void writeReport() throws IOException
    {
        final Path target = Path.of("cli/target");
        if (Files.isDirectory(target))
        {
            final List<String> lines = new ArrayList<>(REPORT);
            lines.sort(null);
            Files.write(target.resolve("bad-inputs.txt"), lines);
        }
    }

    @TestFactory
    List<DynamicTest> shouldRefuseEachBadInputWithItsCodeAndAMessageThatNamesIt() throws IOException
    {
        model = write("model.safetensors", safetensors(10, 8, 3));
        x = write("x.csv", csv(4, 10, 1));
        y = write("y.csv", "0\n1\n2\n1\n".getBytes(StandardCharsets.UTF_8));
        x64 = write("x64.csv", csv(3, 64, 2));
        final List<Case> cases = new ArrayList<>();
        usage(cases);
        models(cases);
        inputs(cases);
        labels(cases);
        final List<DynamicTest> tests = new ArrayList<>();
        for (final Case c : cases)
        {
            tests.add(DynamicTest.dynamicTest(c.category + ": " + c.name, () -> check(c)));
        }
        return tests;
    }

    private static void check(final Case c)
    {
        final Cli.Result r;
        try
        {
            r = Cli.run(c.args);
        }
        catch (final Error e)
        {
            // an OutOfMemoryError would end the test JVM: report it as the failure it is
            REPORT.add(String.format("%-7s | %-44s | %s", c.category, c.name, "threw " + e));
            throw new AssertionError(c.name + ": threw " + e, e);
        }
        final String first = r.err().lines().findFirst().orElse("");
        REPORT.add(String.format("%-7s | %-44s | %d | %s", c.category, c.name, r.code(), first));
        final String where = c.name + ": refocus " + String.join(" ", c.args) + "\n-> " + r.code() + " " + r.err();
        assertEquals(c.code, r.code(), where);
        for (final String fragment : c.fragments)
        {
            assertTrue(r.err().contains(fragment), () -> "lacks '" + fragment + "': " + where);
        }
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception") || r.err().contains("java."),
            () -> "a stack trace or an exception's name: " + where);
    }

    // --- the cases

    /** Options out of range, malformed or not fitting the model, and outputs that cannot be written: exit code 2. */
    private void usage(final List<Case> cases) throws IOException
    {
        final String folder = Files.createDirectories(dir.resolve("folder")).toString();
        for (final String[] eta : new String[][] {{"-1", "must be >= 0"}, {"nan", "not a plain decimal"},
            {"inf", "not a plain decimal"}, {"0x1p-2", "not a plain decimal"}, {"1f", "not a plain decimal"},
            {"1e39", "beyond float32's range"}, {"", "not a plain decimal"}})
        {
            add(cases, "usage", "predict --eta '" + eta[0] + "'", 2, List.of("--eta", eta[1]),
                "predict", "-m", model, "-i", x, "--eta", eta[0]);
        }
        for (final String d : new String[] {"2", "-0.1", "nan", "1.5"})
        {
            add(cases, "usage", "predict -d " + d, 2, List.of("--threshold", d),
                "predict", "-m", model, "-i", x, "--eta", "0.1", "-d", d);
        }
        add(cases, "usage", "predict -d 0.5d", 2, List.of("--threshold", "not a plain decimal"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "-d", "0.5d");
        for (final String focus : new String[] {"1", "0", "-2"})
        {
            add(cases, "usage", "predict --focus " + focus, 2, List.of("--focus", ">= 2"),
                "predict", "-m", model, "-i", x, "--eta", "0.1", "--focus", focus);
        }
        add(cases, "usage", "predict --focus 2.5", 2, List.of("--focus", "not a whole number"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--focus", "2.5");
        add(cases, "usage", "predict --focus 3 (3 classes)", 2, List.of("--focus 3", "fewer than", "3 classes"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--focus", "3");
        for (final String steps : new String[] {"0", "-3"})
        {
            add(cases, "usage", "predict --steps " + steps, 2, List.of("--steps", ">= 1"),
                "predict", "-m", model, "-i", x, "--eta", "0.1", "--steps", steps);
        }
        for (final String clip : new String[] {"-1", "nan"})
        {
            add(cases, "usage", "predict --clip " + clip, 2, List.of("--clip"),
                "predict", "-m", model, "-i", x, "--eta", "0.1", "--clip", clip);
        }
        for (final String adapt : new String[] {"some", "last:0", "last:x", "last:-1"})
        {
            add(cases, "usage", "predict --adapt " + adapt, 2, List.of("--adapt", "last:K"),
                "predict", "-m", model, "-i", x, "--eta", "0.1", "--adapt", adapt);
        }
        add(cases, "usage", "predict --adapt last:5 (2 layers)", 2, List.of("--adapt", "2 layers"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--adapt", "last:5");
        add(cases, "usage", "predict --candidates 0,7 (3 classes)", 2, List.of("--candidates", "class 7", "3 classes"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--candidates", "0,7");
        add(cases, "usage", "predict --candidates -1,2", 2, List.of("--candidates", ">= 0", "-1"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--candidates", "-1,2");
        add(cases, "usage", "predict --candidates 1,1", 2, List.of("--candidates", "class 1 appears twice"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--candidates", "1,1");
        add(cases, "usage", "predict --candidates 0,2 --focus 2", 2, List.of("--focus 2", "2 candidate classes"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--candidates", "0,2");
        add(cases, "usage", "predict --backend gpu", 2, List.of("--backend", "gpu"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--backend", "gpu");
        add(cases, "usage", "predict --backend torch (safetensors)", 2, List.of("torch backend", "model.safetensors"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--backend", "torch");
        add(cases, "usage", "predict --format xml", 2, List.of("--format", "xml"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--format", "xml");
        add(cases, "usage", "predict --method foo", 2, List.of("--method", "foo"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--method", "foo");
        add(cases, "usage", "predict --activation elu", 2, List.of("--activation", "elu"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--activation", "elu");
        add(cases, "usage", "predict --input-shape 1,10 (safetensors)", 2, List.of("--input-shape", "TorchScript"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--input-shape", "1,10");
        add(cases, "usage", "predict -o a directory", 2, List.of(folder + " is a directory", "--output"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "-o", folder);
        add(cases, "usage", "predict -o in a missing folder", 2, List.of("no such directory", "nowhere"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "-o", dir.resolve("nowhere/p.csv").toString());
        add(cases, "usage", "predict --eta without a value", 2, List.of("--eta"),
            "predict", "-m", model, "-i", x, "--eta");
        add(cases, "usage", "predict without --eta", 2, List.of("Missing required option", "--eta"),
            "predict", "-m", model, "-i", x);
        add(cases, "usage", "predict --bogus", 2, List.of("Unknown option", "--bogus"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--bogus");
        add(cases, "usage", "an unknown command", 2, List.of("Unmatched argument", "guess"), "guess");
        add(cases, "usage", "tune --etas 0.1,-1", 2, List.of("--etas", "-1"), tune("--etas", "0.1,-1"));
        add(cases, "usage", "tune --etas ''", 2, List.of("--etas", "not a plain decimal"), tune("--etas", ""));
        add(cases, "usage", "tune -d 0.1,1.5", 2, List.of("--thresholds", "1.5"), tune("-d", "0.1,1.5"));
        add(cases, "usage", "tune --methods ''", 2, List.of("--methods"), tune("--methods", ""));
        add(cases, "usage", "tune --methods ifo,bogus", 2, List.of("--methods", "bogus"),
            tune("--methods", "ifo,bogus"));
        add(cases, "usage", "tune --plot t.gif", 2, List.of("--plot", ".png or .svg", "t.gif"),
            tune("--plot", dir.resolve("t.gif").toString()));
        add(cases, "usage", "tune --json a directory", 2, List.of(folder + " is a directory", "--json"),
            tune("--json", folder));
        final String pngFolder = Files.createDirectories(dir.resolve("plot.png")).toString();
        add(cases, "usage", "tune --plot a directory", 2, List.of(pngFolder + " is a directory", "--plot"),
            tune("--plot", pngFolder));
        for (final String seconds : new String[] {"0", "-1", "nan", "1e12"})
        {
            add(cases, "usage", "bench --seconds " + seconds, 2, List.of("--seconds"),
                "bench", "-m", model, "-i", x, "--seconds", seconds);
        }
        add(cases, "usage", "bench --eta -1", 2, List.of("--eta", "must be >= 0"),
            "bench", "-m", model, "-i", x, "--eta", "-1");
        add(cases, "usage", "bench --backends torch (safetensors)", 2, List.of("torch backend", "model.safetensors"),
            "bench", "-m", model, "-i", x, "--seconds", "0.01", "--backends", "native,torch");
        add(cases, "usage", "TorchScript CNN without --input-shape", 2, List.of("cnn.pt", "--input-shape"),
            "predict", "-m", CNN, "-i", x64, "--eta", "0.1");
        add(cases, "usage", "TorchScript CNN --backend native", 2, List.of("native backend", "cnn.pt"),
            "predict", "-m", CNN, "-i", x64, "--eta", "0.1", "--input-shape", "1,1,8,8", "--backend", "native");
        add(cases, "usage", "TorchScript CNN --input-shape 1,1,2,2", 2, List.of("--input-shape 1,1,2,2", "cnn.pt"),
            "predict", "-m", CNN, "-i", x64, "--eta", "0.1", "--input-shape", "1,1,2,2");
        add(cases, "usage", "TorchScript --input-shape 1,0", 2, List.of("--input-shape", ">= 1"),
            "predict", "-m", CNN, "-i", x64, "--eta", "0.1", "--input-shape", "1,0");
        add(cases, "usage", "TorchScript --activation tanh", 2, List.of("--activation", "cnn.pt"),
            "predict", "-m", CNN, "-i", x64, "--eta", "0.1", "--activation", "tanh");
        add(cases, "usage", "ONNX --input-shape 1,6", 2, List.of("--input-shape", "seq-relu.onnx"),
            "predict", "-m", ONNX + "seq-relu.onnx", "-i", x64, "--eta", "0.1", "--input-shape", "1,6");
        for (final String share : new String[] {"0", "1", "1.5", "-0.5", "nan"})
        {
            add(cases, "usage", "tune --holdout " + share, 2, List.of("--holdout"), tune("--holdout", share));
        }
        add(cases, "usage", "--steps 65 on the native backend", 2, List.of("--steps 65", "native_shadow"),
            "predict", "-m", model, "-i", x, "--eta", "0.1", "--steps", "65");
        add(cases, "usage", "tune --holdout with --folds", 2, List.of("--holdout and --folds exclude each other"),
            tune("--holdout", "0.3", "--folds", "3"));
        add(cases, "usage", "tune --folds 1", 2, List.of("--folds", "at least 2 folds"), tune("--folds", "1"));
        add(cases, "usage", "tune --folds 5 on 4 samples", 2, List.of("--folds 5 is more than the 4 samples"),
            tune("--folds", "5"));
        add(cases, "usage", "tune --seed 1.5", 2, List.of("--seed", "not a whole number"), tune("--seed", "1.5"));
        add(cases, "usage", "tune --band-window -1", 2, List.of("--band-window", "0 (no band) to 1000000"),
            tune("--band-window", "-1"));
        add(cases, "usage", "tune --config-out a directory", 2, List.of(folder + " is a directory", "--config-out"),
            tune("--config-out", folder));
        final String conf = write("tuned.conf", "learningRate=0.1\n[evidence]\nverdict=made by hand\n"
            .getBytes(StandardCharsets.UTF_8));
        add(cases, "usage", "predict --config with --eta", 2, List.of("--eta cannot come with --config", "tuned.conf"),
            "predict", "-m", model, "-i", x, "--config", conf, "--eta", "0.1");
        add(cases, "usage", "bench --config with --method", 2, List.of("--method cannot come with --config"),
            "bench", "-m", model, "-i", x, "--config", conf, "--method", "dofo");
        add(cases, "model", "predict --config a missing file", 3, List.of("no such file", "none.conf"),
            "predict", "-m", model, "-i", x, "--config", dir.resolve("none.conf").toString());
        add(cases, "model", "predict --config not a configuration", 3, List.of("refocus config", "x.csv",
            "config entry"), "predict", "-m", model, "-i", x, "--config", x);
        final String unfit = write("unfit.conf", "learningRate=0.1\nfocusClasses=3\n".getBytes(StandardCharsets.UTF_8));
        add(cases, "model", "predict --config that does not fit the model", 3, List.of("unfit.conf does not fit the "
            + "model", "focus classes (3) must be fewer than the model's classes (3)"), "predict", "-m", model, "-i", x,
            "--config", unfit);
        final String file = write("a-file", new byte[] {1});
        add(cases, "usage", "example --out a file", 2, List.of("--out", "a-file", "not a directory"),
            "--out", file);
    }

    /** Missing and malformed models: exit code 3. */
    private void models(final List<Case> cases) throws IOException
    {
        final String missing = dir.resolve("missing.safetensors").toString();
        add(cases, "model", "missing safetensors", 3, List.of("no such file", missing), predict(missing, x));
        final String folder = Files.createDirectories(dir.resolve("m.safetensors")).toString();
        add(cases, "model", "safetensors path is a directory", 3, List.of(folder + " is a directory"),
            predict(folder, x));
        final String ptFolder = Files.createDirectories(dir.resolve("m.pt")).toString();
        add(cases, "model", ".pt path is a directory", 3, List.of(ptFolder + " is a directory"), predict(ptFolder, x));
        add(cases, "model", "missing .pt", 3, List.of("no such file", "gone.pt"),
            predict(dir.resolve("gone.pt").toString(), x));
        final byte[] good = safetensors(10, 8, 3);
        add(cases, "model", "empty safetensors", 3, List.of("empty.safetensors", "0 bytes"),
            predict(write("empty.safetensors", new byte[0]), x));
        add(cases, "model", "truncated safetensors", 3, List.of("cut.safetensors"),
            predict(write("cut.safetensors", Arrays.copyOf(good, good.length - 7)), x));
        add(cases, "model", "garbage as safetensors", 3, List.of("garbage.safetensors"),
            predict(write("garbage.safetensors", random(3000, 5)), x));
        final byte[] huge = good.clone();
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MAX_VALUE);
        add(cases, "model", "safetensors header length 2^63-1", 3, List.of("huge.safetensors", "header length"),
            predict(write("huge.safetensors", huge), x));
        add(cases, "model", "safetensors of float64", 3, List.of("f64.safetensors", "F64"),
            predict(write("f64.safetensors", safetensorsRaw("F64", 8)), x));
        add(cases, "model", "safetensors shapes that do not chain", 3, List.of("chain.safetensors", "chain"),
            predict(write("chain.safetensors", chainBreak()), x));
        final byte[] nan = safetensors(10, 8, 3);
        ByteBuffer.wrap(nan).order(ByteOrder.LITTLE_ENDIAN).putFloat(nan.length - 4, Float.NaN); // the last bias
        add(cases, "model", "a NaN weight", 3, List.of("nanweight.safetensors", "NaN"),
            predict(write("nanweight.safetensors", nan), x));
        add(cases, "model", "a NaN weight (tune)", 3, List.of("nanweight.safetensors", "NaN"),
            tune("-m", dir.resolve("nanweight.safetensors").toString()));
        add(cases, "model", "a NaN weight (bench)", 3, List.of("nanweight.safetensors", "NaN"),
            "bench", "-m", dir.resolve("nanweight.safetensors").toString(), "-i", x, "--seconds", "0.01",
            "--backends", "native");
        add(cases, "model", "garbage as .onnx", 3, List.of("garbage.onnx", "not an ONNX model"),
            predict(write("garbage.onnx", random(3000, 6)), x));
        add(cases, "model", "empty .onnx", 3, List.of("empty.onnx", "not an ONNX model"),
            predict(write("empty.onnx", new byte[0]), x));
        add(cases, "model", "ONNX residual MLP", 3, List.of("residual.onnx", "the import stopped at Add '/Add'"),
            predict(ONNX + "residual.onnx", x));
        add(cases, "model", "garbage as .pt", 3, List.of("garbage.pt", "not a TorchScript file"),
            predict(write("garbage.pt", random(3000, 6)), x));
        add(cases, "model", "empty .pt", 3, List.of("empty.pt", "not a TorchScript file"),
            predict(write("empty.pt", new byte[0]), x));
        add(cases, "model", "a state dict as .pt", 3, List.of("state-dict.pt"), predict(TORCH + "state-dict.pt", x));
        add(cases, "model", "float64 TorchScript", 3, List.of("float64.pt", "float32"),
            predict(TORCH + "float64.pt", x));
        add(cases, "model", "TorchScript returning a tuple", 3, List.of("tuple-output.pt", "Tuple"),
            "predict", "-m", TORCH + "tuple-output.pt", "-i", x, "--eta", "0.1", "--input-shape", "1,4");
        add(cases, "model", "TorchScript returning a batch", 3, List.of("batch-output.pt", "one sample"),
            "predict", "-m", TORCH + "batch-output.pt", "-i", x, "--eta", "0.1", "--input-shape", "1,4");
        final Path fifo = dir.resolve("pipe.safetensors");
        if (mkfifo(fifo))
        {
            add(cases, "model", "a named pipe", 3, List.of(fifo + " is not a regular file"),
                predict(fifo.toString(), x));
        }
    }

    /** Missing and malformed samples: exit code 3. */
    private void inputs(final List<Case> cases) throws IOException
    {
        add(cases, "inputs", "missing", 3, List.of("no such file", "none.csv"),
            predict(model, dir.resolve("none.csv").toString()));
        final String folder = Files.createDirectories(dir.resolve("samples.npy")).toString();
        add(cases, "inputs", "a directory", 3, List.of(folder + " is a directory"), predict(model, folder));
        add(cases, "inputs", "unknown extension", 3, List.of("x.parquet", "unknown input format"),
            predict(model, write("x.parquet", new byte[] {1})));
        final Path fifo = dir.resolve("pipe.csv");
        if (mkfifo(fifo))
        {
            add(cases, "inputs", "a named pipe", 3, List.of(fifo + " is not a regular file"),
                predict(model, fifo.toString()));
        }
        // .npy
        final ByteBuffer floats = ByteBuffer.allocate(4 * 10 * 4).order(ByteOrder.LITTLE_ENDIAN);
        final byte[] good = npy("<f4", "(4, 10)", floats.array());
        add(cases, "inputs", "npy: empty", 3, List.of("e.npy", "empty"), predict(model, write("e.npy", new byte[0])));
        add(cases, "inputs", "npy: wrong magic", 3, List.of("magic.npy", "not a .npy file"),
            predict(model, write("magic.npy", "NUMPY and more bytes".getBytes(StandardCharsets.US_ASCII))));
        add(cases, "inputs", "npy: truncated header", 3, List.of("th.npy", "header"),
            predict(model, write("th.npy", Arrays.copyOf(good, 40))));
        add(cases, "inputs", "npy: truncated data", 3, List.of("td.npy", "truncated"),
            predict(model, write("td.npy", Arrays.copyOf(good, good.length - 3))));
        add(cases, "inputs", "npy: extra data", 3, List.of("xd.npy", "extra bytes"),
            predict(model, write("xd.npy", Arrays.copyOf(good, good.length + 4))));
        add(cases, "inputs", "npy: shape product overflows", 3, List.of("ov.npy", "4611686018427387905"),
            predict(model, write("ov.npy", npy("<f4", "(4611686018427387905, 784)", new byte[4 * 784]))));
        add(cases, "inputs", "npy: negative dimension", 3, List.of("neg.npy", "negative"),
            predict(model, write("neg.npy", npy("<f4", "(-1, 10)", new byte[40]))));
        add(cases, "inputs", "npy: 1-D", 3, List.of("one.npy", "[samples, features]"),
            predict(model, write("one.npy", npy("<f4", "(10,)", new byte[40]))));
        add(cases, "inputs", "npy: no samples", 3, List.of("zero.npy", "no sample"),
            predict(model, write("zero.npy", npy("<f4", "(0, 10)", new byte[0]))));
        add(cases, "inputs", "npy: int32", 3, List.of("int.npy", "float32 or float64", "<i4"),
            predict(model, write("int.npy", npy("<i4", "(4, 10)", new byte[160]))));
        add(cases, "inputs", "npy: big-endian float32", 3, List.of("be.npy", "unsupported dtype '>f4'"),
            predict(model, write("be.npy", npy(">f4", "(4, 10)", new byte[160]))));
        add(cases, "inputs", "npy: complex", 3, List.of("c.npy", "unsupported dtype '<c8'"),
            predict(model, write("c.npy", npy("<c8", "(4, 10)", new byte[320]))));
        add(cases, "inputs", "npy: Fortran order", 3, List.of("f.npy", "Fortran"),
            predict(model, write("f.npy", npyHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (4, 10), }",
                floats.array()))));
        add(cases, "inputs", "npy: header without a shape", 3, List.of("h.npy", "malformed .npy header"),
            predict(model, write("h.npy", npyHeader("{'descr': '<f4', 'fortran_order': False}", floats.array()))));
        add(cases, "inputs", "npy: version 9", 3, List.of("v.npy", "version 9"),
            predict(model, write("v.npy", version(good, 9))));
        final ByteBuffer nan = ByteBuffer.allocate(160).order(ByteOrder.LITTLE_ENDIAN);
        nan.putFloat((2 * 10 + 3) * 4, Float.NaN);
        add(cases, "inputs", "npy: a NaN", 3, List.of("nan.npy", "sample 2, value 4 is NaN"),
            predict(model, write("nan.npy", npy("<f4", "(4, 10)", nan.array()))));
        final ByteBuffer big = ByteBuffer.allocate(320).order(ByteOrder.LITTLE_ENDIAN);
        big.putDouble(8 * 11, 1e300);
        add(cases, "inputs", "npy: float64 beyond float32", 3, List.of("big.npy", "sample 1, value 2", "range"),
            predict(model, write("big.npy", npy("<f8", "(4, 10)", big.array()))));
        add(cases, "inputs", "npy: over 2 GiB (sparse)", 3, List.of("large.npy", "at most 2 GiB"),
            predict(model, sparse("large.npy", npy("<f4", "(1, 10)", new byte[40]), 3L << 30)));
        // CSV
        add(cases, "inputs", "csv: binary", 3, List.of("bin.csv", "not UTF-8", "line"),
            predict(model, write("bin.csv", random(5000, 7))));
        add(cases, "inputs", "csv: empty", 3, List.of("empty.csv", "empty"),
            predict(model, write("empty.csv", new byte[0])));
        add(cases, "inputs", "csv: blank lines only", 3, List.of("blank.csv", "no sample"),
            predict(model, text("blank.csv", "\n \n\n")));
        add(cases, "inputs", "csv: a header only", 3, List.of("header.csv", "no sample"),
            predict(model, text("header.csv", "a,b,c,d,e,f,g,h,i,j\n")));
        add(cases, "inputs", "csv: ragged", 3, List.of("ragged.csv", "line 3 (sample 2) has 9 values"),
            predict(model, text("ragged.csv", row(10) + row(10) + row(9))));
        add(cases, "inputs", "csv: text in the first sample", 3, List.of("first.csv", "line 1 (sample 0), value 3",
            "'x'"), predict(model, text("first.csv", "1,2,x,4,5,6,7,8,9,10\n" + row(10))));
        add(cases, "inputs", "csv: text in a later sample", 3, List.of("later.csv", "line 3 (sample 2), value 10",
            "'ten'"), predict(model, text("later.csv", row(10) + row(10) + "1,2,3,4,5,6,7,8,9,ten\n")));
        for (final String[] cell : new String[][] {{"0x1p-2", "hex"}, {"0.5f", "suffix-f"}, {"1d", "suffix-d"},
            {"1,5", "decimal-comma"}, {"1.", "trailing-dot"}, {"--1", "double-minus"}, {"1e", "bare-exponent"}})
        {
            add(cases, "inputs", "csv: '" + cell[0] + "'", 3, List.of(cell[1] + ".csv", "line 2 (sample 1)"),
                predict(model, text(cell[1] + ".csv", row(10) + "0,0,0,0,0,0,0,0,0," + cell[0] + "\n")));
        }
        add(cases, "inputs", "csv: trailing comma", 3, List.of("trail.csv", "line 1 (sample 0), value 11 is empty"),
            predict(model, text("trail.csv", "1,2,3,4,5,6,7,8,9,10,\n")));
        add(cases, "inputs", "csv: an empty cell", 3, List.of("hole.csv", "line 2 (sample 1), value 5 is empty"),
            predict(model, text("hole.csv", row(10) + "1,2,3,4,,6,7,8,9,10\n")));
        final StringBuilder thirteen = new StringBuilder();
        for (int i = 0; i < 12; i++)
        {
            thirteen.append(row(101));
        }
        add(cases, "inputs", "csv: nan", 3, List.of("nan.csv", "line 13 (sample 12), value 101 is NaN"),
            predict(model, text("nan.csv", thirteen + "0,".repeat(100) + "nan\n")));
        for (final String inf : new String[] {"inf", "-Infinity"})
        {
            add(cases, "inputs", "csv: " + inf, 3, List.of("inf" + inf.length() + ".csv",
                "line 2 (sample 1), value 1 is infinite"),
                predict(model, text("inf" + inf.length() + ".csv", row(10) + inf + ",0,0,0,0,0,0,0,0,0\n")));
        }
        add(cases, "inputs", "csv: beyond float32", 3, List.of("e39.csv", "value 2 is 1e39", "range"),
            predict(model, text("e39.csv", "0,1e39,0,0,0,0,0,0,0,0\n")));
        add(cases, "inputs", "csv: width not the model's", 3, List.of("wide.csv", "11 features", "model.safetensors",
            "takes 10"), predict(model, text("wide.csv", row(11))));
        // IDX
        final byte[] images = idx(IDX3, new int[] {4, 2, 5}, new byte[40]);
        add(cases, "inputs", "idx3: not gzip, not IDX", 3, List.of("junk-idx3-ubyte.gz", "not an IDX image file"),
            predict(model, write("junk-idx3-ubyte.gz", "hello, world, these are not pixels".getBytes(
                StandardCharsets.US_ASCII))));
        add(cases, "inputs", "idx3: empty", 3, List.of("empty-idx3-ubyte", "empty"),
            predict(model, write("empty-idx3-ubyte", new byte[0])));
        add(cases, "inputs", "idx3: a label file", 3, List.of("labels-idx3-ubyte.gz", "0x00000801"),
            predict(model, write("labels-idx3-ubyte.gz", gzip(idx(IDX1, new int[] {4}, new byte[4])))));
        add(cases, "inputs", "idx3: truncated header", 3, List.of("th-idx3-ubyte.gz", "truncated IDX header"),
            predict(model, write("th-idx3-ubyte.gz", gzip(Arrays.copyOf(images, 10)))));
        add(cases, "inputs", "idx3: truncated pixels (gz)", 3, List.of("tp-idx3-ubyte.gz", "truncated"),
            predict(model, write("tp-idx3-ubyte.gz", gzip(Arrays.copyOf(images, 40)))));
        final byte[] zipped = gzip(images);
        add(cases, "inputs", "idx3: truncated gzip stream", 3, List.of("tg-idx3-ubyte.gz", "truncated"),
            predict(model, write("tg-idx3-ubyte.gz", Arrays.copyOf(zipped, zipped.length - 12))));
        final byte[] corrupt = zipped.clone();
        corrupt[zipped.length - 6] ^= 0x55; // in the CRC-32 and length trailer
        add(cases, "inputs", "idx3: corrupt gzip trailer", 3, List.of("cg-idx3-ubyte.gz", "corrupt gzip"),
            predict(model, write("cg-idx3-ubyte.gz", corrupt)));
        add(cases, "inputs", "idx3: truncated pixels (raw)", 3, List.of("tr-idx3-ubyte", "truncated"),
            predict(model, write("tr-idx3-ubyte", Arrays.copyOf(images, 40))));
        add(cases, "inputs", "idx3: 2^31-1 images claimed", 3, List.of("many-idx3-ubyte.gz", "2147483647 images"),
            predict(model, write("many-idx3-ubyte.gz", gzip(idx(IDX3, new int[] {Integer.MAX_VALUE, 28, 28},
                new byte[784 * 3])))));
        add(cases, "inputs", "idx3: 46340^2 pixels claimed", 3, List.of("wide-idx3-ubyte.gz", "46340x46340"),
            predict(model, write("wide-idx3-ubyte.gz", gzip(idx(IDX3, new int[] {1, 46340, 46340}, new byte[100])))));
        add(cases, "inputs", "idx3: 46340^2 pixels claimed (raw)", 3, List.of("wide-idx3-ubyte", "truncated"),
            predict(model, write("wide-idx3-ubyte", idx(IDX3, new int[] {1, 46340, 46340}, new byte[100]))));
        add(cases, "inputs", "idx3: a negative count", 3, List.of("neg-idx3-ubyte.gz", "4294967295 images"),
            predict(model, write("neg-idx3-ubyte.gz", gzip(idx(IDX3, new int[] {-1, 2, 5}, new byte[40])))));
        add(cases, "inputs", "idx3: no image", 3, List.of("none-idx3-ubyte.gz", "no image"),
            predict(model, write("none-idx3-ubyte.gz", gzip(idx(IDX3, new int[] {0, 2, 5}, new byte[0])))));
        add(cases, "inputs", "idx3: extra bytes", 3, List.of("extra-idx3-ubyte.gz", "more data"),
            predict(model, write("extra-idx3-ubyte.gz", gzip(Arrays.copyOf(images, images.length + 10)))));
        // 1024 images of 2^21 - 16 pixels: 2 GiB of bytes on disk (sparse), 8 GiB as floats, over the test's -Xmx2g
        add(cases, "inputs", "idx3: float copy over the heap (sparse)", 3, List.of("heap-idx3-ubyte", "-Xmx",
            "memory"), predict(model, sparse("heap-idx3-ubyte", idx(IDX3, new int[] {1024, 1, (1 << 21) - 16},
            new byte[0]), 16 + 1024L * ((1 << 21) - 16))));
    }

    /** Missing, malformed and out-of-range labels: exit code 3. */
    private void labels(final List<Case> cases) throws IOException
    {
        add(cases, "labels", "missing", 3, List.of("no such file", "nolabels.csv"),
            tune("-l", dir.resolve("nolabels.csv").toString()));
        final String folder = Files.createDirectories(dir.resolve("labels.npy")).toString();
        add(cases, "labels", "a directory", 3, List.of(folder + " is a directory"), tune("-l", folder));
        add(cases, "labels", "csv: out of range", 3, List.of("y11.csv", "line 3 (sample 2): label 11", "3 classes"),
            tune("-l", text("y11.csv", "0\n1\n11\n2\n")));
        add(cases, "labels", "csv: negative", 3, List.of("yneg.csv", "line 2 (sample 1): label -1 is negative"),
            tune("-l", text("yneg.csv", "0\n-1\n1\n2\n")));
        add(cases, "labels", "csv: too few", 3, List.of("y3.csv", "3 labels", "4 samples", "x.csv"),
            tune("-l", text("y3.csv", "0\n1\n2\n")));
        add(cases, "labels", "csv: too many", 3, List.of("y5.csv", "5 labels", "4 samples"),
            tune("-l", text("y5.csv", "0\n1\n2\n1\n0\n")));
        add(cases, "labels", "csv: 1.5", 3, List.of("yhalf.csv", "line 4 (sample 3): label 1.5 is not a whole"),
            tune("-l", text("yhalf.csv", "0\n1\n2\n1.5\n")));
        add(cases, "labels", "csv: 0x1", 3, List.of("yhex.csv", "line 1 (sample 0)", "'0x1'"),
            tune("-l", text("yhex.csv", "0x1\n1\n2\n1\n")));
        add(cases, "labels", "csv: two per line", 3, List.of("ytwo.csv", "line 2 (sample 1) has 2 values"),
            tune("-l", text("ytwo.csv", "0\n1,2\n2\n1\n")));
        add(cases, "labels", "csv: binary", 3, List.of("ybin.csv", "not UTF-8"), tune("-l", write("ybin.csv",
            random(400, 8))));
        add(cases, "labels", "npy: float32", 3, List.of("yf.npy", "integers"),
            tune("-l", write("yf.npy", npy("<f4", "(4,)", new byte[16]))));
        final ByteBuffer negative = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        negative.putInt(8, -4);
        add(cases, "labels", "npy: negative", 3, List.of("yn.npy", "sample 2: label -4 is negative"),
            tune("-l", write("yn.npy", npy("<i4", "(4,)", negative.array()))));
        final ByteBuffer large = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        large.putLong(8, 1L << 40);
        add(cases, "labels", "npy: int64 beyond int", 3, List.of("yl.npy", "sample 1: label 1099511627776"),
            tune("-l", write("yl.npy", npy("<i8", "(4,)", large.array()))));
        add(cases, "labels", "npy: 2-D [4, 2]", 3, List.of("y2d.npy", "[samples]", "[4, 2]"),
            tune("-l", write("y2d.npy", npy("<i4", "(4, 2)", new byte[32]))));
        add(cases, "labels", "npy: truncated", 3, List.of("yt.npy", "truncated"),
            tune("-l", write("yt.npy", npy("<i4", "(4,)", new byte[12]))));
        add(cases, "labels", "idx1: out of range", 3, List.of("big-idx1-ubyte.gz", "sample 3: label 200"),
            tune("-l", write("big-idx1-ubyte.gz", gzip(idx(IDX1, new int[] {4}, new byte[] {0, 1, 2, (byte)200})))));
        add(cases, "labels", "idx1: too few", 3, List.of("few-idx1-ubyte.gz", "2 labels", "4 samples"),
            tune("-l", write("few-idx1-ubyte.gz", gzip(idx(IDX1, new int[] {2}, new byte[] {0, 1})))));
        add(cases, "labels", "idx1: claims more than it holds", 3, List.of("short-idx1-ubyte.gz", "truncated"),
            tune("-l", write("short-idx1-ubyte.gz", gzip(idx(IDX1, new int[] {4000}, new byte[4])))));
        add(cases, "labels", "idx1: an image file", 3, List.of("img-idx1-ubyte.gz", "0x00000803"),
            tune("-l", write("img-idx1-ubyte.gz", gzip(idx(IDX3, new int[] {4, 2, 5}, new byte[40])))));
        add(cases, "labels", "idx1: not gzip, not IDX", 3, List.of("junk-idx1-ubyte.gz", "not an IDX label file"),
            tune("-l", write("junk-idx1-ubyte.gz", random(100, 9))));
    }

    // --- command lines

    private void add(final List<Case> cases, final String category, final String name, final int code,
        final List<String> fragments, final String... args)
    {
        cases.add(new Case(category, name, code, fragments, args));
    }

    private String[] predict(final String modelFile, final String inputs)
    {
        return new String[] {"predict", "-m", modelFile, "-i", inputs, "--eta", "0.1"};
    }

    /** @return a tune command line on the good files, with some of its options replaced. */
    private String[] tune(final String... replaced)
    {
        final List<String> args = new ArrayList<>(List.of("tune", "-m", model, "-i", x, "-l", y, "--etas", "0.1",
            "--methods", "ifo", "--json", dir.resolve("t.json").toString(), "--plot", dir.resolve("t.png").toString(),
            "--config-out", dir.resolve("t.conf").toString()));
        for (int i = 0; i < replaced.length; i += 2)
        {
            final int at = args.indexOf(replaced[i]);
            if (at < 0)
            {
                args.addAll(List.of(replaced[i], replaced[i + 1]));
            }
            else
            {
                args.set(at + 1, replaced[i + 1]);
            }
        }
        return args.toArray(new String[0]);
    }

    // --- files

    private String write(final String name, final byte[] bytes) throws IOException
    {
        return Files.write(dir.resolve(name), bytes).toString();
    }

    private String text(final String name, final String text) throws IOException
    {
        return write(name, text.getBytes(StandardCharsets.UTF_8));
    }

    /** @return a file of the given length, sparse after its first bytes. */
    private String sparse(final String name, final byte[] head, final long length) throws IOException
    {
        final Path file = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw"))
        {
            f.write(head);
            f.setLength(length);
        }
        return file.toString();
    }

    private static boolean mkfifo(final Path path)
    {
        try
        {
            return new ProcessBuilder("mkfifo", path.toString()).start().waitFor() == 0;
        }
        catch (final IOException | InterruptedException e)
        {
            return false;
        }
    }

    private static byte[] random(final int n, final long seed)
    {
        final byte[] bytes = new byte[n];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** @return one CSV line of {@code n} small numbers. */
    private static String row(final int n)
    {
        final String[] v = new String[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = String.valueOf((i % 7) * 0.25 - 0.5);
        }
        return String.join(",", v) + "\n";
    }

    private static byte[] csv(final int rows, final int columns, final long seed)
    {
        final Random random = new Random(seed);
        final StringBuilder s = new StringBuilder();
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                s.append(j > 0 ? "," : "").append((float)random.nextGaussian());
            }
            s.append('\n');
        }
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] npy(final String descr, final String shape, final byte[] data)
    {
        return npyHeader("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }", data);
    }

    /** @return a version 1.0 .npy file: magic, header padded to 64 bytes, data. */
    private static byte[] npyHeader(final String dict, final byte[] data)
    {
        final StringBuilder header = new StringBuilder(dict);
        while ((10 + header.length() + 1) % 64 != 0)
        {
            header.append(' ');
        }
        header.append('\n');
        final ByteBuffer b = ByteBuffer.allocate(10 + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte)0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short)header.length());
        b.put(header.toString().getBytes(StandardCharsets.ISO_8859_1)).put(data);
        return b.array();
    }

    private static byte[] version(final byte[] npy, final int major)
    {
        final byte[] b = npy.clone();
        b[6] = (byte)major;
        return b;
    }

    private static final int IDX3 = 0x00000803;
    private static final int IDX1 = 0x00000801;

    private static byte[] idx(final int magic, final int[] dims, final byte[] data)
    {
        final ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + data.length);
        b.putInt(magic);
        for (final int d : dims)
        {
            b.putInt(d);
        }
        return b.put(data).array();
    }

    private static byte[] gzip(final byte[] bytes) throws IOException
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out))
        {
            z.write(bytes);
        }
        return out.toByteArray();
    }

    /** @return a safetensors file of an MLP inputs -> hidden -> classes with small seeded weights. */
    private static byte[] safetensors(final int inputs, final int hidden, final int classes)
    {
        final Random random = new Random(3);
        final int[][] shapes = {{hidden, inputs}, {hidden}, {classes, hidden}, {classes}};
        final String[] names = {"0.weight", "0.bias", "2.weight", "2.bias"};
        final float[][] values = new float[4][];
        for (int t = 0; t < 4; t++)
        {
            values[t] = new float[Arrays.stream(shapes[t]).reduce(1, (a, b) -> a * b)];
            for (int i = 0; i < values[t].length; i++)
            {
                values[t][i] = (float)(random.nextGaussian() * 0.5);
            }
        }
        return safetensors(names, shapes, values, "F32");
    }

    private static byte[] safetensors(final String[] names, final int[][] shapes, final float[][] values,
        final String dtype)
    {
        final StringBuilder json = new StringBuilder("{");
        int offset = 0;
        final ByteBuffer data = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (int t = 0; t < names.length; t++)
        {
            final int bytes = values[t].length * (dtype.equals("F64") ? 8 : 4);
            json.append(t > 0 ? "," : "").append('"').append(names[t]).append("\":{\"dtype\":\"").append(dtype)
                .append("\",\"shape\":").append(Arrays.toString(shapes[t]).replace(" ", ""))
                .append(",\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            for (final float v : values[t])
            {
                if (dtype.equals("F64"))
                {
                    data.putDouble(v);
                }
                else
                {
                    data.putFloat(v);
                }
            }
            offset += bytes;
        }
        json.append('}');
        final byte[] header = json.toString().getBytes(StandardCharsets.UTF_8);
        final ByteBuffer b = ByteBuffer.allocate(8 + header.length + offset).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).put(data.array(), 0, offset);
        return b.array();
    }

    private static byte[] safetensorsRaw(final String dtype, final int classes)
    {
        return safetensors(new String[] {"0.weight", "0.bias"}, new int[][] {{classes, 10}, {classes}},
            new float[][] {new float[classes * 10], new float[classes]}, dtype);
    }

    /** @return a safetensors MLP whose second layer takes 7 inputs from a first layer of 8 outputs. */
    private static byte[] chainBreak()
    {
        return safetensors(new String[] {"0.weight", "0.bias", "2.weight", "2.bias"},
            new int[][] {{8, 10}, {8}, {3, 7}, {3}},
            new float[][] {new float[80], new float[8], new float[21], new float[3]}, "F32");
    }
}
