package dev.refocus.torch;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.ModelFormatException;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.NamedJitModule;
import org.bytedeco.pytorch.NamedTensor;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.named_module_iterator;
import org.bytedeco.pytorch.named_module_list;
import org.bytedeco.pytorch.named_parameter_iterator;
import org.bytedeco.pytorch.named_parameter_list;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Imports a TorchScript MLP into a {@link DenseNetwork}, so that one {@code .pt} file runs on the fast dense
 * backends. The module must be an {@code nn.Sequential} (scripted or traced) of {@code nn.Linear} layers, each
 * followed by at most one {@code nn.ReLU} or {@code nn.Tanh}, with {@code nn.Identity} allowed anywhere; a Linear
 * without bias gets a zero bias. Anything else (another module type, a subclass of {@code nn.Sequential} with its own
 * forward, an activation before the first Linear, two activations in a row, float64 weights) is refused with a
 * {@link ModelFormatException} that names the module: run such a model with {@link TorchPredictor}.
 *
 * <pre>{@code
 * DenseNetwork network = TorchScriptImport.denseNetwork(Path.of("mlp.pt"));
 * }</pre>
 *
 * <p><b>Note:</b> This class is thread-safe (it has no state).
 */
@SuppressWarnings("try") // a PointerScope is opened for its effect: it frees the temporaries made inside it
public final class TorchScriptImport
{
    private static final String SEQUENTIAL = "torch.nn.modules.container.Sequential";
    private static final String LINEAR = "torch.nn.modules.linear.Linear";
    private static final String IDENTITY = "torch.nn.modules.linear.Identity";
    private static final String RELU = "torch.nn.modules.activation.ReLU";
    private static final String TANH = "torch.nn.modules.activation.Tanh";

    private TorchScriptImport()
    {
    }

    /**
     * @param file a TorchScript file holding an {@code nn.Sequential} MLP.
     * @return the same network as a {@link DenseNetwork}, weights copied.
     * @throws java.nio.file.NoSuchFileException if the file does not exist.
     * @throws ModelFormatException              if it is not TorchScript or not a supported MLP.
     * @throws IOException                       if it cannot be read.
     */
    public static DenseNetwork denseNetwork(final Path file) throws IOException
    {
        final JitModule module = TorchModel.loadModule(file);
        try (PointerScope scope = new PointerScope())
        {
            scope.attach(module);
            final String rootType = typeName(module);
            if (!rootType.equals(SEQUENTIAL))
            {
                throw new ModelFormatException(file + ": the module is a " + rootType + ", not an nn.Sequential MLP");
            }
            DenseNetwork.Builder builder = null;
            float[] weight = null;
            float[] bias = null;
            Activation activation = null;
            final named_module_list children = module.named_children();
            for (named_module_iterator it = children.begin(); it.notEquals(children.end()); it.increment())
            {
                final NamedJitModule named = it.multiply();
                final String name = named.name().getString();
                final JitModule child = new JitModule(named.value());
                final String type = typeName(child);
                switch (type)
                {
                    case LINEAR:
                        if (weight != null)
                        {
                            builder.layer(weight, bias, activation == null ? Activation.IDENTITY : activation);
                        }
                        final Tensor[] linear = linear(file, name, child);
                        final int in = (int)linear[0].size(1);
                        builder = builder == null ? DenseNetwork.builder(in) : builder;
                        weight = Tensors.toArray(linear[0]);
                        bias = linear[1] == null ? new float[(int)linear[0].size(0)] : Tensors.toArray(linear[1]);
                        activation = null;
                        break;
                    case RELU:
                    case TANH:
                        if (weight == null)
                        {
                            throw new ModelFormatException(file + ": module '" + name + "' (" + type
                                + ") comes before the first Linear layer");
                        }
                        if (activation != null)
                        {
                            throw new ModelFormatException(file + ": module '" + name + "' (" + type
                                + ") follows another activation; a dense layer has one");
                        }
                        activation = type.equals(RELU) ? Activation.RELU : Activation.TANH;
                        break;
                    case IDENTITY:
                        break;
                    default:
                        throw new ModelFormatException(file + ": module '" + name + "' is a " + type
                            + "; only Linear, ReLU, Tanh and Identity import into a DenseNetwork"
                            + " (use TorchPredictor for this model)");
                }
            }
            if (weight == null)
            {
                throw new ModelFormatException(file + ": the nn.Sequential holds no Linear layer");
            }
            builder.layer(weight, bias, activation == null ? Activation.IDENTITY : activation);
            try
            {
                return builder.build();
            }
            catch (final IllegalArgumentException e)
            {
                throw new ModelFormatException(file + ": " + e.getMessage());
            }
        }
    }

    /** @return the Linear's weight [out, in] and bias [out] (null without bias), checked. */
    private static Tensor[] linear(final Path file, final String name, final JitModule child)
        throws ModelFormatException
    {
        final Tensor[] result = new Tensor[2];
        final named_parameter_list parameters = child.named_parameters(false);
        for (named_parameter_iterator it = parameters.begin(); it.notEquals(parameters.end()); it.increment())
        {
            final NamedTensor named = it.multiply();
            final String own = named.name().getString();
            final Tensor tensor = new Tensor(named.value());
            final long[] shape = tensor.sizes().vec().get();
            if (Tensors.dtype(tensor) != torch.ScalarType.Float)
            {
                throw new ModelFormatException(file + ": '" + name + "." + own + "' is " + Tensors.dtype(tensor)
                    + "; only float32 weights import");
            }
            if (own.equals("weight") && shape.length == 2)
            {
                result[0] = tensor;
            }
            else if (own.equals("bias") && shape.length == 1)
            {
                result[1] = tensor;
            }
            else
            {
                throw new ModelFormatException(file + ": unexpected parameter '" + name + "." + own + "' of shape "
                    + Arrays.toString(shape) + " in a Linear layer");
            }
        }
        if (result[0] == null)
        {
            throw new ModelFormatException(file + ": Linear layer '" + name + "' has no weight");
        }
        return result;
    }

    /**
     * @return the module's Python class, e.g. {@code torch.nn.modules.linear.Linear}, without TorchScript's
     * {@code __torch__.} prefix and {@code ___torch_mangle_N} atoms.
     */
    private static String typeName(final JitModule module)
    {
        final String qualified = module.type().name().get().qualifiedName().getString();
        return qualified.replaceFirst("^__torch__\\.", "").replaceAll("___torch_mangle_\\d+\\.", "");
    }
}
