package dev.refocus;

import java.io.InvalidObjectException;
import java.io.ObjectStreamException;
import java.io.Serializable;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which parameters of a dense network the refocus step adapts; all others keep their values.
 * Layers are counted from the input: layer 0 is the first, layer {@code L - 1} the head.
 * <p>
 * Its text form, {@link #toString()}, is one of {@code all}, {@code head}, {@code biases} and
 * {@code lastLayers(k)} (k &ge; 2; {@code lastLayers(1)} is written {@code head}); {@link #parse(String)} reads it
 * back. Equal subsets adapt the same parameters of every network. Immutable and thread-safe.
 */
public final class ParameterSubset implements Serializable
{
    private static final long serialVersionUID = 1L;
    private static final ParameterSubset ALL = new ParameterSubset(Integer.MAX_VALUE, false);
    private static final ParameterSubset BIASES = new ParameterSubset(Integer.MAX_VALUE, true);
    private static final Pattern LAST_LAYERS = Pattern.compile("lastLayers\\(\\s*([+-]?\\d+)\\s*\\)");

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
     * Reads the text form {@link #toString()} writes.
     *
     * @param text {@code all}, {@code head}, {@code biases} or {@code lastLayers(k)} with k &ge; 1; spaces around
     *             it are ignored.
     * @return the subset.
     * @throws IllegalArgumentException if the text is none of these, saying why.
     */
    public static ParameterSubset parse(final String text)
    {
        Objects.requireNonNull(text, "text");
        final String name = text.strip();
        switch (name)
        {
            case "all":
                return all();
            case "head":
                return head();
            case "biases":
                return biases();
            default:
                final Matcher m = LAST_LAYERS.matcher(name);
                if (!m.matches())
                {
                    throw new IllegalArgumentException(
                        "'" + text + "' is not a parameter subset: all, head, biases or lastLayers(k)");
                }
                try
                {
                    return lastLayers(Integer.parseInt(m.group(1)));
                }
                catch (final NumberFormatException e)
                {
                    throw new IllegalArgumentException("lastLayers(k) needs k to be an int, got " + m.group(1), e);
                }
        }
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

    /**
     * @param other any object.
     * @return whether it is a subset of the same kind and size.
     */
    @Override
    public boolean equals(final Object other)
    {
        return other instanceof ParameterSubset that && lastLayers == that.lastLayers && biasesOnly == that.biasesOnly;
    }

    /** @return a hash consistent with {@link #equals(Object)}. */
    @Override
    public int hashCode()
    {
        return 31 * lastLayers + (biasesOnly ? 1 : 0);
    }

    /** @return the text form, which {@link #parse(String)} reads: all, head, biases or lastLayers(k). */
    @Override
    public String toString()
    {
        if (biasesOnly)
        {
            return "biases";
        }
        if (lastLayers == Integer.MAX_VALUE)
        {
            return "all";
        }
        return lastLayers == 1 ? "head" : "lastLayers(" + lastLayers + ")";
    }

    /** A stream can hold any field values: only those a factory makes are accepted, through the factory. */
    private Object readResolve() throws ObjectStreamException
    {
        if (lastLayers == Integer.MAX_VALUE)
        {
            return biasesOnly ? BIASES : ALL;
        }
        if (biasesOnly || lastLayers < 1)
        {
            throw new InvalidObjectException("a ParameterSubset with lastLayers " + lastLayers + " and biasesOnly " +
                biasesOnly + " is not one the factories make");
        }
        return lastLayers(lastLayers);
    }
}
