package dev.refocus;

import java.util.Locale;

/** The function applied to a dense layer's output, element-wise. */
public enum Activation
{
    /** max(0, h); its derivative is taken as 0 at h = 0, as PyTorch does. */
    RELU,
    /** tanh(h). */
    TANH,
    /** h: the usual activation of the last layer, whose output is the logits. */
    IDENTITY;

    /**
     * @param name a name as PyTorch modules spell it, case-insensitive: relu, tanh, identity (or linear, none).
     * @return the activation.
     * @throws IllegalArgumentException for any other name.
     */
    public static Activation parse(final String name)
    {
        switch (name.trim().toLowerCase(Locale.ROOT))
        {
            case "relu":
                return RELU;
            case "tanh":
                return TANH;
            case "identity":
            case "linear":
            case "none":
                return IDENTITY;
            default:
                throw new IllegalArgumentException("unknown activation '" + name + "' (expected relu, tanh or identity)");
        }
    }
}
