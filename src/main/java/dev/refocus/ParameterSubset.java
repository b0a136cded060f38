package dev.refocus;

/**
 * Which parameters of a dense network the refocus step adapts; all others keep their values.
 * Immutable. Layers are counted from the input: layer 0 is the first, layer {@code L - 1} the head.
 */
public final class ParameterSubset
{
    private static final ParameterSubset ALL = new ParameterSubset(Integer.MAX_VALUE, false);
    private static final ParameterSubset BIASES = new ParameterSubset(Integer.MAX_VALUE, true);

    private final int lastLayers;
    private final boolean biasesOnly;

    private ParameterSubset(final int lastLayers, final boolean biasesOnly)
    {
        this.lastLayers = lastLayers;
        this.biasesOnly = biasesOnly;
    }

    /** @return every weight and bias (the paper's choice, the default). */
    public static ParameterSubset all()
    {
        return ALL;
    }

    /**
     * @param k number of layers, counted back from the head, whose weights and biases adapt; at least 1.
     * @return the subset.
     */
    public static ParameterSubset lastLayers(final int k)
    {
        if (k < 1)
        {
            throw new IllegalArgumentException("lastLayers needs k >= 1, got " + k);
        }
        return new ParameterSubset(k, false);
    }

    /** @return the weight and bias of the last layer only. */
    public static ParameterSubset head()
    {
        return lastLayers(1);
    }

    /** @return the biases of every layer, no weight. */
    public static ParameterSubset biases()
    {
        return BIASES;
    }

    /**
     * @param layer  a layer index.
     * @param layers the network's number of layers.
     * @return whether the layer's weight matrix adapts.
     */
    public boolean adaptsWeight(final int layer, final int layers)
    {
        return !biasesOnly && layer >= firstAdaptedLayer(layers);
    }

    /**
     * @param layer  a layer index.
     * @param layers the network's number of layers.
     * @return whether the layer's bias adapts.
     */
    public boolean adaptsBias(final int layer, final int layers)
    {
        return layer >= firstAdaptedLayer(layers);
    }

    /** @return whether weight matrices adapt at all: false for {@link #biases()}. */
    public boolean adaptsWeights()
    {
        return !biasesOnly;
    }

    /**
     * @param layers the network's number of layers.
     * @return the lowest layer with an adapted parameter: the backward pass stops there.
     */
    public int firstAdaptedLayer(final int layers)
    {
        return lastLayers >= layers ? 0 : layers - lastLayers;
    }

    void checkFits(final int layers)
    {
        if (lastLayers != Integer.MAX_VALUE && lastLayers > layers)
        {
            throw new IllegalArgumentException(
                "cannot adapt the last " + lastLayers + " layers of a network with " + layers + " layers");
        }
    }

    @Override
    public String toString()
    {
        if (biasesOnly)
        {
            return "biases";
        }
        return lastLayers == Integer.MAX_VALUE ? "all" : "last " + lastLayers + " layer(s)";
    }
}
