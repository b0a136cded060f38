package dev.refocus;

import java.util.Locale;

/**
 * The function applied to a dense layer's output, element-wise: PyTorch's function of the same name, in every
 * backend (the native ones compute it in float as PyTorch does, the reference in double). Each keeps a NaN.
 */
public enum Activation
{
    /** max(0, h), {@code nn.ReLU}; its derivative is taken as 0 at h = 0, as PyTorch does. */
    RELU,
    /** tanh(h), {@code nn.Tanh}. */
    TANH,
    /** h: the usual activation of the last layer, whose output is the logits. */
    IDENTITY,
    /** h &Phi;(h) = h (1 + erf(h / &radic;2)) / 2, {@code nn.GELU()} (its exact form, PyTorch's default). */
    GELU,
    /** h (1 + tanh(&radic;(2/&pi;) (h + 0.044715 h&sup3;))) / 2, {@code nn.GELU(approximate='tanh')}. */
    GELU_TANH,
    /** h sigmoid(h), {@code nn.SiLU} (swish). */
    SILU,
    /** 1 / (1 + e<sup>-h</sup>), {@code nn.Sigmoid}. */
    SIGMOID,
    /**
     * h for h &gt; 0, else {@link #LEAKY_RELU_SLOPE} h: {@code nn.LeakyReLU()} with its default negative slope, the
     * only slope supported (one fixed slope keeps an activation one code in every backend and file; importers refuse
     * another slope with a message that names it). Its derivative is the slope at h = 0, as PyTorch's.
     */
    LEAKY_RELU;

    /** The negative slope of {@link #LEAKY_RELU}: PyTorch's default {@code negative_slope}, as float32 applies it. */
    public static final float LEAKY_RELU_SLOPE = 0.01f;

    /**
     * @param name a name as PyTorch spells it, case-insensitive: relu, tanh, identity (or linear, none), gelu,
     *             gelu_tanh, silu (or swish), sigmoid, leaky_relu (or leakyrelu).
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
            case "gelu":
                return GELU;
            case "gelu_tanh":
                return GELU_TANH;
            case "silu":
            case "swish":
                return SILU;
            case "sigmoid":
                return SIGMOID;
            case "leaky_relu":
            case "leakyrelu":
                return LEAKY_RELU;
            default:
                throw new IllegalArgumentException("unknown activation '" + name
                    + "' (expected relu, tanh, identity, gelu, gelu_tanh, silu, sigmoid or leaky_relu)");
        }
    }

    /** @return the name {@link #parse} reads back to this activation: relu, tanh, identity, gelu, gelu_tanh, ... */
    public String lowerCaseName()
    {
        return name().toLowerCase(Locale.ROOT);
    }
}
