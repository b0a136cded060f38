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
import java.util.Objects;

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
 * <p>A caller whose samples are already on the GPU (its own CUDA code, bytedeco's cuda or pytorch presets) passes
 * their device address and its stream to {@link #predictDevice(long, long, Prediction)}: no host round trip for the
 * input, the same step, the same results.
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

    /**
     * Predicts one sample that is already in device memory, with the configured learning rate and margin threshold,
     * without copying it through the host ({@code refocus_cuda_predict_device()} of {@code refocus/cuda.h}).
     *
     * <p><b>Ordering:</b> the step starts after all the work the caller enqueued on {@code stream} before this call
     * (an event recorded on {@code stream}, which the predictor's own stream waits for), so the sample's writes may
     * still be in flight there; nothing else is enqueued on {@code stream} and it is not synchronised. When the call
     * returns, the result is in {@code out} and the step no longer reads the sample: it may be overwritten or freed.
     *
     * @param devicePointer the address of {@link #inputSize()} floats in device (or managed) memory of this
     *                      predictor's device: {@code Pointer.address()} of bytedeco's cuda preset, or
     *                      {@code data_ptr()} of a contiguous float32 CUDA tensor of its pytorch preset.
     * @param stream        the {@code cudaStream_t} that writes the sample, as an address; 0 for the legacy default
     *                      stream. It must be alive (a destroyed stream cannot be told from a live one), of this
     *                      predictor's device, and not capturing a graph.
     * @param out           receives the result.
     * @throws IllegalArgumentException if the pointer is 0, not aligned to a float, not device memory of this
     *                                  predictor's device, or the sample runs past the end of its allocation (where
     *                                  the driver can tell); if the stream is of another device or capturing a
     *                                  graph; or if a feature is not finite: checked on the device as it is read,
     *                                  with {@link #predict(float[], Prediction)}'s message ("input[i] is NaN;
     *                                  inputs must be finite").
     * @throws ArithmeticException      if a candidate logit of the plain pass is NaN.
     * @throws IllegalStateException    if the predictor is closed or busy, or the device fails.
     */
    public void predictDevice(final long devicePointer, final long stream, final Prediction out)
    {
        checkCall(config().learningRate(), config().marginThreshold());
        checkResult(out);
        checkDevicePointer(devicePointer);
        acquire();
        try
        {
            predictOnDevice(devicePointer, stream, 1, config().learningRate(), config().marginThreshold(), out, null);
        }
        finally
        {
            release();
        }
    }

    /**
     * Predicts {@code n} samples that are already in device memory, row-major, with the configured learning rate
     * and margin threshold: {@link #predictDevice(long, long, Prediction)} for a batch, each sample with its own
     * decision, as {@link #predict(float[], int, Prediction[])}.
     *
     * @param devicePointer the address of {@code n} rows of {@link #inputSize()} floats, no padding.
     * @param stream        as {@link #predictDevice(long, long, Prediction)}.
     * @param n             number of samples, 1 to {@link #maxBatch()}.
     * @param out           at least {@code n} results, filled in order.
     */
    public void predictDevice(final long devicePointer, final long stream, final int n, final Prediction[] out)
    {
        predictDevice(devicePointer, stream, n, config().learningRate(), config().marginThreshold(), out);
    }

    /**
     * {@link #predictDevice(long, long, int, Prediction[])} with this call's learning rate and margin threshold.
     *
     * @param devicePointer   the address of {@code n} rows of {@link #inputSize()} floats, no padding.
     * @param stream          as {@link #predictDevice(long, long, Prediction)}.
     * @param n               number of samples, 1 to {@link #maxBatch()}.
     * @param learningRate    &eta; for this call, finite and &ge; 0.
     * @param marginThreshold d for this call, in [0, 1].
     * @param out             at least {@code n} results, filled in order.
     */
    public void predictDevice(final long devicePointer, final long stream, final int n, final float learningRate,
        final float marginThreshold, final Prediction[] out)
    {
        Objects.requireNonNull(out, "out");
        if (n < 1 || n > maxBatch())
        {
            throw new IllegalArgumentException("batch of " + n + " samples; this predictor takes 1 to " + maxBatch());
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
        checkDevicePointer(devicePointer);
        acquire();
        try
        {
            predictOnDevice(devicePointer, stream, n, learningRate, marginThreshold, null, out);
        }
        finally
        {
            release();
        }
    }

    private static void checkDevicePointer(final long devicePointer)
    {
        if (devicePointer == 0)
        {
            throw new IllegalArgumentException("the device pointer is null (0)");
        }
    }

    /**
     * The step on samples in device memory into {@code one} (n = 1) or {@code many}, with the guardrails of every
     * other call (the band's bypass, the counters, observe-only's plain answer): as {@code DensePredictor}'s batch.
     */
    private void predictOnDevice(final long devicePointer, final long stream, final int n, final float learningRate,
        final float marginThreshold, final Prediction one, final Prediction[] many)
    {
        final boolean bypassed = bypassing();
        stepOnDevice(devicePointer, stream, n, learningRate, bypassed ? 0.0f : marginThreshold);
        boolean observed = false;
        for (int i = 0; i < n; i++)
        {
            final Prediction out = many == null ? one : many[i];
            collect(i, out);
            observed |= countGuarded(out, bypassed);
        }
        if (observed)
        {
            // observe-only: the plain predictions; the caller's samples are still valid until this call returns
            stepOnDevice(devicePointer, stream, n, learningRate, 0.0f);
            for (int i = 0; i < n; i++)
            {
                collect(i, many == null ? one : many[i]);
            }
        }
    }

    /** The step on samples in device memory; what only the runtime can check comes back in its words. */
    private void stepOnDevice(final long devicePointer, final long stream, final int n, final float learningRate,
        final float marginThreshold)
    {
        final int rc = CudaNative.refocus_cuda_predict_device(context, devicePointer, n, stream, learningRate,
            marginThreshold);
        if (rc == RefocusCommonNative.REFOCUS_ERROR_ARGUMENT)
        {
            throw new IllegalArgumentException(step + ": " + CudaNative.refocus_cuda_last_error());
        }
        check(rc, step);
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
