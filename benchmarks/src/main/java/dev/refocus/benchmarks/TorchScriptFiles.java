package dev.refocus.benchmarks;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.torch.Libtorch;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.QualifiedName;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.nio.FloatBuffer;
import java.nio.file.Path;

/** Writes a benchmark model as a TorchScript file, so that libtorch runs the very weights the native backend does. */
final class TorchScriptFiles
{
    private TorchScriptFiles()
    {
    }

    /**
     * @param network a dense network, any activations.
     * @param file    where to write it: a TorchScript module whose forward maps [1, in] to [1, classes].
     */
    @SuppressWarnings("try") // the scope frees the tensors made inside it
    static void write(final DenseNetwork network, final Path file)
    {
        Libtorch.load();
        try (PointerScope scope = new PointerScope())
        {
            final JitModule module = new JitModule(new QualifiedName("__torch__.BenchmarkMlp"));
            final StringBuilder forward = new StringBuilder("def forward(self, x):\n");
            for (int l = 0; l < network.layers(); l++)
            {
                module.register_parameter("w" + l,
                    tensor(network.weight(l), network.outputSize(l), network.inputSize(l)), false);
                module.register_parameter("b" + l, tensor(network.bias(l), network.outputSize(l)), false);
                final String linear = "torch.linear(x, self.w" + l + ", self.b" + l + ")";
                forward.append("    x = ").append(activation(network.activation(l), linear)).append('\n');
            }
            module.define(forward.append("    return x\n").toString());
            module.save(file.toString());
        }
    }

    /**
     * Writes a small CNN in two TorchScript files: its backbone ({@code conv2d} with padding 1, ReLU, 2 x 2 max
     * pooling, flatten) and the whole model (that backbone, then {@code head}'s layers), so that libtorch and a
     * native head run the very same weights.
     *
     * @param kernel     {@code [channels, 1, k, k]} convolution weights.
     * @param kernelBias {@code [channels]}.
     * @param k          the kernel's size (odd).
     * @param head       the dense layers after the backbone.
     * @param backbone   where to write the backbone: input {@code [1, 1, h, w]}, output {@code [1, features]}.
     * @param full       where to write the whole model: input {@code [1, 1, h, w]}, output {@code [1, classes]}.
     */
    @SuppressWarnings("try") // the scope frees the tensors made inside it
    static void writeCnn(final float[] kernel, final float[] kernelBias, final int k, final DenseNetwork head,
        final Path backbone, final Path full)
    {
        Libtorch.load();
        final String features = "torch.flatten(torch.max_pool2d(torch.relu(torch.conv2d(x, self.k, self.kb, [1, 1], ["
            + k / 2 + ", " + k / 2 + "])), [2, 2]), 1)";
        try (PointerScope scope = new PointerScope())
        {
            for (final boolean whole : new boolean[] {false, true})
            {
                final JitModule module = new JitModule(new QualifiedName("__torch__.BenchmarkCnn"));
                module.register_parameter("k", tensor(FloatBuffer.wrap(kernel), kernelBias.length, 1, k, k), false);
                module.register_parameter("kb", tensor(FloatBuffer.wrap(kernelBias), kernelBias.length), false);
                final StringBuilder forward = new StringBuilder("def forward(self, x):\n    x = " + features + "\n");
                for (int l = 0; whole && l < head.layers(); l++)
                {
                    module.register_parameter("w" + l, tensor(head.weight(l), head.outputSize(l), head.inputSize(l)),
                        false);
                    module.register_parameter("b" + l, tensor(head.bias(l), head.outputSize(l)), false);
                    final String linear = "torch.linear(x, self.w" + l + ", self.b" + l + ")";
                    forward.append("    x = ").append(activation(head.activation(l), linear)).append('\n');
                }
                module.define(forward.append("    return x\n").toString());
                module.save((whole ? full : backbone).toString());
            }
        }
    }

    private static String activation(final Activation activation, final String x)
    {
        switch (activation)
        {
            case RELU:
                return "torch.relu(" + x + ")";
            case TANH:
                return "torch.tanh(" + x + ")";
            case IDENTITY:
                return x;
            case GELU:
                return "torch.gelu(" + x + ")"; // TorchScript's torch.<op> is the aten op: nn.GELU's
            case GELU_TANH:
                return "torch.gelu(" + x + ", approximate='tanh')";
            case SILU:
                return "torch.silu(" + x + ")";
            case SIGMOID:
                return "torch.sigmoid(" + x + ")";
            case LEAKY_RELU:
                return "torch.leaky_relu(" + x + ", " + Activation.LEAKY_RELU_SLOPE + ")";
            default:
                throw new AssertionError(activation);
        }
    }

    private static Tensor tensor(final FloatBuffer values, final long... shape)
    {
        final float[] array = new float[values.remaining()];
        values.get(array);
        return torch.from_blob(new FloatPointer(array), shape).clone(); // a copy that owns its memory
    }
}
