package dev.refocus.example;

import dev.refocus.DenseNetwork;
import dev.refocus.Method;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.reference.ReferencePredictor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * The main job: refocus on real data. Loads the Fashion-MNIST MLP and the 3000 test images shipped in
 * {@code examples/fashion-mnist}, then predicts every image without and with refocus for each method and a few
 * learning rates, and prints accuracy, the share adapted, the answers changed and the per-sample latency.
 *
 * <p>Usage: {@code FashionMnistDemo [example-directory]} (default {@code examples/fashion-mnist}).
 */
public final class FashionMnistDemo
{
    static final String MODEL = "mlp-784-512-256-10.safetensors";
    static final String IMAGES = "test-3000-images-idx3-ubyte.gz";
    static final String LABELS = "test-3000-labels-idx1-ubyte.gz";
    /** The learning rate the example's sweep found best for weighted iFo (examples/fashion-mnist/sweep-results.txt). */
    static final float ETA = 0.65536f;
    /** A few rates of the paper's grid 5e-6 * 2^k around it. */
    private static final float[] SWEEP = {0.02048f, 0.08192f, 0.32768f, 1.31072f};

    private FashionMnistDemo()
    {
    }

    public static void main(final String[] args) throws IOException
    {
        final Path dir = Path.of(args.length > 0 ? args[0] : "examples/fashion-mnist");
        if (!Files.isDirectory(dir))
        {
            System.err.println("no example directory at " + dir.toAbsolutePath()
                + " (run from the repository root, or pass the directory)");
            System.exit(2);
        }
        final DenseNetwork network = DenseNetwork.load(dir.resolve(MODEL));
        final float[][] images = Idx.readImages(dir.resolve(IMAGES));
        final int[] labels = Idx.readLabels(dir.resolve(LABELS));

        System.out.printf(Locale.ROOT, "refocus on Fashion-MNIST: %s, %d test images (%s)%n", network, images.length, dir);
        System.out.println("backend: reference (plain Java, Algorithm 1 literally: the weights are copied for every "
            + "uncertain sample)");
        System.out.println("d = 0.16, n_f = 2, T = 1, gradient clipped to norm 1, all parameters adapt");
        System.out.println();
        warmUp(network, images, labels);

        System.out.println("method         eta      acc plain  acc refocus  adapted  ΔAcc uncertain  right→wrong"
            + "  wrong→right  certain µs p50/p99  uncertain µs p50/p99");
        for (final Method method : Method.values())
        {
            report(network, method, ETA, images, labels);
        }
        System.out.println();
        System.out.println("the learning rate matters (the paper tunes it per model):");
        for (final float eta : SWEEP)
        {
            report(network, Method.IFO_WEIGHTED, eta, images, labels);
            report(network, Method.DOFO, eta, images, labels);
        }
    }

    private static void warmUp(final DenseNetwork network, final float[][] images, final int[] labels)
    {
        final int n = Math.min(500, images.length);
        try (Predictor predictor = new ReferencePredictor(network, RefocusConfig.builder(ETA).build()))
        {
            Evaluation.run(predictor, Arrays.copyOf(images, n), Arrays.copyOf(labels, n));
        }
    }

    private static void report(final DenseNetwork network, final Method method, final float eta,
        final float[][] images, final int[] labels)
    {
        final RefocusConfig config = RefocusConfig.builder(eta).method(method).build();
        final Evaluation e;
        try (Predictor predictor = new ReferencePredictor(network, config))
        {
            e = Evaluation.run(predictor, images, labels);
        }
        System.out.printf(Locale.ROOT, "%-13s  %-7s  %8.2f%%  %10.2f%%  %6.1f%%  %+12.2f pp  %11d  %11d  %8.0f / %-8.0f  %8.0f / %-8.0f%n",
            method, eta, 100 * e.accuracyPlain(), 100 * e.accuracyRefocus(), 100.0 * e.adapted / e.samples,
            e.deltaOnUncertain(), e.rightToWrong, e.wrongToRight, e.certainMicros(0.5), e.certainMicros(0.99),
            e.uncertainMicros(0.5), e.uncertainMicros(0.99));
    }
}
