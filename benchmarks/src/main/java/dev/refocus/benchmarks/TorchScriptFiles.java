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
