package dev.refocus.internal;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.ParameterSubset;
import dev.refocus.RefocusConfig;
import dev.refocus.internal.bindings.DenseNative;
import org.bytedeco.javacpp.IntPointer;

import static dev.refocus.internal.NativeMemory.owned;

/**
 * The {@code refocus_dense_config} of a network and a configuration, for the native steps that take it (the CPU
 * step of {@code refocus/dense.h}, the CUDA step of {@code refocus/cuda.h}). It owns the native arrays the
 * configuration points to; the steps copy what they keep, so close it once the step is set up.
 */
public final class DenseStepConfig implements AutoCloseable
{
    private final IntPointer sizes;
    private final IntPointer activations;
    private final IntPointer candidates;
    private final DenseNative.Config cfg;

    /**
     * @param network  the model; its parameter block is made if it was not.
     * @param config   the refocus configuration, already checked against the network.
     * @param shadow   SHADOW mode rather than IMPLICIT.
     * @param maxBatch the most samples one call takes.
     */
    public DenseStepConfig(final DenseNetwork network, final RefocusConfig config, final boolean shadow,
        final int maxBatch)
    {
        final int layers = network.layers();
        final int[] sizeArray = new int[layers + 1];
        final int[] activationArray = new int[layers];
        sizeArray[0] = network.inputSize();
        for (int l = 0; l < layers; l++)
        {
            sizeArray[l + 1] = network.outputSize(l);
            activationArray[l] = activationCode(network.activation(l));
        }
        final int[] candidateArray = config.hasCandidates() ? config.candidates() : null;
        final ParameterSubset subset = config.parameters();
        this.sizes = owned(new IntPointer(sizeArray));
        this.activations = owned(new IntPointer(activationArray));
        this.candidates = candidateArray == null ? null : owned(new IntPointer(candidateArray));
        this.cfg = owned(new DenseNative.Config());
        cfg.n_layers(layers).sizes(sizes).activations(activations)
            .params(DenseNetworkAccess.parameterBlock(network)).method(config.method().nativeCode())
            .n_focus(config.focusClasses()).steps(config.steps()).clip_norm(config.clipNorm())
            .first_adapted_layer(subset.firstAdaptedLayer(layers))
            .biases_only(subset.adaptsWeights() ? 0 : 1)
            .candidates(candidates).n_candidates(candidateArray == null ? 0 : candidateArray.length)
            .mode(shadow ? DenseNative.REFOCUS_MODE_SHADOW : DenseNative.REFOCUS_MODE_IMPLICIT)
            .max_batch(maxBatch)
            .weight_format(network.weightFormat() == DenseNetwork.WeightFormat.BFLOAT16
                ? DenseNative.REFOCUS_WEIGHTS_BF16 : DenseNative.REFOCUS_WEIGHTS_F32);
    }

    /** @return the native configuration, valid until {@link #close()}. */
    public DenseNative.Config cfg()
    {
        return cfg;
    }

    /**
     * @param activation an activation.
     * @return its code in the C ABI ({@code REFOCUS_ACT_*} of {@code refocus/dense.h}, read from the header).
     */
    public static int activationCode(final Activation activation)
    {
        switch (activation)
        {
            case RELU:
                return DenseNative.REFOCUS_ACT_RELU;
            case TANH:
                return DenseNative.REFOCUS_ACT_TANH;
            case IDENTITY:
                return DenseNative.REFOCUS_ACT_IDENTITY;
            case GELU:
                return DenseNative.REFOCUS_ACT_GELU;
            case GELU_TANH:
                return DenseNative.REFOCUS_ACT_GELU_TANH;
            case SILU:
                return DenseNative.REFOCUS_ACT_SILU;
            case SIGMOID:
                return DenseNative.REFOCUS_ACT_SIGMOID;
            case LEAKY_RELU:
                return DenseNative.REFOCUS_ACT_LEAKY_RELU;
            default:
                throw new AssertionError(activation);  // every Activation has its header code (ActivationCodesTest)
        }
    }

    @Override
    public void close()
    {
        cfg.close();
        sizes.close();
        activations.close();
        if (candidates != null)
        {
            candidates.close();
        }
    }
}
