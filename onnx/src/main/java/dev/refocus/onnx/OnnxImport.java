package dev.refocus.onnx;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.ModelFormatException;
import dev.refocus.onnx.OnnxFile.Attribute;
import dev.refocus.onnx.OnnxFile.Graph;
import dev.refocus.onnx.OnnxFile.Node;
import dev.refocus.onnx.OnnxFile.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Imports an ONNX MLP into a {@link DenseNetwork}, so that an {@code .onnx} file runs on the fast dense backends.
 * The graph must be a chain, from its one input to its one output, of:
 * <ul>
 * <li>a layer: {@code Gemm} ({@code transB} 1 or 0, {@code alpha} and {@code beta} 1, {@code transA} 0) or
 *     {@code MatMul} with a weight {@code [in, out]} followed by {@code Add} of the bias; weights and biases float32
 *     initializers ({@code raw_data} or {@code float_data});</li>
 * <li>after it, at most one activation: {@code Relu}, {@code Tanh}, {@code Sigmoid}, {@code LeakyRelu} with
 *     {@code alpha} 0.01, {@code Gelu} (opset 20, {@code approximate} none or tanh), the exact GELU that
 *     {@code torch.onnx.export} writes at older opsets ({@code x * (1 + Erf(x / sqrt 2)) * 0.5}) and SiLU as
 *     {@code x * Sigmoid(x)};</li>
 * <li>before the first layer, {@code Flatten} or {@code Reshape} of the input.</li>
 * </ul>
 * Anything else is refused with a {@link ModelFormatException} that names the operation (and node) that stopped
 * the import: a convolution, a residual {@code Add}, a second activation, an initializer stored outside the file.
 * A layer without bias is refused too, as {@link DenseNetwork} refuses it (see docs/EXPORTING.md). torch's
 * tanh-form GELU written as its formula (opsets below 20) is not recognised: export it at opset 20, or use the exact
 * GELU.
 * <p>
 * The whole file is read into memory (ONNX files larger than 2 GiB keep their weights outside, which this import
 * refuses); every size it claims is checked against the real bytes before anything is allocated for it.
 *
 * <pre>{@code
 * DenseNetwork network = OnnxImport.load(Path.of("mlp.onnx"));
 * }</pre>
 *
 * <p><b>Note:</b> This class is thread-safe (it has no state).
 */
public final class OnnxImport
{
    /** The largest file accepted: the largest Java array. */
    public static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 8;

    private static final String BYTES_SOURCE = "ONNX bytes";

    private OnnxImport()
    {
    }

    /**
     * @param file an ONNX file holding an MLP.
     * @return the same network as a {@link DenseNetwork}, weights copied.
     * @throws java.nio.file.NoSuchFileException if the file does not exist.
     * @throws ModelFormatException              if it is not a regular file, not ONNX, or not a supported MLP (the
     *                                           message names the operation that stopped the import).
     * @throws IOException                       if it cannot be read.
     */
    public static DenseNetwork load(final Path file) throws IOException
    {
        final String source = "ONNX file " + file;
        final BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
        if (!attributes.isRegularFile()) // a directory, a device, a pipe: refused before it is opened
        {
            throw new ModelFormatException(source + ": not a regular file");
        }
        if (attributes.size() > MAX_FILE_BYTES)
        {
            throw new ModelFormatException(source + ": " + attributes.size() + " bytes, more than the "
                + MAX_FILE_BYTES + " this import reads (a model that large keeps its weights in external files)");
        }
        final byte[] bytes = Files.readAllBytes(file);
        return load(bytes, source);
    }

    /**
     * @param onnx the bytes of an ONNX model holding an MLP.
     * @return the same network as a {@link DenseNetwork}, weights copied.
     * @throws ModelFormatException if they are not ONNX or not a supported MLP.
     */
    public static DenseNetwork load(final byte[] onnx) throws ModelFormatException
    {
        return load(onnx, BYTES_SOURCE);
    }

    private static DenseNetwork load(final byte[] bytes, final String source) throws ModelFormatException
    {
        return new ChainReader(source, OnnxFile.read(bytes, source).graph()).read();
    }

    /** One walk of the nodes, in their (topological) order, along the data path from the input to the output. */
    private static final class ChainReader
    {
        private final String source;
        private final Graph graph;
        private final List<Node> nodes = new ArrayList<>();              // all but Constant nodes
        private final Map<String, Tensor> constants = new HashMap<>(); // initializers and Constant nodes' values
        private String data;                                        // the value the chain has computed so far
        private int inputSize = -1;
        private DenseNetwork.Builder builder;
        private float[] weight;                                     // the current layer, not yet in the builder
        private float[] bias;
        private Activation activation;
        private int at;                                             // the next node

        ChainReader(final String source, final Graph graph)
        {
            this.source = source;
            this.graph = graph;
            constants.putAll(graph.initializers());
        }

        DenseNetwork read() throws ModelFormatException
        {
            // a Constant node is a value like an initializer: taken out of the node order, patterns read it by name
            for (final Node node : graph.nodes())
            {
                if (node.opType().equals("Constant") && node.domain().isEmpty())
                {
                    final Attribute value = node.attributes().get("value");
                    if (value == null || value.t() == null || node.outputs().size() != 1)
                    {
                        throw stop(node, "holds no tensor value");
                    }
                    constants.put(node.outputs().get(0), value.t());
                }
                else
                {
                    nodes.add(node);
                }
            }
            final List<String> inputs = graph.inputs().stream().map(OnnxFile.ValueInfo::name)
                .filter(name -> !constants.containsKey(name)).toList();
            if (inputs.size() != 1 || graph.outputs().size() != 1)
            {
                throw problem("the graph has " + inputs.size() + " inputs and " + graph.outputs().size()
                    + " outputs; an MLP has one of each");
            }
            data = inputs.get(0);
            inputSize = statedInputSize(graph.inputs().stream().filter(v -> v.name().equals(data)).findFirst()
                .orElseThrow().dims());
            while (at < nodes.size())
            {
                step(nodes.get(at));
            }
            if (builder == null && weight == null)
            {
                throw problem("the graph has no Gemm or MatMul layer");
            }
            if (!data.equals(graph.outputs().get(0).name()))
            {
                throw problem("the graph's output '" + graph.outputs().get(0).name()
                    + "' is not the output of its last layer");
            }
            try
            {
                addLayer();
                return builder.build();
            }
            catch (final IllegalArgumentException e) // shapes that do not chain, a NaN weight
            {
                throw problem(e.getMessage());
            }
        }

        /** The features of one sample the graph's input states (all but the batch dimension), or -1. */
        private static int statedInputSize(final long[] dims)
        {
            if (dims == null || dims.length < 2)
            {
                return -1;
            }
            long size = 1;
            for (int k = 1; k < dims.length; k++)
            {
                if (dims[k] <= 0 || size * dims[k] > Integer.MAX_VALUE)
                {
                    return -1;
                }
                size *= dims[k];
            }
            return (int)size;
        }

        private void step(final Node node) throws ModelFormatException
        {
            if (!node.domain().isEmpty() && !node.domain().equals("ai.onnx"))
            {
                throw stop(node, "is in the domain '" + node.domain() + "', not the standard one");
            }
            if (node.inputs().isEmpty() || !node.inputs().get(0).equals(data))
            {
                throw stop(node, node.inputs().contains(data)
                    ? "combines the output before it with another value (a skip connection?): the graph is not a chain"
                    : "does not read the output of the operation before it: the graph is not a chain");
            }
            switch (node.opType())
            {
                case "Flatten", "Reshape", "Identity" ->
                {
                    if (builder != null || weight != null)
                    {
                        throw stop(node, "comes after a layer; only the input may be flattened or reshaped");
                    }
                    advance(node);
                }
                case "Gemm" -> gemm(node);
                case "MatMul" -> matMul(node);
                case "Relu" -> activation(node, Activation.RELU);
                case "Tanh" -> activation(node, Activation.TANH);
                case "Sigmoid" -> sigmoid(node);
                case "LeakyRelu" ->
                {
                    final float alpha = floatAttribute(node, "alpha", 0.01f);
                    if (alpha != Activation.LEAKY_RELU_SLOPE)
                    {
                        throw stop(node, "has alpha " + alpha + "; only " + Activation.LEAKY_RELU_SLOPE
                            + " (torch's default) is supported");
                    }
                    activation(node, Activation.LEAKY_RELU);
                }
                case "Gelu" ->
                {
                    final Attribute approximate = node.attributes().get("approximate");
                    final String form = approximate == null || approximate.s() == null ? "none" : approximate.s();
                    switch (form)
                    {
                        case "none" -> activation(node, Activation.GELU);
                        case "tanh" -> activation(node, Activation.GELU_TANH);
                        default -> throw stop(node, "has approximate '" + form + "'");
                    }
                }
                case "Div" -> erfGelu(node);
                default -> throw stop(node, "is not a layer or an activation of a dense network");
            }
        }

        private void advance(final Node node) throws ModelFormatException
        {
            if (node.outputs().size() != 1)
            {
                throw stop(node, "has " + node.outputs().size() + " outputs");
            }
            data = node.outputs().get(0);
            at++;
        }

        private void gemm(final Node node) throws ModelFormatException
        {
            if (node.inputs().size() != 3)
            {
                throw stop(node, "has no bias (C): the dense backends adapt every layer's bias");
            }
            if (floatAttribute(node, "alpha", 1) != 1 || floatAttribute(node, "beta", 1) != 1
                || intAttribute(node, "transA", 0) != 0)
            {
                throw stop(node, "has alpha, beta or transA other than 1, 1, 0");
            }
            final long transB = intAttribute(node, "transB", 0);
            if (transB != 0 && transB != 1)
            {
                throw stop(node, "has transB " + transB);
            }
            final Tensor b = initializer(node, 1, 2);
            final float[] values = floats(node, b);
            final int rows = (int)b.dims()[0];
            final int columns = (int)b.dims()[1];
            // Gemm computes x B' + C with transB 1, so B is [out, in] as the builder takes it; else B is [in, out]
            final float[] w = transB == 1 ? values : transpose(values, rows, columns);
            final Tensor c = initializer(node, 2, 1);
            newLayer(node, w, transB == 1 ? rows : columns, floats(node, c));
            advance(node);
        }

        private void matMul(final Node node) throws ModelFormatException
        {
            if (node.inputs().size() != 2)
            {
                throw stop(node, "has " + node.inputs().size() + " inputs");
            }
            final Tensor v = initializer(node, 1, 2); // x V with V [in, out]
            final float[] w = transpose(floats(node, v), (int)v.dims()[0], (int)v.dims()[1]);
            advance(node);
            final Node add = at < nodes.size() ? nodes.get(at) : null;
            if (add == null || !add.opType().equals("Add") || add.inputs().size() != 2 || !add.inputs().contains(data))
            {
                throw stop(node, "is not followed by an Add of its bias: the dense backends adapt every layer's bias");
            }
            final int biasAt = add.inputs().get(0).equals(data) ? 1 : 0;
            newLayer(add, w, (int)v.dims()[1], floats(add, initializer(add, biasAt, 1)));
            advance(add);
        }

        /** Sigmoid, or SiLU when a Mul of its input and its output follows. */
        private void sigmoid(final Node node) throws ModelFormatException
        {
            final String x = data;
            final String sigmoidOut = node.outputs().size() == 1 ? node.outputs().get(0) : null;
            final Node next = at + 1 < nodes.size() ? nodes.get(at + 1) : null;
            if (next != null && next.opType().equals("Mul") && next.inputs().size() == 2
                && next.inputs().contains(x) && next.inputs().contains(sigmoidOut))
            {
                requireNoActivation(node);
                at++;
                activation(next, Activation.SILU);
                return;
            }
            activation(node, Activation.SIGMOID);
        }

        /** The exact GELU torch.onnx.export writes below opset 20: Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5). */
        private void erfGelu(final Node div) throws ModelFormatException
        {
            final String x = data;
            final String notGelu = "is not the start of x * (1 + Erf(x / sqrt(2))) * 0.5, the GELU torch exports";
            requireNoActivation(div);
            if (at + 4 >= nodes.size())
            {
                throw stop(div, notGelu);
            }
            final Node erf = nodes.get(at + 1);
            final Node add = nodes.get(at + 2);
            final Node mul = nodes.get(at + 3);
            final Node half = nodes.get(at + 4);
            if (!(div.inputs().size() == 2 && div.outputs().size() == 1
                && scalar(div.inputs().get(1)) == (float)Math.sqrt(2)
                && erf.opType().equals("Erf") && erf.inputs().equals(List.of(out(div))) && erf.outputs().size() == 1
                && is(add, "Add", List.of(out(erf))) && scalar(other(add, out(erf))) == 1
                && is(mul, "Mul", List.of(x, out(add)))
                && is(half, "Mul", List.of(out(mul))) && scalar(other(half, out(mul))) == 0.5f))
            {
                throw stop(div, notGelu);
            }
            at += 4;
            activation(half, Activation.GELU);
        }

        private static boolean is(final Node node, final String opType, final List<String> reads)
        {
            return node.opType().equals(opType) && node.domain().isEmpty() && node.inputs().size() == 2
                && node.outputs().size() == 1 && node.inputs().containsAll(reads);
        }

        private static String out(final Node node)
        {
            return node.outputs().isEmpty() ? "" : node.outputs().get(0);
        }

        private static String other(final Node node, final String input)
        {
            return node.inputs().get(0).equals(input) ? node.inputs().get(1) : node.inputs().get(0);
        }

        /** The value of a one-element float constant, or NaN. */
        private float scalar(final String name)
        {
            final Tensor t = constants.get(name);
            if (t == null || t.dataType() != OnnxFile.FLOAT || t.external() || t.dims().length > 1
                || t.dims().length == 1 && t.dims()[0] != 1)
            {
                return Float.NaN;
            }
            if (t.rawData() != null)
            {
                return t.rawData().length == Float.BYTES
                    ? ByteBuffer.wrap(t.rawData()).order(ByteOrder.LITTLE_ENDIAN).getFloat() : Float.NaN;
            }
            return t.floatData() != null && t.floatData().length == 1 ? t.floatData()[0] : Float.NaN;
        }

        private void activation(final Node node, final Activation kind) throws ModelFormatException
        {
            requireNoActivation(node);
            activation = kind;
            advance(node);
        }

        private void requireNoActivation(final Node node) throws ModelFormatException
        {
            if (weight == null)
            {
                throw stop(node, "comes before the first layer");
            }
            if (activation != null)
            {
                throw stop(node, "is a second activation after the layer (it already has "
                    + activation.lowerCaseName() + ")");
            }
        }

        private void newLayer(final Node node, final float[] w, final int out, final float[] b)
            throws ModelFormatException
        {
            try
            {
                addLayer();
            }
            catch (final IllegalArgumentException e)
            {
                throw stop(node, "does not chain to the layer before it: " + e.getMessage());
            }
            if (b.length != out)
            {
                throw stop(node, "has a layer of " + out + " outputs and a bias of " + b.length);
            }
            if (builder == null)
            {
                final int in = w.length / b.length;
                if (inputSize > 0 && inputSize != in)
                {
                    throw stop(node, "takes " + in + " features, but the graph's input has " + inputSize);
                }
                builder = DenseNetwork.builder(in);
            }
            weight = w;
            bias = b;
            activation = null;
        }

        private void addLayer()
        {
            if (weight != null)
            {
                builder.layer(weight, bias, activation == null ? Activation.IDENTITY : activation);
                weight = null;
            }
        }

        /** The initializer (or constant) that {@code node} reads at input {@code index}, of {@code rank} dims. */
        private Tensor initializer(final Node node, final int index, final int rank) throws ModelFormatException
        {
            final String name = node.inputs().get(index);
            final Tensor t = constants.get(name);
            if (t == null)
            {
                throw stop(node, "reads '" + name + "', which is not an initializer: a weight must be a constant");
            }
            if (t.dims().length != rank)
            {
                throw stop(node, "reads '" + name + "' of shape " + Arrays.toString(t.dims()) + ", not of rank "
                    + rank);
            }
            return t;
        }

        /** The float32 values of {@code t}, their count checked against its dims before anything is allocated. */
        private float[] floats(final Node node, final Tensor t) throws ModelFormatException
        {
            final String what = "reads '" + t.name() + "'";
            if (t.external())
            {
                throw stop(node, what + ", stored outside the file (external data is not supported)");
            }
            if (t.dataType() != OnnxFile.FLOAT)
            {
                throw stop(node, what + " of ONNX data type " + t.dataType() + ", not float32 (1)");
            }
            long count = 1;
            for (final long d : t.dims())
            {
                if (d <= 0 || d > Integer.MAX_VALUE || (count = count * d) > DenseNetwork.MAX_PARAMETERS)
                {
                    throw stop(node, what + " of shape " + Arrays.toString(t.dims()) + ", not a possible layer");
                }
            }
            if (t.rawData() != null)
            {
                if (t.rawData().length != count * Float.BYTES)
                {
                    throw stop(node, what + " of shape " + Arrays.toString(t.dims()) + " (" + count
                        + " floats) with " + t.rawData().length + " bytes of raw_data");
                }
                final float[] values = new float[(int)count];
                ByteBuffer.wrap(t.rawData()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
                return values;
            }
            final int stored = t.floatData() == null ? 0 : t.floatData().length;
            if (stored != count)
            {
                throw stop(node, what + " of shape " + Arrays.toString(t.dims()) + " (" + count
                    + " floats) with " + stored + " values of float_data");
            }
            return t.floatData().clone();
        }

        private static float[] transpose(final float[] values, final int rows, final int columns)
        {
            final float[] t = new float[values.length];
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < columns; c++)
                {
                    t[c * rows + r] = values[r * columns + c];
                }
            }
            return t;
        }

        private static float floatAttribute(final Node node, final String name, final float otherwise)
        {
            final Attribute a = node.attributes().get(name);
            return a == null ? otherwise : a.f();
        }

        private static long intAttribute(final Node node, final String name, final long otherwise)
        {
            final Attribute a = node.attributes().get(name);
            return a == null ? otherwise : a.i();
        }

        private ModelFormatException stop(final Node node, final String why)
        {
            final String name = node.name().isEmpty() ? "" : " '" + node.name() + "'";
            return problem("the import stopped at " + node.opType() + name + ", which " + why);
        }

        private ModelFormatException problem(final String message)
        {
            return new ModelFormatException(source + ": " + message);
        }
    }
}
