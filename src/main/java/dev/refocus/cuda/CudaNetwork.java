package dev.refocus.cuda;

import dev.refocus.DenseNetwork;
import dev.refocus.RefocusConfig;
import dev.refocus.internal.DenseStepConfig;
import dev.refocus.internal.bindings.cuda.CudaNative;
import org.bytedeco.javacpp.PointerPointer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.Objects;

import static dev.refocus.internal.bindings.RefocusCommonNative.REFOCUS_ERROR_ARGUMENT;

/**
 * A {@link DenseNetwork}'s weights on one CUDA device: uploaded once, read-only, shared by every
 * {@link CudaPredictor} made on it, on any threads. Close it when its predictors are closed; a network dropped
 * without {@link #close()} is freed by a {@link Cleaner} once no predictor uses it.
 *
 * <pre>{@code
 * try (CudaNetwork gpu = CudaNetwork.upload(network, 0);
 *      CudaPredictor predictor = CudaPredictor.create(gpu, config)) {
 *     predictor.predict(features, out);
 * }
 * }</pre>
 *
 * <p>Immutable and thread-safe; {@link #close()} refuses while a predictor uses the weights.
 */
public final class CudaNetwork implements AutoCloseable
{
    private static final Cleaner CLEANER = Cleaner.create();
    private static final VarHandle USERS;

    static
    {
        try
        {
            USERS = MethodHandles.lookup().findVarHandle(CudaNetwork.class, "users", int.class);
        }
        catch (final ReflectiveOperationException e)
        {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final DenseNetwork network;
    private final int device;
    private final long handle;
    private final Cleaner.Cleanable cleanable;
    // open predictors, or -1 once closed: close() cannot free weights a predictor reads
    @SuppressWarnings("unused") // accessed through USERS
    private volatile int users;

    private CudaNetwork(final DenseNetwork network, final int device)
    {
        this.network = Objects.requireNonNull(network, "network");
        CudaRuntime.checkDevice(device);
        this.device = device;
        // the upload reads the sizes and the parameters: any valid configuration of the network will do. The device
        // holds float32 only (refocus/cuda.h): a bf16 network goes up as the float32 block of its widened values,
        // the same model, made for the upload and dropped after it
        final DenseNetwork uploaded = network.toWeightFormat(DenseNetwork.WeightFormat.FLOAT32);
        try (DenseStepConfig step = new DenseStepConfig(uploaded, RefocusConfig.builder(0.0f).build(), false, 1);
            PointerPointer<?> slot = new PointerPointer<>(1))
        {
            final int rc = CudaNative.refocus_cuda_weights_upload(device, step.cfg(), slot);
            if (rc == REFOCUS_ERROR_ARGUMENT)
            {
                throw new IllegalArgumentException("the CUDA backend cannot hold " + network);
            }
            CudaPredictor.check(rc, "uploading the weights to CUDA device " + device);
            this.handle = CudaNative.handle(slot);
        }
        finally
        {
            Reference.reachabilityFence(uploaded); // its block is read until the upload returns
        }
        final long weights = handle;
        this.cleanable = CLEANER.register(this, () -> CudaNative.refocus_cuda_weights_free(weights));
    }

    /**
     * @param network the network.
     * @param device  a CUDA device index, 0 to {@link #deviceCount()} - 1.
     * @return the network's weights on that device.
     * @throws CudaUnavailableException if this machine has no usable CUDA device (the message says why).
     * @throws IllegalArgumentException if there is no such device.
     * @throws IllegalStateException    if the device fails (out of memory: the message says).
     */
    public static CudaNetwork upload(final DenseNetwork network, final int device)
    {
        return new CudaNetwork(network, device);
    }

    /** @return the CUDA devices refocus can use here; 0 when there is none, no driver, or no CUDA library. */
    public static int deviceCount()
    {
        return CudaRuntime.deviceCount();
    }

    /** @return why no CUDA device can be used here, or null when one can. */
    public static String unavailableReason()
    {
        return CudaRuntime.unavailableReason();
    }

    /** @return the network. */
    public DenseNetwork network()
    {
        return network;
    }

    /** @return the device index. */
    public int device()
    {
        return device;
    }

    /**
     * Frees the weights on the device. Idempotent.
     *
     * @throws IllegalStateException if a predictor made on it is still open.
     */
    @Override
    public void close()
    {
        final int was = (int)USERS.compareAndExchange(this, 0, -1);
        if (was > 0)
        {
            throw new IllegalStateException(was + " CUDA predictor(s) still use these weights: close them first");
        }
        if (was == 0)
        {
            cleanable.clean();
        }
    }

    /** For predictors: the weights' handle, counted as in use until {@link #release()}. */
    long acquire()
    {
        int was;
        do
        {
            was = users;
            if (was < 0)
            {
                throw new IllegalStateException("the CUDA network is closed");
            }
        }
        while (!USERS.compareAndSet(this, was, was + 1));
        return handle;
    }

    /** Ends what {@link #acquire()} began. */
    void release()
    {
        USERS.getAndAdd(this, -1);
    }
}
