package dev.refocus.cpu;

import dev.refocus.DenseNetwork;
import dev.refocus.DensePredictor;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.internal.DenseStepConfig;
import dev.refocus.internal.bindings.DenseNative;
import dev.refocus.internal.bindings.RefocusCommonNative;
import org.bytedeco.javacpp.BytePointer;

import java.lang.ref.Cleaner;

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
 * <p><b>Note:</b> One call at a time, from any thread: see {@link Predictor}. The workspace is freed by {@link #close()},
 * and by a {@link Cleaner} if a predictor is dropped without it.
 */
public final class NativePredictor extends DensePredictor
{
    private static final Cleaner CLEANER = Cleaner.create();
    private static final String STEP = "native dense step";

    private final Cleaner.Cleanable cleanable;
    private final long context;

    private NativePredictor(final DenseNetwork network, final RefocusConfig config, final Mode mode, final int maxBatch)
    {
        super(network, config, mode, maxBatch);
        final BytePointer workspace;
        // the step copies the configuration into its workspace: the native arrays only live through set-up
        try (DenseStepConfig step = new DenseStepConfig(network, config, mode == Mode.SHADOW, maxBatch))
        {
            final long size = DenseNative.refocus_dense_workspace_size(step.cfg());
            if (size <= 0 || size > Integer.MAX_VALUE)
            {
                throw new IllegalArgumentException("the native backend cannot hold this network and configuration ("
                    + (size <= 0 ? "rejected" : size + " bytes of workspace") + ")");
            }
            workspace = owned(new BytePointer(size));
            this.context = DenseNative.refocus_dense_init_static(workspace, size, step.cfg());
            if (context == 0)
            {
                workspace.close();
                throw new IllegalStateException("the native backend rejected a checked configuration: " + config);
            }
        }
        this.cleanable = CLEANER.register(this, workspace::close);
        attach(DenseNative.refocus_dense_inputs(context), DenseNative.refocus_dense_logits(context),
            DenseNative.refocus_dense_margins(context), DenseNative.refocus_dense_answers(context));
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
        return RefocusCommonNative.refocus_kernel_variant();
    }

    @Override
    protected void step(final int n, final float learningRate, final float marginThreshold)
    {
        check(DenseNative.refocus_dense_predict(context, n, learningRate, marginThreshold), STEP);
    }

    @Override
    protected void forwardStep(final int n)
    {
        check(DenseNative.refocus_dense_forward(context, n), STEP);
    }

    /** The paper's sweep, one gradient then forward passes only, where it is exact: implicit mode and T = 1. */
    @Override
    protected void runSweep(final float[] learningRates, final float marginThreshold, final Prediction out,
        final int[] finalClasses)
    {
        if (mode() != Mode.IMPLICIT || config().steps() != 1)
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
}
