package dev.refocus.cuda;

import dev.refocus.DensePredictor;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.internal.DenseStepConfig;
import dev.refocus.internal.bindings.RefocusCommonNative;
import dev.refocus.internal.bindings.cuda.CudaNative;
import org.bytedeco.javacpp.PointerPointer;

import java.lang.ref.Cleaner;

/**
 * The CUDA backend for dense networks: the refocus step of {@code refocus/cuda.h}, with the semantics of the CPU
 * step ({@code dev.refocus.cpu.NativePredictor}: every method, T, n_f, clipping, parameter subsets, candidates,
 * both modes, the fallback rule), computed on an NVIDIA GPU. One call copies the samples in, replays the
 * predictor's CUDA graph and copies the results out; it allocates nothing. The weights are those of a
 * {@link CudaNetwork}, shared by every predictor on its device.
 *
 * <pre>{@code
 * try (CudaNetwork gpu = CudaNetwork.upload(network, 0);
 *      CudaPredictor predictor = CudaPredictor.create(gpu, config, Mode.IMPLICIT, 64)) {
 *     predictor.predict(batch, n, results);
 * }
 * }</pre>
 *
 * <p>Without a usable device (no NVIDIA driver, no GPU, or a build made without nvcc) {@link CudaNetwork#upload}
 * throws {@link CudaUnavailableException}, saying why; the CPU backends are unaffected.
 *
 * <p><b>Note:</b> One call at a time, from any thread: see {@link Predictor}. The device memory is freed by
 * {@link #close()}, and by a {@link Cleaner} if a predictor is dropped without it.
 */
public final class CudaPredictor extends DensePredictor
{
    private static final Cleaner CLEANER = Cleaner.create();

    private final CudaNetwork weights;
    private final String step;
    private final long context;
    private final Cleaner.Cleanable cleanable;

    private CudaPredictor(final CudaNetwork weights, final RefocusConfig config, final Mode mode, final int maxBatch)
    {
        super(weights.network(), config, mode, maxBatch);
        this.weights = weights;
        this.step = "CUDA step on device " + weights.device();
        final long handle = weights.acquire();
        long created = 0;
        try (DenseStepConfig cfg = new DenseStepConfig(weights.network(), config, mode == Mode.SHADOW, maxBatch);
            PointerPointer<?> slot = new PointerPointer<>(1))
        {
            check(CudaNative.refocus_cuda_create(handle, cfg.cfg(), slot), "creating a " + step);
            created = CudaNative.handle(slot);
        }
        finally
        {
            if (created == 0)
            {
                weights.release();
            }
        }
        this.context = created;
        // the action holds the network, so that its weights outlive this context even when both are dropped
        final long ctx = created;
        this.cleanable = CLEANER.register(this, () -> {
            CudaNative.refocus_cuda_free(ctx);
            weights.release();
        });
        attach(CudaNative.refocus_cuda_inputs(context), CudaNative.refocus_cuda_logits(context),
            CudaNative.refocus_cuda_margins(context), CudaNative.refocus_cuda_answers(context));
    }

    /**
     * @param weights the network on a device.
     * @param config  the refocus configuration; checked against the network.
     * @return a predictor in {@link Mode#IMPLICIT} mode that predicts one sample per call.
     * @throws IllegalArgumentException if the configuration does not fit the network, or has more than
     *                                  {@link #MAX_IMPLICIT_STEPS} steps.
     * @throws IllegalStateException    if the weights are closed, or the device fails (out of memory: the message
     *                                  says).
     */
    public static CudaPredictor create(final CudaNetwork weights, final RefocusConfig config)
    {
        return new CudaPredictor(weights, config, Mode.IMPLICIT, 1);
    }

    /**
     * @param weights  the network on a device.
     * @param config   the refocus configuration; checked against the network.
     * @param mode     how &theta;' is held; {@link Mode#SHADOW} keeps a slice of the adapted parameters per sample
     *                 of a batch on the device.
     * @param maxBatch the most samples one {@link #predict(float[], int, Prediction[])} call takes.
     * @return the predictor.
     * @throws IllegalArgumentException as {@link #create(CudaNetwork, RefocusConfig)}, or {@code maxBatch < 1}.
     * @throws IllegalStateException    if the weights are closed, or the device fails.
     */
    public static CudaPredictor create(final CudaNetwork weights, final RefocusConfig config, final Mode mode,
        final int maxBatch)
    {
        return new CudaPredictor(weights, config, mode, maxBatch);
    }

    /** @return the weights this predictor reads. */
    public CudaNetwork weights()
    {
        return weights;
    }

    @Override
    protected void step(final int n, final float learningRate, final float marginThreshold)
    {
        check(CudaNative.refocus_cuda_predict(context, n, learningRate, marginThreshold), step);
    }

    @Override
    protected void forwardStep(final int n)
    {
        check(CudaNative.refocus_cuda_forward(context, n), step);
    }

    @Override
    protected void free()
    {
        cleanable.clean();
    }

    /** The C ABI's codes as exceptions, with the CUDA runtime's own words for REFOCUS_ERROR_CUDA. */
    static int check(final int rc, final String what)
    {
        if (rc == RefocusCommonNative.REFOCUS_ERROR_CUDA)
        {
            throw new IllegalStateException(what + ": " + CudaNative.refocus_cuda_last_error());
        }
        return RefocusCommonNative.check(rc, what);
    }
}
