package dev.refocus.cli;

import dev.refocus.DenseNetwork;
import dev.refocus.Method;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.NativePredictor;
import dev.refocus.testing.SafetensorsWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The command line on the shipped example (examples/fashion-mnist), and its errors: each bad input is a clear
 * message and an exit code scripts can rely on.
 */
class RefocusCliTest
{
    private static final Path EXAMPLE = Path.of("examples/fashion-mnist");
    private static final String MODEL = EXAMPLE.resolve("mlp-784-512-256-10.safetensors").toString();
    private static final String IMAGES = EXAMPLE.resolve("test-3000-images-idx3-ubyte.gz").toString();
    private static final String LABELS = EXAMPLE.resolve("test-3000-labels-idx1-ubyte.gz").toString();
    private static DenseNetwork network;
    private static float[][] images;
    private static int[] labels;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() throws IOException
    {
        network = DenseNetwork.load(Path.of(MODEL));
        images = DataFiles.readInputs(Path.of(IMAGES)).rows();
        labels = DataFiles.readLabels(Path.of(LABELS)).values();
    }

    /** Runs the command line; returns {exit code, stdout, stderr}. */
    private static Object[] run(final String... args)
    {
        final Cli.Result r = Cli.run(args);
        return new Object[] {r.code(), r.out(), r.err()};
    }

    @Test
    void shouldShipTheMlpAndThreeThousandLabelledImages()
    {
        assertEquals("DenseNetwork[784 -> 512 relu -> 256 relu -> 10]", network.toString());
        assertEquals(3000, images.length);
        assertEquals(3000, labels.length);
        assertEquals(784, images[0].length);
    }

    @Test
    void shouldTuneLikeThePyTorchSweep() throws IOException
    {
        final Path json = dir.resolve("tune.json");
        final Path plot = dir.resolve("tune.png");
        final Object[] r = run("tune", "--model", MODEL, "--inputs", IMAGES, "--labels", LABELS,
            "--methods", "ifo_weighted,dofo", "--etas", "0.02048,0.65536", "--json", json.toString(),
            "--plot", plot.toString(), "--folds", "5", "--config-out", dir.resolve("r.conf").toString());
        assertEquals(0, r[0], (String)r[2]);
        final String out = (String)r[1];
        // k-fold prints every setting on all samples: the rows of examples/fashion-mnist/sweep-results.txt,
        // computed by PyTorch: 151 of 3000 adapt
        assertTrue(out.contains("IFO_WEIGHTED    0.160  0.6554         88.83%       88.93%     5.0%"), out);
        assertTrue(out.contains("DOFO            0.160  0.6554         88.83%       88.70%     5.0%"), out);
        assertTrue(out.contains("selected: IFO_WEIGHTED    0.160  0.6554"), out);
        final String written = Files.readString(json);
        assertTrue(written.contains("\"best\": {\"method\": \"IFO_WEIGHTED\""), written);
        assertTrue(written.contains("\"rightToWrong\": 6, \"wrongToRight\": 9"), written);
        assertTrue(out.contains("stratified 5-fold cross-validation of 3000 samples, seed 1"), out);
        assertTrue(written.contains("\"heldOut\": {\"samples\": 3000,"), written);
        final byte[] png = Files.readAllBytes(plot);
        assertTrue(png.length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G');
    }

    @Test
    void shouldSelectOnHalfTheSamplesAndReportOnTheOtherHalf() throws IOException
    {
        final Path json = dir.resolve("tune.json");
        final Object[] r = run("tune", "--model", MODEL, "--inputs", IMAGES, "--labels", LABELS,
            "--methods", "ifo_weighted,dofo", "--etas", "0.02048,0.65536", "--json", json.toString(),
            "--plot", dir.resolve("tune.svg").toString(), "--config-out", dir.resolve("r.conf").toString());
        assertEquals(0, r[0], (String)r[2]);
        final String out = (String)r[1];
        // half of each class, rounded (classes of odd size hold out one more)
        assertTrue(out.contains("stratified held-out split: 1498 samples select, 1502 held out (share 0.5), seed 1"),
            out);
        assertTrue(out.contains("selection, on the 1498 tuning samples:"), out);
        assertTrue(out.contains("held out (1502 samples, "), out);
        assertTrue(out.contains("McNemar exact p = "), out);
        assertTrue(out.contains("verdict: significant gain: switch on with this file")
            || out.contains("verdict: no significant gain at 5 %: keep refocus off")
            || out.contains("verdict: significant loss at 5 %: keep refocus off"), out);
        final String written = Files.readString(json);
        assertTrue(written.contains("\"kind\": \"holdout\""), written);
        assertTrue(written.contains("\"mcNemarP\": "), written);
        assertTrue(written.contains("\"heldOutRows\": ["), written);
        final String svg = Files.readString(dir.resolve("tune.svg"));
        assertTrue(svg.contains("<svg") && svg.length() > 10_000, "an SVG plot");
    }

    @Test
    void shouldRunWhatTuneSelected() throws IOException
    {
        final Path conf = dir.resolve("tuned.conf");
        Object[] r = run("tune", "--model", MODEL, "--inputs", IMAGES, "--labels", LABELS, "--methods", "ifo_weighted",
            "--etas", "0.02048,0.65536", "--json", dir.resolve("t.json").toString(), "--plot",
            dir.resolve("t.png").toString(), "--config-out", conf.toString(), "--band-window", "500");
        assertEquals(0, r[0], (String)r[2]);
        final boolean gain = ((String)r[1]).contains("verdict: significant gain");
        final RefocusConfig config = RefocusConfig.load(conf);
        assertEquals(Method.IFO_WEIGHTED, config.method());
        assertTrue(config.learningRate() == 0.02048f || config.learningRate() == 0.65536f, config.toString());
        assertEquals(!gain, config.observeOnly(), "observe-only unless the verdict is a gain");
        assertEquals(500, config.band().window());

        final Path csv = dir.resolve("p.csv");
        r = run("predict", "-m", MODEL, "-i", IMAGES, "--config", conf.toString(), "-o", csv.toString());
        assertEquals(0, r[0], (String)r[2]);
        assertTrue(((String)r[2]).contains("refocus: running " + conf + ": " + config + " (tune's verdict: "),
            (String)r[2]);
        assertTrue(((String)r[2]).contains("refocus: 3000 samples, 151 adapted, "), (String)r[2]);
        final List<String> rows = Files.readAllLines(csv);
        // what the file says runs: the same rows as predict with its settings given as options
        final Path same = dir.resolve("same.csv");
        r = run("predict", "-m", MODEL, "-i", IMAGES, "--eta", Float.toString(config.learningRate()), "-d",
            Float.toString(config.marginThreshold()), "-o", same.toString());
        assertEquals(0, r[0], (String)r[2]);
        final List<String> refocused = Files.readAllLines(same);
        if (config.observeOnly())
        {
            assertTrue(rows.stream().skip(1).allMatch(l -> l.contains(",false,")), "observe-only: nothing adapts");
            for (int i = 1; i < rows.size(); i++)
            {
                final String[] o = rows.get(i).split(",");
                final String[] a = refocused.get(i).split(",");
                assertEquals(o[1], o[2], "the plain answer");
                assertEquals(a[1], o[1], "the same plain pass");
                assertEquals(a[4], o[4], "the same margin");
            }
        }
        else
        {
            assertEquals(refocused, rows);
        }

        r = run("bench", "-m", MODEL, "--config", conf.toString(), "--seconds", "0.02", "--backends", "native");
        assertEquals(0, r[0], (String)r[2]);
        assertTrue(((String)r[1]).contains("IFO_WEIGHTED, η = " + config.learningRate()), (String)r[1]);
    }

    @Test
    void shouldRefuseOptionsThatAConfigFileSetsAndFilesThatDoNotFit() throws IOException
    {
        final Path conf = dir.resolve("c.conf");
        Files.writeString(conf, "# hand-written\nlearningRate=0.5\ncandidates=0,11\n");
        assertError(2, "--eta cannot come with --config " + conf + ", which sets it", "predict", "-m", MODEL, "-i",
            IMAGES, "--config", conf.toString(), "--eta", "0.1");
        assertError(2, "--threshold cannot come with --config", "predict", "-m", MODEL, "-i", IMAGES, "--config",
            conf.toString(), "-d", "0.1");
        assertError(2, "--steps cannot come with --config", "bench", "-m", MODEL, "--config", conf.toString(),
            "--steps", "2");
        assertError(3, conf + " does not fit the model " + MODEL + ": candidate class 11 is out of range", "predict",
            "-m", MODEL, "-i", IMAGES, "--config", conf.toString());
        Files.writeString(conf, "learningRate=0.5\nbandWindow=10\n");
        assertError(3, "refocus config " + conf + ": config key 'bandAdaptedShare' is missing", "predict", "-m", MODEL,
            "-i", IMAGES, "--config", conf.toString());
        assertError(3, "no such file: " + dir.resolve("none.conf"), "predict", "-m", MODEL, "-i", IMAGES, "--config",
            dir.resolve("none.conf").toString());
    }

    @Test
    void shouldSweepLikeOnePredictionPerRate()
    {
        final float[] etas = {0.01f, 0.1f, 0.65536f, 2.0f};
        final float[] thresholds = {0.05f, 0.16f};
        final float[][] x = Arrays.copyOf(images, 400);
        final int[] y = Arrays.copyOf(labels, 400);
        final Options.Step step = new Options.Step();
        CommandLine.populateCommand(step);
        final Options.Loaded model = new Options.Loaded(Path.of(MODEL), network, null);
        for (final Options.Backend backend : List.of(Options.Backend.NATIVE, Options.Backend.NATIVE_SHADOW,
            Options.Backend.REFERENCE))
        {
            final List<Tune.Row> rows = Tune.sweep(m -> backend.create(model, step.config(m, 0.1f, 0.16f)),
                List.of(Method.IFO_WEIGHTED, Method.DOFO), etas, thresholds, x, y, done -> { });
            for (final Tune.Row row : rows)
            {
                final Evaluation e = Evaluation.of(backend, model, step.config(row.method(), row.eta(),
                    row.threshold()), x, y);
                assertEquals(e.adapted, row.adapted(), backend + " " + row);
                assertEquals(e.correctRefocus, row.correctRefocus(), backend + " " + row);
                assertEquals(e.rightToWrong, row.rightToWrong(), backend + " " + row);
            }
        }
    }

    @Test
    void shouldPredictOneRowPerSample() throws IOException
    {
        final Path csv = dir.resolve("p.csv");
        Object[] r = run("predict", "-m", MODEL, "-i", IMAGES, "--eta", "0.65536", "-o", csv.toString());
        assertEquals(0, r[0], (String)r[2]);
        final List<String> lines = Files.readAllLines(csv);
        assertEquals(3001, lines.size());
        assertEquals("index,initial_class,final_class,adapted,margin", lines.get(0));
        assertEquals(151, lines.stream().filter(l -> l.contains(",true,")).count());
        final Path jsonl = dir.resolve("p.jsonl");
        r = run("predict", "-m", MODEL, "-i", IMAGES, "--eta", "0.65536", "--format", "jsonl", "-o",
            jsonl.toString(), "--backend", "reference", "--steps", "2", "--adapt", "last:2");
        assertEquals(0, r[0], (String)r[2]);
        assertTrue(Files.readAllLines(jsonl).get(0).startsWith("{\"index\":0,\"initial_class\":9,\"final_class\":9"));
    }

    /**
     * --weights bf16 runs the rounded network: most printed margins move a little (those near 1 stay), few decisions
     * do; the native and the reference backends run the same bf16 model; libtorch refuses it; a tuned configuration
     * says it was tuned on bf16 weights.
     */
    @Test
    void shouldPredictWithBf16WeightsOnRequest() throws IOException
    {
        final Path f32 = dir.resolve("f32.csv");
        final Path bf16 = dir.resolve("bf16.csv");
        final Path reference = dir.resolve("reference.csv");
        Object[] r = run("predict", "-m", MODEL, "-i", IMAGES, "--eta", "0.65536", "-o", f32.toString());
        assertEquals(0, r[0], (String)r[2]);
        r = run("predict", "-m", MODEL, "-i", IMAGES, "--eta", "0.65536", "-o", bf16.toString(), "--weights", "bf16");
        assertEquals(0, r[0], (String)r[2]);
        r = run("predict", "-m", MODEL, "-i", IMAGES, "--eta", "0.65536", "-o", reference.toString(), "--weights",
            "BF16", "--backend", "reference");
        assertEquals(0, r[0], (String)r[2]);
        final List<String> a = Files.readAllLines(f32);
        final List<String> b = Files.readAllLines(bf16);
        final List<String> c = Files.readAllLines(reference);
        int marginsMoved = 0;
        int decisionsKept = 0;
        int sameAsReference = 0;
        for (int i = 1; i < a.size(); i++)
        {
            final String[] x = a.get(i).split(",");
            final String[] y = b.get(i).split(",");
            final String[] z = c.get(i).split(",");
            marginsMoved += x[4].equals(y[4]) ? 0 : 1;
            decisionsKept += x[1].equals(y[1]) && x[2].equals(y[2]) && x[3].equals(y[3]) ? 1 : 0;
            sameAsReference += y[1].equals(z[1]) && y[2].equals(z[2]) && y[3].equals(z[3])
                && Math.abs(Double.parseDouble(y[4]) - Double.parseDouble(z[4])) <= 1e-5 ? 1 : 0;
        }
        assertTrue(marginsMoved > 1500, "margins moved by bf16: " + marginsMoved);
        assertTrue(decisionsKept > 2950, "decisions kept: " + decisionsKept);
        assertTrue(sameAsReference > 2990, "native bf16 as the reference on bf16: " + sameAsReference);
        final Path conf = dir.resolve("bf16.conf");
        r = run("tune", "-m", MODEL, "-i", IMAGES, "-l", LABELS, "--methods", "ifo_weighted", "--etas", "0.65536",
            "-d", "0.16", "--weights", "bf16", "--json", dir.resolve("bf16.json").toString(), "--plot",
            dir.resolve("bf16.png").toString(), "--config-out", conf.toString());
        assertEquals(0, r[0], (String)r[2]);
        assertTrue(Files.readString(conf).contains("model=" + MODEL + " (bf16 weights: --weights bf16)\n"),
            Files.readString(conf));
        assertError(2, "expected f32 or bf16, got 'fp8'", "predict", "-m", MODEL, "-i", IMAGES, "--eta", "0.1",
            "--weights", "fp8");
        assertError(2, "the torch backend runs the model's own float32 weights", "predict", "-m",
            "torch/src/test/resources/dev/refocus/torch/mlp-relu.pt", "-i", randomCsv("x6.csv", 6).toString(),
            "--eta", "0.1", "--weights", "bf16", "--backend", "torch");
    }

    @Test
    void shouldBenchEveryBackend()
    {
        final Object[] r = run("bench", "-m", MODEL, "-i", IMAGES, "--seconds", "0.05");
        assertEquals(0, r[0], (String)r[2]);
        final String out = (String)r[1];
        assertTrue(out.contains("native kernels: " + NativePredictor.kernelVariant()), out);
        for (final String row : new String[] {"native          plain", "native          certain",
            "native          uncertain", "native-shadow   uncertain", "reference       uncertain"})
        {
            assertTrue(out.contains(row), out);
        }
    }

    @Test
    void shouldFailClearlyWithExitCodesScriptsCanUse() throws IOException
    {
        assertError(2, "Missing required option", "predict", "-i", IMAGES, "--eta", "0.1");
        assertError(2, "Unknown option: '--bogus'", "tune", "-m", MODEL, "-i", IMAGES, "-l", LABELS, "--bogus");
        assertError(2, "Invalid value", "predict", "-m", MODEL, "-i", IMAGES, "--eta", "fast");
        assertError(3, "no such file: nowhere.safetensors", "predict", "-m", "nowhere.safetensors", "-i", IMAGES,
            "--eta", "0.1");
        assertError(3, "x.csv: its samples have 784 features, the model", "predict", "-m", tinyModel(), "-i",
            csv784(), "--eta", "0.1");
        final Path labels = dir.resolve("labels.csv");
        Files.writeString(labels, "1\n2\n11\n");
        final Path inputs = dir.resolve("x10.csv");
        Files.writeString(inputs, "a,b,c,d,e,f,g,h,i,j\n" + "0,0,0,0,0,0,0,0,0,1\n".repeat(3));
        assertError(3, "labels.csv: line 3 (sample 2): label 11 is outside the model's 3 classes", "tune", "-m",
            tinyModel(), "-i", inputs.toString(), "-l", labels.toString(), "--json", dir.resolve("t.json").toString(),
            "--plot", dir.resolve("t.png").toString());
        assertError(2, "the learning rate must be >= 0, got -1", "predict", "-m", MODEL, "-i", IMAGES, "--eta", "-1");
        assertError(2, "expected all, head, biases or last:K", "predict", "-m", MODEL, "-i", IMAGES, "--eta", "0.1",
            "--adapt", "some");
        assertError(2, "--plot takes a .png or .svg file", "tune", "-m", MODEL, "-i", IMAGES, "-l", LABELS,
            "--etas", "0.1", "--methods", "ifo", "--json", dir.resolve("t.json").toString(), "--plot",
            dir.resolve("t.gif").toString());
        final Path npy = dir.resolve("bad.npy");
        Files.write(npy, new byte[] {1, 2, 3});
        assertError(3, "not a .npy file", "predict", "-m", MODEL, "-i", npy.toString(), "--eta", "0.1");
    }

    /** @return a CSV file of one sample of 784 zeros. */
    private String csv784() throws IOException
    {
        final Path file = dir.resolve("x.csv");
        Files.writeString(file, "0,".repeat(783) + "0\n");
        return file.toString();
    }

    /** A custom module (attributes l0, l1, l2; GELU) and a scripted Sequential answer as their safetensors twins. */
    @Test
    void shouldRunAnyTorchScriptMlpOnTheNativeBackendAsItsSafetensorsTwin() throws IOException
    {
        final String graph = "torch/src/test/resources/dev/refocus/torch/graph/";
        final Path x = randomCsv("x6.csv", 6);
        for (final String[] pair : new String[][] {
            {"custom-gelu-traced.pt", "custom-gelu.safetensors"}, {"seq-silu-scripted.pt", "seq-silu.safetensors"}})
        {
            final Path fromTorchScript = dir.resolve(pair[0] + ".csv");
            final Path fromSafetensors = dir.resolve(pair[1] + ".csv");
            Object[] r = run("predict", "-m", graph + pair[0], "-i", x.toString(), "--eta", "0.5", "-o",
                fromTorchScript.toString());
            assertEquals(0, r[0], (String)r[2]);
            r = run("predict", "-m", graph + pair[1], "-i", x.toString(), "--eta", "0.5", "-o",
                fromSafetensors.toString(), "--backend", "native");
            assertEquals(0, r[0], (String)r[2]);
            assertEquals(21, Files.readAllLines(fromTorchScript).size());
            assertEquals(Files.readAllLines(fromSafetensors), Files.readAllLines(fromTorchScript), pair[0]);
        }
    }

    /** An ONNX MLP (torch's Erf GELU and SiLU) runs on the native backend by default and answers as its twin. */
    @Test
    void shouldRunAnOnnxMlpOnTheNativeBackendAsItsSafetensorsTwin() throws IOException
    {
        final String models = "onnx/src/test/resources/dev/refocus/onnx/";
        final Path x = randomCsv("x6.csv", 6);
        final Path fromOnnx = dir.resolve("onnx.csv");
        final Path fromSafetensors = dir.resolve("safetensors.csv");
        Object[] r = run("predict", "-m", models + "custom-gelu-silu.onnx", "-i", x.toString(), "--eta", "0.5", "-o",
            fromOnnx.toString());
        assertEquals(0, r[0], (String)r[2]);
        r = run("predict", "-m", models + "custom-gelu-silu.safetensors", "-i", x.toString(), "--eta", "0.5", "-o",
            fromSafetensors.toString(), "--backend", "native");
        assertEquals(0, r[0], (String)r[2]);
        assertEquals(21, Files.readAllLines(fromOnnx).size());
        assertEquals(Files.readAllLines(fromSafetensors), Files.readAllLines(fromOnnx));
        r = run("predict", "-m", models + "conv.onnx", "-i", x.toString(), "--eta", "0.5");
        assertEquals(3, r[0], (String)r[2]);
        assertTrue(((String)r[2]).contains("the import stopped at Unsqueeze"), (String)r[2]);
        r = run("predict", "-m", models + "seq-relu.onnx", "-i", x.toString(), "--eta", "0.5", "--backend", "torch");
        assertEquals(2, r[0], (String)r[2]);
        assertTrue(((String)r[2]).contains("is read as ONNX"), (String)r[2]);
    }

    @Test
    void shouldRunTorchScriptModels() throws IOException
    {
        // an MLP: imported for the native backend, and run by libtorch too
        final String mlp = "torch/src/test/resources/dev/refocus/torch/mlp-relu.pt";
        final Path x = randomCsv("x6.csv", 6);
        final Path nativeOut = dir.resolve("native.csv");
        final Path torchOut = dir.resolve("torch.csv");
        Object[] r = run("predict", "-m", mlp, "-i", x.toString(), "--eta", "0.5", "-o", nativeOut.toString());
        assertEquals(0, r[0], (String)r[2]);
        r = run("predict", "-m", mlp, "-i", x.toString(), "--eta", "0.5", "-o", torchOut.toString(), "--backend",
            "torch");
        assertEquals(0, r[0], (String)r[2]);
        final List<String> a = Files.readAllLines(nativeOut);
        final List<String> b = Files.readAllLines(torchOut);
        assertEquals(21, a.size());
        for (int i = 1; i < a.size(); i++) // the same classes and decisions; margins to float precision
        {
            final String[] p = a.get(i).split(",");
            final String[] q = b.get(i).split(",");
            assertEquals(p[1] + p[2] + p[3], q[1] + q[2] + q[3], a.get(i) + " vs " + b.get(i));
        }
        r = run("bench", "-m", mlp, "-i", x.toString(), "--seconds", "0.02");
        assertEquals(0, r[0], (String)r[2]);
        assertTrue(((String)r[1]).contains("torch           uncertain"), (String)r[1]);

        // a CNN: libtorch only, with its input shape
        final String cnn = "torch/src/test/resources/dev/refocus/torch/cnn.pt";
        final Path images = randomCsv("x64.csv", 64);
        r = run("predict", "-m", cnn, "-i", images.toString(), "--eta", "0.5", "--input-shape", "1,1,8,8");
        assertEquals(0, r[0], (String)r[2]);
        assertEquals(21, ((String)r[1]).lines().count());
        assertError(2, "give its input shape with --input-shape", "predict", "-m", cnn, "-i", images.toString(),
            "--eta", "0.5");
        assertError(2, "the native backend needs a dense network", "predict", "-m", cnn, "-i", images.toString(),
            "--eta", "0.5", "--input-shape", "1,1,8,8", "--backend", "native");
    }

    @Test
    void shouldHelpOnEveryCommand()
    {
        for (final String command : new String[] {"predict", "tune", "bench"})
        {
            final Object[] r = run(command, "--help");
            assertEquals(0, r[0]);
            assertTrue(((String)r[1]).contains("Usage: refocus " + command), (String)r[1]);
        }
        final Object[] top = run("--help");
        assertEquals(0, top[0]);
        assertTrue(((String)top[1]).contains("Commands:"), (String)top[1]);
    }

    /** One whole prediction per sample: what a sweep row must equal. */
    private static final class Evaluation
    {
        int adapted;
        int correctRefocus;
        int rightToWrong;

        static Evaluation of(final Options.Backend backend, final Options.Loaded network,
            final RefocusConfig config, final float[][] x, final int[] y)
        {
            final Evaluation e = new Evaluation();
            try (Predictor predictor = backend.create(network, config))
            {
                final Prediction p = predictor.newPrediction();
                for (int i = 0; i < x.length; i++)
                {
                    predictor.predict(x[i], p);
                    e.adapted += p.adapted() ? 1 : 0;
                    e.correctRefocus += p.finalClass() == y[i] ? 1 : 0;
                    e.rightToWrong += p.initialClass() == y[i] && p.finalClass() != y[i] ? 1 : 0;
                }
            }
            return e;
        }
    }

    /** @return a CSV file of 20 samples of standard normal features. */
    private Path randomCsv(final String name, final int features) throws IOException
    {
        final StringBuilder rows = new StringBuilder();
        final Random random = new Random(1);
        for (int i = 0; i < 20; i++)
        {
            final String[] v = new String[features];
            for (int j = 0; j < features; j++)
            {
                v[j] = String.valueOf((float)random.nextGaussian());
            }
            rows.append(String.join(",", v)).append('\n');
        }
        final Path file = dir.resolve(name);
        Files.writeString(file, rows.toString());
        return file;
    }

    /** A 10 -> 3 model, written as safetensors. */
    private String tinyModel() throws IOException
    {
        final Path file = dir.resolve("tiny.safetensors");
        new SafetensorsWriter().add("0.weight", new int[] {3, 10}, new float[30])
            .add("0.bias", new int[] {3}, new float[3]).write(file);
        return file.toString();
    }

    private static void assertError(final int code, final String fragment, final String... args)
    {
        final Object[] r = run(args);
        assertEquals(code, r[0], () -> String.join(" ", args) + " -> " + r[2]);
        assertTrue(((String)r[2]).contains(fragment), () -> "stderr '" + r[2] + "' lacks '" + fragment + "'");
    }
}
