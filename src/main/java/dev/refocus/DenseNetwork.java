package dev.refocus;

import dev.refocus.internal.DenseNetworkAccess;
import dev.refocus.internal.formats.SafetensorsFile;
import org.bytedeco.javacpp.Pointer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.refocus.internal.NativeMemory.owned;

/**
 * A dense network: layers {@code a[l+1] = act_l(W_l a[l] + b_l)}, the last layer's output being the logits.
 * Weights are in PyTorch's layout {@code [out, in]}, row-major. Immutable and thread-safe: one network is shared by
 * every predictor built on it.
 *
 * <p>The parameters are held once, off the Java heap, in one direct buffer that the native backends read in place
 * and that {@link #weight} and {@link #bias} view read-only: a network costs its parameter bytes (plus a few
 * objects), counted in the JVM's {@code direct} buffer pool and limited by {@code -XX:MaxDirectMemorySize} (by
 * default the maximum heap size). A network holds at most {@link #MAX_PARAMETERS} parameters (2 GiB).
 *
 * <h2>Weight formats</h2>
 * Weights are float32 ({@link WeightFormat#FLOAT32}), unless {@link #toWeightFormat} made a
 * {@link WeightFormat#BFLOAT16} network: its weight matrices are stored as bfloat16 (the top half of a float32: 8
 * exponent bits, 7 mantissa bits), half the bytes, and its biases stay float32. Such a network <em>is</em> the
 * network whose weights are those bf16 values: every backend computes with them, widened exactly, in float32
 * arithmetic, so the native step, the reference and the CUDA backend describe one model. It differs from the
 * float32 network it was rounded from by a relative error of at most 2<sup>-8</sup> per weight (bf16 keeps 8
 * significant bits); the native step
 * reads half the weight bytes per pass, which pays where a pass is memory-bound (see the README, "bf16 weights").
 * A safetensors file whose weight matrices are all BF16 (a model saved after {@code .to(torch.bfloat16)}) loads as a
 * {@link WeightFormat#BFLOAT16} network holding exactly those values, its biases widened to float32; any other mix
 * of F32 and BF16 tensors loads as {@link WeightFormat#FLOAT32}, BF16 values widened exactly. Other dtypes are
 * refused.
 *
 * <h2>Safetensors naming convention</h2>
 * A file as PyTorch writes the {@code state_dict()} of an {@code nn.Sequential} of {@code nn.Linear} layers
 * and activations: tensors {@code <i>.weight} ({@code [out, in]}) and {@code <i>.bias} ({@code [out]}),
 * where {@code i} is the module index in the Sequential ({@code 0.weight, 0.bias, 2.weight, 2.bias, ...}),
 * optionally behind one common prefix ({@code net.0.weight}). Layers are taken in increasing index order.
 * Activations are not stored in a state dict, so they come from the file's {@code __metadata__}:
 * {@code "refocus.activations": "relu,relu,identity"} (one per layer) or
 * {@code "refocus.hidden_activation": "relu"} (every layer but the last, which is the identity);
 * with neither, hidden layers use ReLU.
 */
public final class DenseNetwork
{
    /** The most parameters a network holds: one direct buffer of at most 2 GiB. */
    public static final long MAX_PARAMETERS = (Integer.MAX_VALUE - 8) / Float.BYTES;

    /** How a network stores its weight matrices; biases are float32 in both. */
    public enum WeightFormat
    {
        /** float32: the weights as trained. */
        FLOAT32,
        /**
         * bfloat16, rounded to nearest even from float32: half the bytes; computed in float32 with the widened
         * values.
         */
        BFLOAT16
    }

    private static final Pattern TENSOR_NAME = Pattern.compile("(.*?)(\\d{1,9})\\.(weight|bias)");

    static
    {
        DenseNetworkAccess.register(DenseNetwork::parameterBlock);
    }

    private final int[] sizes;
    private final Activation[] activations;
    private final WeightFormat format;
    // W0, b0, W1, b1, ... contiguous in the format's layout (refocus/dense.h), read by the native backends in
    // place; the only copy of the parameters
    private final ByteBuffer block;
    private final Pointer parameterBlock;

    /** Takes over {@code block}, a direct buffer in native order already filled in the format's layout. */
    private DenseNetwork(final int[] sizes, final Activation[] activations, final WeightFormat format,
        final ByteBuffer block)
    {
        this.sizes = sizes;
        this.activations = activations;
        this.format = format;
        this.block = block;
        // no deallocator (the buffer owns the memory), but owned all the same: closing a PointerScope the
        // caller opened around the load would otherwise null the address under every predictor
        this.parameterBlock = owned(new Pointer(block));
    }

    /**
     * A direct buffer for the parameters of layers of these sizes in this format, checked before it is allocated.
     *
     * @throws IllegalArgumentException if they are more than {@link #MAX_PARAMETERS}.
     */
    private static ByteBuffer allocateBlock(final int[] sizes, final WeightFormat format)
    {
        final long count = parameterCount(sizes);
        if (count > MAX_PARAMETERS)
        {
            throw new IllegalArgumentException("the network has " + count + " parameters; at most " + MAX_PARAMETERS
                + " (2 GiB) fit in one network");
        }
        // at most count * 4 bytes: a bf16 block is smaller (a padding half per layer at most, against half the
        // weight bytes saved), so it fits wherever the float32 one does
        return ByteBuffer.allocateDirect((int)blockBytes(sizes, format, sizes.length - 1)).order(ByteOrder.nativeOrder());
    }

    /** The bytes of layers 0 .. layer - 1 in the block of this format: where layer {@code layer}'s weight starts. */
    private static long blockBytes(final int[] sizes, final WeightFormat format, final int layer)
    {
        long bytes = 0;
        for (int l = 0; l < layer; l++)
        {
            bytes += weightBytes((long)sizes[l] * sizes[l + 1], format) + (long)sizes[l + 1] * Float.BYTES;
        }
        return bytes;
    }

    /** The bytes of a weight matrix of {@code count} values, padded to the 4 bytes its bias starts on (dense.h). */
    private static long weightBytes(final long count, final WeightFormat format)
    {
        return format == WeightFormat.FLOAT32 ? count * Float.BYTES : (count * Short.BYTES + 3) & ~3L;
    }

    private static long parameterCount(final int[] sizes)
    {
        long n = 0;
        for (int l = 0; l + 1 < sizes.length; l++)
        {
            n += ((long)sizes[l] + 1) * sizes[l + 1];
        }
        return n;
    }

    /** Where layer {@code layer}'s weight starts in the block, in bytes. */
    private int weightOffset(final int layer)
    {
        return (int)blockBytes(sizes, format, layer);
    }

    /** Where layer {@code layer}'s bias starts in the block, in bytes: right after its weight. */
    private int biasOffset(final int layer)
    {
        return weightOffset(layer) + (int)weightBytes((long)sizes[layer] * sizes[layer + 1], format);
    }

    /**
     * Loads a network from a safetensors file, with the activations its metadata names (ReLU by default).
     *
     * @param file a safetensors file following the naming convention above; a directory, named pipe or device is
     *             refused without being opened.
     * @return the network.
     * @throws ModelFormatException if the path is not a regular file, or the file is malformed or does not describe
     *                              a dense network.
     * @throws IOException          if it cannot be read.
     */
    public static DenseNetwork load(final Path file) throws IOException
    {
        Objects.requireNonNull(file, "file");
        return load(SafetensorsFile.read(file), null);
    }

    /**
     * Loads a network from a safetensors file with the given activation after every layer but the last.
     *
     * @param file   a safetensors file following the naming convention above; a directory, named pipe or device
     *               is refused without being opened.
     * @param hidden the activation between layers; the last layer is the identity.
     * @return the network.
     * @throws ModelFormatException if the path is not a regular file, or the file is malformed or does not describe
     *                              a dense network.
     * @throws IOException          if it cannot be read.
     */
    public static DenseNetwork load(final Path file, final Activation hidden) throws IOException
    {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(hidden, "hidden");
        return load(SafetensorsFile.read(file), hidden);
    }

    /**
     * Loads a network from the bytes of a safetensors file (a model shipped as bytes, e.g. a broadcast), with the
     * activations its metadata names (ReLU by default). The array is read, never kept or changed.
     *
     * @param safetensors the whole file, following the naming convention above.
     * @return the network.
     * @throws ModelFormatException if the bytes are malformed or do not describe a dense network; the message
     *                              starts with {@code "safetensors bytes"}.
     */
    public static DenseNetwork load(final byte[] safetensors) throws ModelFormatException
    {
        Objects.requireNonNull(safetensors, "safetensors");
        return load(SafetensorsFile.read(safetensors), null);
    }

    /**
     * Loads a network from the bytes of a safetensors file with the given activation after every layer but the
     * last. The array is read, never kept or changed.
     *
     * @param safetensors the whole file, following the naming convention above.
     * @param hidden      the activation between layers; the last layer is the identity.
     * @return the network.
     * @throws ModelFormatException if the bytes are malformed or do not describe a dense network.
     */
    public static DenseNetwork load(final byte[] safetensors, final Activation hidden) throws ModelFormatException
    {
        Objects.requireNonNull(safetensors, "safetensors");
        Objects.requireNonNull(hidden, "hidden");
        return load(SafetensorsFile.read(safetensors), hidden);
    }

    /**
     * Loads a network from a stream holding one safetensors file, with the activations its metadata names (ReLU by
     * default). Reads the stream to its end and does not close it. Memory grows with the bytes the stream really
     * holds, never with the lengths it claims; a stream of more than about 2 GiB is refused.
     *
     * @param in a stream holding the whole file, following the naming convention above, and nothing after it.
     * @return the network.
     * @throws ModelFormatException if the stream's bytes are malformed, too many or do not describe a dense network;
     *                              the message starts with {@code "safetensors bytes"}.
     * @throws IOException          if the stream cannot be read.
     */
    public static DenseNetwork load(final InputStream in) throws IOException
    {
        Objects.requireNonNull(in, "in");
        return load(SafetensorsFile.read(in), null);
    }

    /**
     * Loads a network from a stream holding one safetensors file with the given activation after every layer but
     * the last. Reads the stream to its end and does not close it.
     *
     * @param in     a stream holding the whole file, following the naming convention above, and nothing after it.
     * @param hidden the activation between layers; the last layer is the identity.
     * @return the network.
     * @throws ModelFormatException if the stream's bytes are malformed, too many or do not describe a dense network.
     * @throws IOException          if the stream cannot be read.
     */
    public static DenseNetwork load(final InputStream in, final Activation hidden) throws IOException
    {
        Objects.requireNonNull(in, "in");
        Objects.requireNonNull(hidden, "hidden");
        return load(SafetensorsFile.read(in), hidden);
    }

    private static DenseNetwork load(final SafetensorsFile file, final Activation hidden) throws ModelFormatException
    {
        final String where = file.source();
        final TreeMap<Integer, String> layerIndices = new TreeMap<>();
        // the first tensor seen of each layer: two spellings of one index (0 and 00) would merge two layers
        final Map<Integer, String> firstTensor = new HashMap<>();
        String prefix = null;
        for (final String name : file.tensorNames())
        {
            final Matcher m = TENSOR_NAME.matcher(name);
            if (!m.matches())
            {
                throw new ModelFormatException(where + ": tensor '" + name
                    + "' does not follow the dense naming convention '<i>.weight' / '<i>.bias'");
            }
            if (prefix != null && !prefix.equals(m.group(1)))
            {
                throw new ModelFormatException(where + ": tensors '" + prefix + "...' and '" + name
                    + "' do not share one prefix");
            }
            prefix = m.group(1);
            final int index = Integer.parseInt(m.group(2));
            final String spelled = layerIndices.putIfAbsent(index, m.group(2));
            if (spelled != null && !spelled.equals(m.group(2)))
            {
                throw new ModelFormatException(where + ": tensors '" + firstTensor.get(index) + "' and '" + name
                    + "' both name layer " + index + "; each layer index must be written one way");
            }
            firstTensor.putIfAbsent(index, name);
        }
        if (layerIndices.isEmpty())
        {
            throw new ModelFormatException(where + ": holds no tensor");
        }

        final List<String> tensors = new ArrayList<>(); // W0, b0, W1, b1, ...: the block's order
        final int[] sizes = new int[layerIndices.size() + 1];
        int layer = 0;
        for (final String index : layerIndices.values())
        {
            final String wName = prefix + index + ".weight";
            final String bName = prefix + index + ".bias";
            for (final String name : new String[] {wName, bName})
            {
                if (!file.contains(name))
                {
                    throw new ModelFormatException(where + ": missing tensor '" + name + "'");
                }
            }
            final int[] wShape = file.shape(wName);
            final int[] bShape = file.shape(bName);
            if (wShape.length != 2)
            {
                throw new ModelFormatException(where + ": tensor '" + wName + "' has " + wShape.length
                    + " dimensions; a Linear weight has 2 ([out, in])");
            }
            if (bShape.length != 1 || bShape[0] != wShape[0])
            {
                throw new ModelFormatException(where + ": tensor '" + bName + "' has shape " + shape(bShape)
                    + "; the bias of a layer with weight " + shape(wShape) + " has shape [" + wShape[0] + "]");
            }
            if (layer > 0 && wShape[1] != sizes[layer])
            {
                throw new ModelFormatException(where + ": shapes do not chain: '" + wName + "' is " + shape(wShape)
                    + " but the previous layer has " + sizes[layer] + " outputs");
            }
            if (wShape[0] == 0 || wShape[1] == 0)
            {
                throw new ModelFormatException(where + ": tensor '" + wName + "' is empty " + shape(wShape));
            }
            sizes[layer] = wShape[1];
            sizes[layer + 1] = wShape[0];
            tensors.add(wName);
            tensors.add(bName);
            layer++;
        }
        final Activation[] activations = activations(file.metadata(), hidden, layer, where);
        // weights saved in bf16 (tensor.to(torch.bfloat16)) stay bf16: exactly the file's values, half the bytes
        boolean bf16 = true;
        for (int l = 0; l < layer; l++)
        {
            bf16 &= "BF16".equals(file.dtype(tensors.get(2 * l)));
        }
        final WeightFormat format = bf16 ? WeightFormat.BFLOAT16 : WeightFormat.FLOAT32;
        final ByteBuffer block;
        try
        {
            block = allocateBlock(sizes, format);
        }
        catch (final IllegalArgumentException e)
        {
            throw new ModelFormatException(where + ": " + e.getMessage());
        }
        for (int l = 0; l < layer; l++)
        {
            final int count = sizes[l] * sizes[l + 1];
            final int weightAt = (int)blockBytes(sizes, format, l);
            final int biasAt = weightAt + (int)weightBytes(count, format);
            final ByteBuffer weight = block.slice(weightAt, biasAt - weightAt).order(ByteOrder.nativeOrder());
            if (bf16)
            {
                file.bf16(tensors.get(2 * l), weight.asShortBuffer());
            }
            else
            {
                file.floats(tensors.get(2 * l), weight.asFloatBuffer());
            }
            file.floats(tensors.get(2 * l + 1),
                block.slice(biasAt, sizes[l + 1] * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer());
        }
        return new DenseNetwork(sizes, activations, format, block);
    }

    private static Activation[] activations(final Map<String, String> metadata, final Activation hidden,
        final int layers, final String where) throws ModelFormatException
    {
        final Activation[] result = new Activation[layers];
        try
        {
            final String all = metadata.get("refocus.activations");
            if (hidden == null && all != null)
            {
                final String[] names = all.split(",");
                if (names.length != layers)
                {
                    throw new ModelFormatException(where + ": metadata refocus.activations names " + names.length
                        + " activations for " + layers + " layers");
                }
                for (int l = 0; l < layers; l++)
                {
                    result[l] = Activation.parse(names[l]);
                }
                return result;
            }
            final String hiddenName = metadata.get("refocus.hidden_activation");
            final Activation between = hidden != null ? hidden
                : hiddenName != null ? Activation.parse(hiddenName) : Activation.RELU;
            for (int l = 0; l < layers; l++)
            {
                result[l] = l < layers - 1 ? between : Activation.IDENTITY;
            }
            return result;
        }
        catch (final IllegalArgumentException e)
        {
            throw new ModelFormatException(where + ": metadata: " + e.getMessage());
        }
    }

    private static String shape(final int[] shape)
    {
        return Arrays.toString(shape);
    }

    /**
     * @param inputSize number of input features.
     * @return a builder that adds layers from the input to the head.
     */
    public static Builder builder(final int inputSize)
    {
        return new Builder(inputSize);
    }

    /** @return number of layers (weight matrices). */
    public int layers()
    {
        return activations.length;
    }

    /** @return number of input features. */
    public int inputSize()
    {
        return sizes[0];
    }

    /** @return number of classes: the size of the last layer's output. */
    public int classes()
    {
        return sizes[sizes.length - 1];
    }

    /** @param layer a layer index. @return its number of inputs. */
    public int inputSize(final int layer)
    {
        return sizes[layer];
    }

    /** @param layer a layer index. @return its number of outputs. */
    public int outputSize(final int layer)
    {
        return sizes[layer + 1];
    }

    /** @param layer a layer index. @return the activation applied to its output. */
    public Activation activation(final int layer)
    {
        return activations[layer];
    }

    /**
     * @param layer a layer index.
     * @return its weight, {@code [out, in]} row-major, read-only. {@link WeightFormat#FLOAT32}: a view (a direct
     * buffer over the network's only copy; it keeps that memory alive). {@link WeightFormat#BFLOAT16}: a new heap
     * buffer holding the widened values, allocated at each call (the float32 values this network computes with;
     * bf16 cannot be viewed as floats).
     */
    public FloatBuffer weight(final int layer)
    {
        final int count = sizes[layer] * sizes[layer + 1];
        if (format == WeightFormat.FLOAT32)
        {
            return floats(weightOffset(layer), count);
        }
        final float[] widened = new float[count];
        final int start = weightOffset(layer);
        for (int i = 0; i < count; i++)
        {
            widened[i] = Bfloat16.widen(block.getShort(start + i * Short.BYTES));
        }
        return FloatBuffer.wrap(widened).asReadOnlyBuffer();
    }

    /**
     * @param layer a layer index.
     * @return a read-only view of its bias, float32 in every format (a direct buffer over the network's only copy;
     * it keeps that memory alive).
     */
    public FloatBuffer bias(final int layer)
    {
        return floats(biasOffset(layer), sizes[layer + 1]);
    }

    private FloatBuffer floats(final int byteOffset, final int length)
    {
        return block.slice(byteOffset, length * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer()
            .asReadOnlyBuffer();
    }

    /** @return total number of weights and biases. */
    public long parameterCount()
    {
        return parameterCount(sizes);
    }

    /** @return how this network stores its weights. */
    public WeightFormat weightFormat()
    {
        return format;
    }

    /**
     * @return the bytes its parameters take off the Java heap: 4 per parameter in {@link WeightFormat#FLOAT32}; in
     * {@link WeightFormat#BFLOAT16} 2 per weight and 4 per bias (plus at most 2 of padding per layer).
     */
    public long parameterBytes()
    {
        return block.capacity();
    }

    /**
     * This network with its weights in another format; biases, sizes and activations are kept. To
     * {@link WeightFormat#BFLOAT16}: each weight rounded to the nearest bf16, ties to even; a NaN stays a (quiet)
     * NaN, an infinity stays infinite. To {@link WeightFormat#FLOAT32}: the widened values, exactly. The new network
     * holds only its own block: drop this one to free its memory. Allocates the new block (checked as
     * {@link #MAX_PARAMETERS} says) and reads this one; run it at set-up, never per sample.
     *
     * @param target the format.
     * @return this network if it already has that format, else a new one.
     * @throws IllegalArgumentException if a finite weight is too large for bf16 (rounds to infinity, beyond
     *                                  {@code 3.3895e38}); the message names its layer and index.
     */
    public DenseNetwork toWeightFormat(final WeightFormat target)
    {
        Objects.requireNonNull(target, "target");
        if (target == format)
        {
            return this;
        }
        final ByteBuffer converted = allocateBlock(sizes, target);
        for (int l = 0; l < layers(); l++)
        {
            final int count = sizes[l] * sizes[l + 1];
            final int from = weightOffset(l);
            final int to = (int)blockBytes(sizes, target, l);
            for (int i = 0; i < count; i++)
            {
                if (target == WeightFormat.BFLOAT16)
                {
                    final float w = block.getFloat(from + i * Float.BYTES);
                    final short rounded = Bfloat16.round(w);
                    if (Float.isFinite(w) && Float.isInfinite(Bfloat16.widen(rounded)))
                    {
                        throw new IllegalArgumentException("layer " + l + ": weight " + i + " (" + w
                            + ") is too large for bfloat16: it would round to infinity");
                    }
                    converted.putShort(to + i * Short.BYTES, rounded);
                }
                else
                {
                    converted.putFloat(to + i * Float.BYTES, Bfloat16.widen(block.getShort(from + i * Short.BYTES)));
                }
            }
            final int biasTo = to + (int)weightBytes(count, target);
            converted.put(biasTo, block, biasOffset(l), sizes[l + 1] * Float.BYTES);
        }
        return new DenseNetwork(sizes, activations, target, converted);
    }

    /**
     * The parameters off-heap, in the layout of {@code refocus/dense.h} for {@link #weightFormat()}: W<sub>0</sub>,
     * b<sub>0</sub>, W<sub>1</sub>, b<sub>1</sub>, ... contiguous, shared read-only by every native predictor of this
     * network (each keeps the network, and so the memory, reachable).
     */
    private Pointer parameterBlock()
    {
        return parameterBlock;
    }

    @Override
    public String toString()
    {
        final StringBuilder s = new StringBuilder("DenseNetwork[").append(sizes[0]);
        for (int l = 0; l < layers(); l++)
        {
            s.append(" -> ").append(sizes[l + 1]);
            if (activations[l] != Activation.IDENTITY)
            {
                s.append(' ').append(activations[l].name().toLowerCase(Locale.ROOT));
            }
        }
        if (format == WeightFormat.BFLOAT16)
        {
            s.append(", bf16 weights");
        }
        return s.append(']').toString();
    }

    /** Builds a {@link DenseNetwork} from arrays, layer by layer; the arrays are copied. Not thread-safe. */
    public static final class Builder
    {
        private final List<Integer> sizes = new ArrayList<>();
        private final List<float[]> weights = new ArrayList<>();
        private final List<float[]> biases = new ArrayList<>();
        private final List<Activation> activations = new ArrayList<>();

        private Builder(final int inputSize)
        {
            if (inputSize < 1)
            {
                throw new IllegalArgumentException("input size must be >= 1, got " + inputSize);
            }
            sizes.add(inputSize);
        }

        /**
         * Adds a layer after the previous one.
         *
         * @param weight     {@code [out, in]} row-major, {@code in} being the previous layer's output size.
         * @param bias       {@code [out]}.
         * @param activation applied to this layer's output (IDENTITY for the head).
         * @return this builder.
         */
        public Builder layer(final float[] weight, final float[] bias, final Activation activation)
        {
            Objects.requireNonNull(weight, "weight");
            Objects.requireNonNull(bias, "bias");
            Objects.requireNonNull(activation, "activation");
            final int in = sizes.get(sizes.size() - 1);
            if (bias.length < 1)
            {
                throw new IllegalArgumentException("layer " + weights.size() + ": the bias is empty");
            }
            if (weight.length != (long)bias.length * in)
            {
                throw new IllegalArgumentException("layer " + weights.size() + ": weight has " + weight.length
                    + " values, expected out * in = " + bias.length + " * " + in);
            }
            sizes.add(bias.length);
            weights.add(weight.clone());
            biases.add(bias.clone());
            activations.add(activation);
            return this;
        }

        /**
         * Adds a layer after the previous one.
         *
         * @param weight     {@code weight[out][in]}.
         * @param bias       {@code [out]}.
         * @param activation applied to this layer's output.
         * @return this builder.
         */
        public Builder layer(final float[][] weight, final float[] bias, final Activation activation)
        {
            Objects.requireNonNull(weight, "weight");
            final int in = sizes.get(sizes.size() - 1);
            final float[] flat = new float[weight.length * in];
            for (int o = 0; o < weight.length; o++)
            {
                if (weight[o].length != in)
                {
                    throw new IllegalArgumentException("layer " + weights.size() + ": weight row " + o + " has "
                        + weight[o].length + " values, expected " + in);
                }
                System.arraycopy(weight[o], 0, flat, o * in, in);
            }
            if (weight.length != bias.length)
            {
                throw new IllegalArgumentException("layer " + weights.size() + ": weight has " + weight.length
                    + " rows but the bias has " + bias.length + " values");
            }
            return layer(flat, bias, activation);
        }

        /**
         * @return the network of the layers added so far.
         * @throws IllegalStateException if no layer was added.
         */
        public DenseNetwork build()
        {
            if (weights.isEmpty())
            {
                throw new IllegalStateException("a network needs at least one layer");
            }
            final int[] layerSizes = sizes.stream().mapToInt(Integer::intValue).toArray();
            final ByteBuffer block = allocateBlock(layerSizes, WeightFormat.FLOAT32);
            final FloatBuffer parameters = block.asFloatBuffer();
            for (int l = 0; l < weights.size(); l++)
            {
                parameters.put(weights.get(l)).put(biases.get(l));
            }
            return new DenseNetwork(layerSizes, activations.toArray(new Activation[0]), WeightFormat.FLOAT32, block);
        }
    }
}
