package dev.refocus.torch;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.ModelFormatException;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Graph;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueOptional;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.JitNode;
import org.bytedeco.pytorch.MethodOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.Value;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Imports a TorchScript MLP into a {@link DenseNetwork}, so that one {@code .pt} file runs on the fast dense
 * backends. It reads the module's inlined {@code forward} graph, so any module imports, traced or scripted, an
 * {@code nn.Sequential} or a custom module (attributes {@code l0}, {@code l1}, ...), whose forward is a chain of
 * dense layers and element-wise activations:
 * <ul>
 * <li>a layer: {@code aten::linear} (an {@code nn.Linear} or {@code F.linear}), {@code aten::addmm(b, x, W.t())}, or
 *     {@code aten::matmul(x, W.t())} (or {@code matmul(x, V)} with V stored {@code [in, out]}) followed by
 *     {@code aten::add} of the bias; W and b parameters or buffers of the module, float32;</li>
 * <li>after it, at most one activation of {@link Activation} ({@code relu}, {@code tanh}, {@code gelu} with
 *     {@code approximate} none or tanh, {@code silu}, {@code sigmoid}, {@code leaky_relu} with slope 0.01), in place
 *     or not; {@code dropout} is the identity (the backends run modules in eval mode);</li>
 * <li>before the first layer, {@code flatten}, {@code reshape} or {@code view} of the input.</li>
 * </ul>
 * Anything else is refused with a {@link ModelFormatException} that names the operation that stopped the import
 * (a convolution, a residual {@code add}, a tuple output, an activation with another parameter): run such a model
 * with {@link TorchPredictor}. A layer without bias ({@code nn.Linear(..., bias=False)}) is refused too: the dense
 * backends adapt every layer's bias, and libtorch cannot adapt a bias the module does not have, so the two would
 * answer differently under any parameter subset that adapts that layer.
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
    private TorchScriptImport()
    {
    }

    /**
     * @param file a TorchScript file holding an MLP.
     * @return the same network as a {@link DenseNetwork}, weights copied.
     * @throws java.nio.file.NoSuchFileException if the file does not exist.
     * @throws ModelFormatException              if it is not TorchScript or not a supported MLP (the message names
     *                                           the operation that stopped the import).
     * @throws IOException                       if it cannot be read.
     */
    public static DenseNetwork denseNetwork(final Path file) throws IOException
    {
        final JitModule module = TorchModel.loadModule(file);
        try (PointerScope scope = new PointerScope())
        {
            scope.attach(module);
            final MethodOptional forward = module.find_method("forward");
            if (!forward.has_value())
            {
                throw new ModelFormatException(file + ": the module has no forward method");
            }
            // optimized_graph() is the inlined graph: submodules' forwards are spliced in as aten operations
            try
            {
                final Graph graph = torch.toGraphFunction(forward.get().function()).optimized_graph();
                return new GraphReader(file, module, graph).read();
            }
            catch (final RuntimeException e) // libtorch's c10::Error, on a graph this walk did not foresee
            {
                throw new ModelFormatException(file + ": cannot read its forward graph: " + e.getMessage());
            }
        }
    }

    /** One walk of the graph along its data path, from the input to the returned logits. */
    private static final class GraphReader
    {
        private final Path file;
        private final JitModule module;
        private final Graph graph;
        private final Map<String, String> attributeNames = new HashMap<>(); // prim::GetAttr: output -> name
        private long self;
        private long data;                                // the value the chain has computed so far
        private final Set<Long> earlier = new HashSet<>(); // the values it computed before: a skip reads one
        private DenseNetwork.Builder builder;
        private float[] weight;                           // the current layer, not yet added to the builder
        private float[] bias;
        private Activation activation;
        private Tensor matmulWeight;                      // a matmul's W [out, in], waiting for its bias (aten::add)

        GraphReader(final Path file, final JitModule module, final Graph graph)
        {
            this.file = file;
            this.module = module;
            this.graph = graph;
            // Node::s() does not cross the binding (bytedeco's 2.10.0-1.5.13 returns bytes already freed), so the
            // attribute names come from the graph's printed form: %out : T = prim::GetAttr[name="x"](%in)
            final Matcher m = GET_ATTR.matcher(graph.toString());
            while (m.find())
            {
                attributeNames.put(m.group(1), m.group(2));
            }
        }

        private static final Pattern GET_ATTR = Pattern.compile("%(\\S+) : [^\\n]*= prim::GetAttr\\[name=\"([^\"]*)\"\\]");

        DenseNetwork read() throws ModelFormatException
        {
            if (graph.inputs().size() != 2)
            {
                throw new ModelFormatException(file + ": forward takes " + (graph.inputs().size() - 1)
                    + " inputs; an MLP takes one tensor");
            }
            self = graph.inputs().get(0).address();
            data = graph.inputs().get(1).address();
            final JitNode end = graph.return_node();
            try
            {
                for (JitNode node = graph.nodes().front(); node.address() != end.address(); node = node.next())
                {
                    visit(node);
                }
            }
            catch (final IllegalArgumentException e) // the builder's: sizes that do not chain
            {
                throw new ModelFormatException(file + ": " + e.getMessage());
            }
            if (end.inputs().size() != 1 || end.inputs().get(0).address() != data)
            {
                throw new ModelFormatException(file + ": forward does not return the output of its last layer");
            }
            finishMatmul("the return");
            if (weight == null)
            {
                throw new ModelFormatException(file + ": forward has no linear layer");
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

        private void visit(final JitNode node) throws ModelFormatException
        {
            final String kind = node.kind().toQualString().getString();
            if (kind.equals("prim::If") || kind.equals("prim::Loop"))
            {
                throw refused(kind, "is control flow"); // its blocks read values this walk does not see
            }
            boolean readsData = false;
            for (long i = 0; i < node.inputs().size(); i++)
            {
                final long input = node.inputs().get(i).address();
                readsData |= input == data;
                if (earlier.contains(input) && !isShapeQuery(kind))
                {
                    throw refused(kind, "reads the output of an earlier layer (a skip or residual connection)");
                }
            }
            if (!readsData || isShapeQuery(kind))
            {
                return; // constants, attributes, shapes: they count through the operations of the chain that use them
            }
            if (!kind.equals("aten::add"))
            {
                finishMatmul(kind);
            }
            switch (kind)
            {
                case "aten::flatten":
                case "aten::reshape":
                case "aten::view":
                    if (weight != null)
                    {
                        throw refused(kind, "changes the shape after the first layer");
                    }
                    break;
                case "aten::linear":
                    requireData(node, 0, kind);
                    if (node.input(2).mustBeNone())
                    {
                        throw noBias(node.input(1));
                    }
                    layer(parameter(node.input(1), kind), parameter(node.input(2), kind));
                    break;
                case "aten::addmm":
                    requireData(node, 1, kind);
                    requireOne(node, 3, kind, "beta");
                    requireOne(node, 4, kind, "alpha");
                    layer(transposed(node.input(2), kind), parameter(node.input(0), kind));
                    break;
                case "aten::matmul":
                    requireData(node, 0, kind);
                    matmulWeight = transposed(node.input(1), kind);
                    break;
                case "aten::add":
                    if (matmulWeight == null || node.input(0).address() != data || !isParameter(node.input(1)))
                    {
                        throw refused(kind, "is not the bias of a matmul (a residual connection?)");
                    }
                    requireOne(node, 2, kind, "alpha");
                    final Tensor w = matmulWeight;
                    matmulWeight = null;
                    layer(w, parameter(node.input(1), kind));
                    break;
                case "aten::dropout":
                case "aten::dropout_":
                case "aten::feature_dropout":
                    break; // the identity in eval mode, where every backend runs the module
                default:
                    activation(node, kind);
            }
            earlier.add(data);
            data = node.output().address();
        }

        private void activation(final JitNode node, final String kind) throws ModelFormatException
        {
            final Activation a;
            switch (kind.endsWith("_") ? kind.substring(0, kind.length() - 1) : kind)
            {
                case "aten::relu":
                    a = Activation.RELU;
                    break;
                case "aten::tanh":
                    a = Activation.TANH;
                    break;
                case "aten::sigmoid":
                    a = Activation.SIGMOID;
                    break;
                case "aten::silu":
                    a = Activation.SILU;
                    break;
                case "aten::gelu":
                {
                    final String approximate = node.inputs().size() > 1 ? constant(node.input(1), kind).toStringRef()
                        .getString() : "none";
                    if (!approximate.equals("none") && !approximate.equals("tanh"))
                    {
                        throw refused(kind, "has approximate='" + approximate + "'");
                    }
                    a = approximate.equals("none") ? Activation.GELU : Activation.GELU_TANH;
                    break;
                }
                case "aten::leaky_relu":
                {
                    final double slope = node.inputs().size() > 1 ? constant(node.input(1), kind).toDouble() : 0.01;
                    if ((float)slope != Activation.LEAKY_RELU_SLOPE)
                    {
                        throw refused(kind, "has negative_slope " + slope + "; only PyTorch's default "
                            + Activation.LEAKY_RELU_SLOPE + " imports");
                    }
                    a = Activation.LEAKY_RELU;
                    break;
                }
                default:
                    throw refused(kind, "is not a dense layer or a supported activation");
            }
            if (weight == null)
            {
                throw refused(kind, "comes before the first linear layer");
            }
            if (activation != null)
            {
                throw refused(kind, "follows another activation; a dense layer has one");
            }
            activation = a;
        }

        /** Starts a layer from W [out, in] and b [out]; the previous one is complete. */
        private void layer(final Tensor w, final Tensor b) throws ModelFormatException
        {
            if (w.dim() != 2 || b.dim() != 1 || w.size(0) != b.size(0))
            {
                throw new ModelFormatException(file + ": a layer's weight has shape "
                    + Arrays.toString(w.sizes().vec().get()) + " and its bias " + Arrays.toString(b.sizes().vec().get())
                    + "; a dense layer's are [out, in] and [out]");
            }
            if (weight != null)
            {
                builder.layer(weight, bias, activation == null ? Activation.IDENTITY : activation);
            }
            else
            {
                builder = DenseNetwork.builder((int)w.size(1));
            }
            weight = Tensors.toArray(w.contiguous());
            bias = Tensors.toArray(b.contiguous());
            activation = null;
        }

        private void finishMatmul(final String next) throws ModelFormatException
        {
            if (matmulWeight != null)
            {
                throw new ModelFormatException(file + ": a matmul without a bias (followed by " + next
                    + "): the dense backends adapt every layer's bias, and the module has none to adapt in libtorch;"
                    + " give the layer a bias or run the model with TorchPredictor");
            }
        }

        private ModelFormatException noBias(final Value weightValue)
        {
            return new ModelFormatException(file + ": the layer of '" + path(weightValue) + "' has no bias: the dense "
                + "backends adapt every layer's bias, and libtorch cannot adapt one the module does not have; give "
                + "the layer a bias (bias=True) or run the model with TorchPredictor");
        }

        private ModelFormatException refused(final String kind, final String why)
        {
            return new ModelFormatException(file + ": the import stopped at " + kind + ", which " + why
                + "; only chains of linear layers and element-wise activations import into a DenseNetwork"
                + " (run this model with TorchPredictor)");
        }

        private void requireData(final JitNode node, final int index, final String kind) throws ModelFormatException
        {
            if (node.input(index).address() != data)
            {
                throw refused(kind, "does not take the previous layer's output as its input");
            }
        }

        private void requireOne(final JitNode node, final int index, final String kind, final String what)
            throws ModelFormatException
        {
            if (node.inputs().size() > index)
            {
                final IValue value = constant(node.input(index), kind);
                if (!(value.isInt() && value.toInt() == 1 || value.isDouble() && value.toDouble() == 1.0))
                {
                    throw refused(kind, "scales by " + what + " != 1");
                }
            }
        }

        private IValue constant(final Value value, final String kind) throws ModelFormatException
        {
            final IValueOptional constant = torch.toIValue(value);
            if (!constant.has_value())
            {
                throw refused(kind, "takes an argument that is not a constant");
            }
            return constant.get();
        }

        private static boolean isShapeQuery(final String kind)
        {
            return kind.equals("aten::size") || kind.equals("aten::dim");
        }

        /** @return W [out, in] from a value that is W.t() (W a parameter) or a parameter V = W^T [in, out]. */
        private Tensor transposed(final Value value, final String kind) throws ModelFormatException
        {
            final JitNode node = value.node();
            final String producer = node.kind().toQualString().getString();
            if (producer.equals("aten::t") && isParameter(node.input(0)))
            {
                return parameter(node.input(0), kind);
            }
            final Tensor v = parameter(value, kind);
            if (v.dim() != 2)
            {
                throw refused(kind, "multiplies by a tensor of " + v.dim() + " dimensions");
            }
            return v.t();
        }

        private boolean isParameter(final Value value)
        {
            Value v = value;
            while (v.node().kind().toQualString().getString().equals("prim::GetAttr"))
            {
                v = v.node().input(0);
            }
            return v.address() == self && v.address() != value.address();
        }

        /** @return the tensor of a parameter or buffer, found by the path of prim::GetAttr from the module. */
        private Tensor parameter(final Value value, final String kind) throws ModelFormatException
        {
            if (!isParameter(value))
            {
                throw refused(kind, "takes a weight that is not a parameter of the module");
            }
            final Deque<String> names = names(value);
            IValue v = module.attr(names.removeFirst());
            for (final String name : names)
            {
                v = v.toObject().getAttr(name);
            }
            if (!v.isTensor())
            {
                throw refused(kind, "takes '" + path(value) + "', which is not a tensor");
            }
            final Tensor tensor = new Tensor(v.toTensor()); // a handle of its own (BUILD-NOTES: stale handles)
            if (Tensors.dtype(tensor) != torch.ScalarType.Float)
            {
                throw new ModelFormatException(file + ": '" + path(value) + "' is " + Tensors.dtype(tensor)
                    + "; only float32 weights import");
            }
            return tensor;
        }

        private Deque<String> names(final Value value)
        {
            final Deque<String> names = new ArrayDeque<>();
            for (Value v = value; v.address() != self; v = v.node().input(0))
            {
                names.addFirst(attributeNames.get(v.debugName().getString()));
            }
            return names;
        }

        private String path(final Value value)
        {
            return isParameter(value) ? String.join(".", names(value)) : value.debugName().getString();
        }
    }
}
