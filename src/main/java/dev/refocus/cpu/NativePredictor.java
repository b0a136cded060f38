package dev.refocus.cpu;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.ParameterSubset;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.internal.DenseNetworkAccess;
import dev.refocus.internal.bindings.DenseNative;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;

import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Objects;

import static dev.refocus.internal.NativeMemory.owned;
import static dev.refocus.internal.bindings.RefocusCommonNative.check;

/**
 * The native CPU backend for dense networks: the fused refocus step of {@code refocus/dense.h}, vectorised for the
 * CPU it runs on. A prediction is one native call and allocates nothing: inputs and results cross through direct
 * buffers over the predictor's off-heap workspace, and the network's weights are one off-heap block shared
 * read-only by all its predictors.
 *
 * <pre>{@code
 * try (NativePredictor predictor = NativePredictor.create(network, config)) {
 *     Prediction out = predictor.newPrediction();
 *     predictor.predict(features, out);
 * }
 * }</pre>
 *
 * <p><b>Note:</b> This class is not thread-safe: see {@link Predictor}. The workspace is freed by {@link #close()},
 * and by a {@link Cleaner} if a predictor is dropped without it.
 */
public final class NativePredictor extends Predictor
{
    /** How the adapted parameters &theta;' are held (docs/DESIGN.md section 2). */
    public enum Mode
    {
        /**
         * No weight is written: the second forward pass applies the step's rank-one terms (the default). Takes at
         * most {@link #MAX_IMPLICIT_STEPS} steps: its cost grows with T&sup2;.
         */
        IMPLICIT,
        /** &theta;' is written out of place into the predictor's shadow buffer for the tensors the step changes. */
        SHADOW
    }

    /**
     * The most steps T that {@link Mode#IMPLICIT} takes: 64. Its cost grows with T&sup2; (step k applies the k
     * rank-one terms of the steps before it to every adapted layer), while {@link Mode#SHADOW} pays the same weight
     * traffic at every step. On the benchmark models of docs/DESIGN.md section 5, shadow mode is as fast from T = 24
     * on model S (32 -> 64 -> 64 -> 3) and from T = 256 on model M (256 -> 1024 -> 1024 -> 32); at 64, implicit mode
     * is within about 2x of shadow mode on both, either way. Beyond it, creating an implicit predictor fails: ask for
     * {@link Mode#SHADOW}, which takes any T. From {@code REFOCUS_MAX_IMPLICIT_STEPS} in {@code refocus/dense.h}.
     */
    public static final int MAX_IMPLICIT_STEPS = DenseNative.REFOCUS_MAX_IMPLICIT_STEPS;

    private static final Cleaner CLEANER = Cleaner.create();
    private static final String STEP = "native dense step";

    private final DenseNetwork network; // keeps the shared parameter block alive
    private final Mode mode;
    private final int maxBatch;
    private final Cleaner.Cleanable cleanable;
    private final long context;
    private final FloatBuffer inputs;
    private final FloatBuffer logits;
    private final FloatBuffer margins;
    private final IntBuffer answers;

    private NativePredictor(final DenseNetwork network, final RefocusConfig config, final Mode mode, final int maxBatch)
    {
        super(network.inputSize(), network.classes(), config);
        config.checkFits(network.classes(), network.layers());
        this.network = network;
        this.mode = Objects.requireNonNull(mode, "mode");
        if (maxBatch < 1)
        {
            throw new IllegalArgumentException("max batch must be >= 1, got " + maxBatch);
        }
        this.maxBatch = maxBatch;
        if (mode == Mode.IMPLICIT && config.steps() > MAX_IMPLICIT_STEPS)
        {
            throw new IllegalArgumentException("T = " + config.steps() + " steps is more than Mode.IMPLICIT takes ("
                + MAX_IMPLICIT_STEPS + ": its cost grows with T squared); use Mode.SHADOW, which takes any T: "
                + "NativePredictor.create(network, config, Mode.SHADOW, maxBatch)");
        }

        final int layers = network.layers();
        final int[] sizes = new int[layers + 1];
        final int[] activations = new int[layers];
        sizes[0] = network.inputSize();
        for (int l = 0; l < layers; l++)
        {
            sizes[l + 1] = network.outputSize(l);
            activations[l] = activationCode(network.activation(l));
        }
        final int[] candidates = config.hasCandidates() ? config.candidates() : null;
        final ParameterSubset subset = config.parameters();
        final BytePointer workspace;
        // the configuration is copied into the workspace by init: these native arrays only live through set-up
        try (IntPointer sizesPointer = owned(new IntPointer(sizes));
            IntPointer activationsPointer = owned(new IntPointer(activations));
            IntPointer candidatesPointer = candidates == null ? null : owned(new IntPointer(candidates));
            DenseNative.Config cfg = owned(new DenseNative.Config()))
        {
            cfg.n_layers(layers).sizes(sizesPointer).activations(activationsPointer)
                .params(DenseNetworkAccess.parameterBlock(network)).method(config.method().nativeCode())
                .n_focus(config.focusClasses()).steps(config.steps()).clip_norm(config.clipNorm())
                .first_adapted_layer(subset.firstAdaptedLayer(layers))
                .biases_only(subset.adaptsWeights() ? 0 : 1)
                .candidates(candidatesPointer).n_candidates(candidates == null ? 0 : candidates.length)
                .mode(mode == Mode.SHADOW ? DenseNative.REFOCUS_MODE_SHADOW : DenseNative.REFOCUS_MODE_IMPLICIT)
                .max_batch(maxBatch);
            final long size = DenseNative.refocus_dense_workspace_size(cfg);
            if (size <= 0 || size > Integer.MAX_VALUE)
            {
                throw new IllegalArgumentException("the native backend cannot hold this network and configuration ("
                    + (size <= 0 ? "rejected" : size + " bytes of workspace") + ")");
            }
            workspace = owned(new BytePointer(size));
            this.context = DenseNative.refocus_dense_init_static(workspace, size, cfg);
            if (context == 0)
            {
                workspace.close();
                throw new IllegalStateException("the native backend rejected a checked configuration: " + config);
            }
        }
        this.cleanable = CLEANER.register(this, workspace::close);

        final ByteBuffer all = workspace.asByteBuffer();
        final long base = workspace.address();
        final int classes = network.classes();
        this.inputs = region(all, DenseNative.refocus_dense_inputs(context) - base, maxBatch * sizes[0]).asFloatBuffer();
        this.logits = region(all, DenseNative.refocus_dense_logits(context) - base, maxBatch * classes).asFloatBuffer();
        this.margins = region(all, DenseNative.refocus_dense_margins(context) - base, maxBatch).asFloatBuffer();
        this.answers = region(all, DenseNative.refocus_dense_answers(context) - base, maxBatch * 3).asIntBuffer();
    }

    /**
     * @param network the model.
     * @param config  the refocus configuration; checked against the network.
     * @return a predictor in {@link Mode#IMPLICIT} mode that predicts one sample per call.
     * @throws IllegalArgumentException if the configuration does not fit the network, or has more than
     *                                  {@link #MAX_IMPLICIT_STEPS} steps (then use {@link Mode#SHADOW}).
     */
    public static NativePredictor create(final DenseNetwork network, final RefocusConfig config)
    {
        return new NativePredictor(network, config, Mode.IMPLICIT, 1);
    }

    /**
     * @param network  the model.
     * @param config   the refocus configuration; checked against the network.
     * @param mode     how &theta;' is held.
     * @param maxBatch the most samples one {@link #predict(float[], int, Prediction[])} call takes.
     * @return the predictor.
     * @throws IllegalArgumentException if the configuration does not fit the network, {@code maxBatch < 1}, or the
     *                                  mode is {@link Mode#IMPLICIT} and the configuration has more than
     *                                  {@link #MAX_IMPLICIT_STEPS} steps.
     */
    public static NativePredictor create(final DenseNetwork network, final RefocusConfig config, final Mode mode,
        final int maxBatch)
    {
        return new NativePredictor(network, config, mode, maxBatch);
    }

    /**
     * @return which SIMD variant of the native kernels this CPU runs, the best it supports:
     *         {@code "x86-64-v4 (AVX-512)"}, {@code "x86-64-v3 (AVX2+FMA)"} or {@code "x86-64 baseline"}.
     */
    public static String kernelVariant()
    {
        return dev.refocus.internal.bindings.RefocusCommonNative.refocus_kernel_variant();
    }

    /** @return how &theta;' is held. */
    public Mode mode()
    {
        return mode;
    }

    /** @return the most samples one batch call takes. */
    public int maxBatch()
    {
        return maxBatch;
    }

    /**
     * The plain forward pass, without refocus: {@code out} gets the logits and the most likely candidate as both
     * initial and final class; it is never adapted and its margin is NaN.
     *
     * @param input {@link #inputSize()} finite features.
     * @param out   receives the result.
     * @throws ArithmeticException if a candidate logit is NaN (NaN or overflowing weights), as {@code predict}.
     */
    public void forward(final float[] input, final Prediction out)
    {
        Objects.requireNonNull(input, "input");
        checkCall(config().learningRate(), config().marginThreshold());
        checkInputLength(input.length);
        checkResult(out);
        checkFinite(input, 0, input.length);
        acquire();
        try
        {
            inputs.put(0, input);
            check(DenseNative.refocus_dense_forward(context, 1), STEP);
            collect(0, out);
            complete(out, out.initialClass(), out.finalClass(), false, Float.NaN);
        }
        finally
        {
            release();
        }
    }

    /**
     * Predicts {@code n} samples in one call with the configured learning rate and margin threshold; each sample
     * gets its own decision and its own &theta;', and the weights are read once per pass for all of them.
     *
     * @param batch {@code n} rows of {@link #inputSize()} finite features, row-major, from index 0; it may be longer
     *              (a buffer reused for batches of any size): what follows the {@code n} rows is not read.
     * @param n     number of samples, 1 to {@link #maxBatch()}.
     * @param out   at least {@code n} results, filled in order.
     */
    public void predict(final float[] batch, final int n, final Prediction[] out)
    {
        predict(batch, n, config().learningRate(), config().marginThreshold(), out);
    }

    /**
     * Predicts {@code n} samples in one call with this call's learning rate and margin threshold.
     *
     * @param batch           {@code n} rows of {@link #inputSize()} finite features, row-major, from index 0; it
     *                        may be longer: what follows the {@code n} rows is not read.
     * @param n               number of samples, 1 to {@link #maxBatch()}.
     * @param learningRate    &eta; for this call, finite and &ge; 0.
     * @param marginThreshold d for this call, in [0, 1].
     * @param out             at least {@code n} results, filled in order.
     */
    public void predict(final float[] batch, final int n, final float learningRate, final float marginThreshold,
        final Prediction[] out)
    {
        Objects.requireNonNull(batch, "batch");
        Objects.requireNonNull(out, "out");
        if (n < 1 || n > maxBatch)
        {
            throw new IllegalArgumentException("batch of " + n + " samples; this predictor takes 1 to " + maxBatch);
        }
        final int values = n * inputSize(); // no overflow: n <= maxBatch, and maxBatch rows fit the workspace
        if (batch.length < values)
        {
            throw new IllegalArgumentException("the batch holds " + batch.length + " values, fewer than " + n
                + " samples of " + inputSize() + " features");
        }
        if (out.length < n)
        {
            throw new IllegalArgumentException(out.length + " results for " + n + " samples");
        }
        checkCall(learningRate, marginThreshold);
        for (int i = 0; i < n; i++)
        {
            checkResult(out[i]);
        }
        checkFinite(batch, 0, values);
        acquire();
        try
        {
            inputs.put(0, batch, 0, values);
            check(DenseNative.refocus_dense_predict(context, n, learningRate, marginThreshold), STEP);
            for (int i = 0; i < n; i++)
            {
                collect(i, out[i]);
            }
        }
        finally
        {
            release();
        }
    }

    @Override
    protected void loadInput(final float[] input)
    {
        inputs.put(0, input);
    }

    @Override
    protected void loadInput(final FloatBuffer input)
    {
        inputs.put(0, input, input.position(), inputSize());
    }

    @Override
    protected void run(final float learningRate, final float marginThreshold, final Prediction out)
    {
        check(DenseNative.refocus_dense_predict(context, 1, learningRate, marginThreshold), STEP);
        collect(0, out);
    }

    /** The paper's sweep, one gradient then forward passes only, where it is exact: implicit mode and T = 1. */
    @Override
    protected void runSweep(final float[] learningRates, final float marginThreshold, final Prediction out,
        final int[] finalClasses)
    {
        if (mode != Mode.IMPLICIT || config().steps() != 1)
        {
            super.runSweep(learningRates, marginThreshold, out, finalClasses);
            return;
        }
        final int n = learningRates.length;
        check(DenseNative.refocus_dense_sweep(context, learningRates, n, marginThreshold, finalClasses), STEP);
        collect(0, out);
    }

    @Override
    protected void free()
    {
        cleanable.clean();
    }

    private void collect(final int i, final Prediction out)
    {
        logits.get(i * classes(), logits(out));
        final int row = 3 * i;
        final int outcome = answers.get(row + 2);
        if (outcome == DenseNative.REFOCUS_SAMPLE_FELL_BACK)
        {
            completeFallback(out, answers.get(row), margins.get(i)); // the row holds the plain logits
        }
        else
        {
            complete(out, answers.get(row), answers.get(row + 1), outcome == DenseNative.REFOCUS_SAMPLE_ADAPTED,
                margins.get(i));
        }
    }

    private static ByteBuffer region(final ByteBuffer all, final long offset, final int values)
    {
        return all.duplicate().position((int)offset).limit((int)offset + 4 * values).slice()
            .order(ByteOrder.nativeOrder());
    }

    /** The C ABI code of an activation (package-private for the test that checks it against the header). */
    static int activationCode(final Activation activation)
    {
        switch (activation)
        {
            case RELU:
                return DenseNative.REFOCUS_ACT_RELU;
            case TANH:
                return DenseNative.REFOCUS_ACT_TANH;
            default:
                return DenseNative.REFOCUS_ACT_IDENTITY;
        }
    }
}
