package dev.refocus.internal.formats;

import dev.refocus.ModelFormatException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A safetensors file (as PyTorch and the safetensors library write it), read into memory and validated.
 * <p>
 * The format is an 8-byte little-endian unsigned header length N, N bytes of UTF-8 JSON (padded with spaces), and
 * the data section. The JSON object maps each tensor name to
 * {@code {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}}, offsets relative to the start of
 * the data section, with an optional {@code "__metadata__"} object of strings.
 * <p>
 * {@link #read(Path)} checks the whole file, at least as strictly as the safetensors library does: a known dtype
 * for every tensor, byte ranges that match shape and dtype, and tensors that cover the data section exactly, with no
 * overlap, gap or trailing byte (the format forbids holes). Unlike the library it also rejects unknown fields in a
 * tensor entry and a null {@code "__metadata__"}. Every problem is a {@link ModelFormatException} naming the file
 * and, where there is one, the tensor. Instances are immutable and safe to share between threads.
 */
public final class SafetensorsFile
{
    /** The largest header accepted: the limit of the safetensors library. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** The largest data section accepted: it must fit in one Java array. */
    public static final long MAX_DATA_BYTES = Integer.MAX_VALUE - 8;

    private static final String METADATA_KEY = "__metadata__";
    private static final Set<String> TENSOR_FIELDS = Set.of("dtype", "shape", "data_offsets");
    private static final Map<String, Integer> DTYPE_BYTES = dtypeBytes();
    // reading in chunks keeps the JDK from allocating (and caching) a temporary direct buffer as large as the file
    private static final int READ_CHUNK_BYTES = 1 << 20;

    private final Path path;
    private final Map<String, String> metadata;
    private final Map<String, Tensor> tensors;
    private final List<String> names;
    private final byte[] data;

    private record Tensor(String name, String dtype, int[] shape, int begin, int end)
    {
    }

    private SafetensorsFile(
        final Path path, final Map<String, String> metadata, final Map<String, Tensor> tensors, final byte[] data)
    {
        this.path = path;
        this.metadata = metadata;
        this.tensors = tensors;
        this.names = List.copyOf(tensors.keySet());
        this.data = data;
    }

    /**
     * Reads and validates a safetensors file, keeping its tensor data in memory.
     *
     * @param path the file.
     * @return the file's contents.
     * @throws ModelFormatException if the file is not a valid safetensors file (or is over {@link #MAX_DATA_BYTES}).
     * @throws IOException          if the file cannot be read, e.g. {@link java.nio.file.NoSuchFileException}.
     */
    public static SafetensorsFile read(final Path path) throws IOException
    {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ))
        {
            final long size = channel.size();
            if (size < Long.BYTES)
            {
                throw problem(path, "the file has only " + size + " bytes, too few for the 8-byte header length");
            }
            final long headerLength = readFully(channel, path, Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (headerLength < 0 || headerLength > MAX_HEADER_BYTES)
            {
                throw problem(path, "header length " + Long.toUnsignedString(headerLength) + " is over the limit of " +
                    MAX_HEADER_BYTES + " bytes (not a safetensors file?)");
            }
            if (headerLength > size - Long.BYTES)
            {
                throw problem(path, "header length " + headerLength + " is more than the " + (size - Long.BYTES) +
                    " bytes that follow it (truncated file?)");
            }
            final long dataLength = size - Long.BYTES - headerLength;
            if (dataLength > MAX_DATA_BYTES)
            {
                throw problem(path, "the data section has " + dataLength + " bytes; refocus reads at most " +
                    MAX_DATA_BYTES);
            }

            final Map<String, Object> header = header(path, readFully(channel, path, (int)headerLength));
            final Map<String, String> metadata =
                header.containsKey(METADATA_KEY) ? metadata(path, header.get(METADATA_KEY)) : Map.of();
            final Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (final Map.Entry<String, Object> entry : header.entrySet())
            {
                if (!METADATA_KEY.equals(entry.getKey()))
                {
                    tensors.put(entry.getKey(), tensor(path, entry.getKey(), entry.getValue(), dataLength));
                }
            }
            checkLayout(path, tensors.values(), dataLength);

            // only now that the header is known to be good is the (possibly large) data read
            final byte[] data = readFully(channel, path, (int)dataLength).array();
            return new SafetensorsFile(path, metadata, Collections.unmodifiableMap(tensors), data);
        }
    }

    /**
     * @return the file this was read from.
     */
    public Path path()
    {
        return path;
    }

    /**
     * @return the {@code "__metadata__"} entries in header order, unmodifiable; empty when the file has none.
     */
    public Map<String, String> metadata()
    {
        return metadata;
    }

    /**
     * @return the tensor names in header order, unmodifiable.
     */
    public List<String> tensorNames()
    {
        return names;
    }

    /**
     * @param name a tensor name.
     * @return whether the file has a tensor of that name.
     */
    public boolean contains(final String name)
    {
        return tensors.containsKey(name);
    }

    /**
     * @param name the name of a tensor in the file.
     * @return its dtype as the header writes it, e.g. {@code "F32"}.
     * @throws IllegalArgumentException if there is no such tensor (a programming error: check {@link #contains}).
     */
    public String dtype(final String name)
    {
        return tensor(name).dtype();
    }

    /**
     * @param name the name of a tensor in the file.
     * @return a copy of its shape; empty for a scalar.
     * @throws IllegalArgumentException if there is no such tensor (a programming error: check {@link #contains}).
     */
    public int[] shape(final String name)
    {
        return tensor(name).shape().clone();
    }

    /**
     * @param name the name of an F32 tensor in the file.
     * @return a new array of its values in row-major order.
     * @throws ModelFormatException     if the tensor's dtype is not F32.
     * @throws IllegalArgumentException if there is no such tensor (a programming error: check {@link #contains}).
     */
    public float[] floats(final String name) throws ModelFormatException
    {
        final Tensor tensor = tensor(name);
        if (!"F32".equals(tensor.dtype()))
        {
            throw problem(path, "tensor '" + name + "' has dtype " + tensor.dtype() +
                "; refocus reads F32 (float32) tensors only");
        }
        final int length = tensor.end() - tensor.begin();
        final float[] values = new float[length / Float.BYTES];
        ByteBuffer.wrap(data, tensor.begin(), length).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }

    private Tensor tensor(final String name)
    {
        final Tensor tensor = tensors.get(name);
        if (tensor == null)
        {
            throw new IllegalArgumentException("no tensor '" + name + "' in safetensors file " + path);
        }
        return tensor;
    }

    private static Map<String, Object> header(final Path path, final ByteBuffer bytes) throws ModelFormatException
    {
        // each UTF-8 byte decodes to at most one char, so the output buffer cannot overflow
        final CharBuffer chars = CharBuffer.allocate(bytes.remaining());
        final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder();
        if (decoder.decode(bytes, chars, true).isError() || decoder.flush(chars).isError())
        {
            throw problem(path, "the header is not valid UTF-8 (at header byte " + bytes.position() + ")");
        }
        final Object root;
        try
        {
            root = Json.parse(chars.flip().toString());
        }
        catch (final Json.SyntaxException ex)
        {
            throw problem(path, "the header is not valid JSON: " + ex.getMessage());
        }
        if (!(root instanceof Map<?, ?>))
        {
            throw problem(path, "the header is " + describe(root) + ", not a JSON object");
        }
        @SuppressWarnings("unchecked")
        final Map<String, Object> header = (Map<String, Object>)root;
        return header;
    }

    private static Map<String, String> metadata(final Path path, final Object value) throws ModelFormatException
    {
        if (!(value instanceof Map<?, ?> entries))
        {
            throw problem(path, "\"" + METADATA_KEY + "\" is " + describe(value) + ", not an object of strings");
        }
        final Map<String, String> metadata = new LinkedHashMap<>();
        for (final Map.Entry<?, ?> entry : entries.entrySet())
        {
            if (!(entry.getValue() instanceof String text))
            {
                throw problem(path, "\"" + METADATA_KEY + "\" entry '" + entry.getKey() + "' is " +
                    describe(entry.getValue()) + ", not a string");
            }
            metadata.put((String)entry.getKey(), text);
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static Tensor tensor(final Path path, final String name, final Object value, final long dataLength)
        throws ModelFormatException
    {
        if (!(value instanceof Map<?, ?> fields))
        {
            throw problem(path, "the entry of tensor '" + name + "' is " + describe(value) + ", not an object");
        }
        for (final Object field : fields.keySet())
        {
            if (!TENSOR_FIELDS.contains(field))
            {
                throw problem(path, "tensor '" + name + "' has unknown field '" + field +
                    "'; expected dtype, shape and data_offsets only");
            }
        }

        final Object dtype = field(path, name, fields, "dtype");
        final Integer elementBytes = DTYPE_BYTES.get(dtype);
        if (elementBytes == null)
        {
            throw problem(path, "tensor '" + name + "' has unknown dtype " + describe(dtype) + "; known dtypes are " +
                String.join(", ", DTYPE_BYTES.keySet()));
        }

        final List<?> dims = list(path, name, fields, "shape");
        final int[] shape = new int[dims.size()];
        long bytes = elementBytes;
        for (int i = 0; i < shape.length; i++)
        {
            if (!(dims.get(i) instanceof Long dim) || dim < 0 || dim > Integer.MAX_VALUE)
            {
                throw problem(path, "shape of tensor '" + name + "' has " + describe(dims.get(i)) + " at index " + i +
                    "; dimensions are integers from 0 to " + Integer.MAX_VALUE);
            }
            shape[i] = dim.intValue();
            // saturates rather than overflows: any later zero dimension still gives 0
            bytes = dim == 0 ? 0 : bytes > Long.MAX_VALUE / dim ? Long.MAX_VALUE : bytes * dim;
        }

        final List<?> offsets = list(path, name, fields, "data_offsets");
        if (offsets.size() != 2 || !(offsets.get(0) instanceof Long begin) || !(offsets.get(1) instanceof Long end) ||
            begin < 0 || begin > end)
        {
            throw problem(path, "data_offsets of tensor '" + name + "' are " + describe(offsets) +
                ", not [begin, end] with integers 0 <= begin <= end");
        }
        if (end > dataLength)
        {
            throw problem(path, "data of tensor '" + name + "' ends at byte " + end + " but the file's data section " +
                "has only " + dataLength + " bytes (truncated file?)");
        }
        if (end - begin != bytes)
        {
            throw problem(path, "tensor '" + name + "' of dtype " + dtype + " and shape " + Arrays.toString(shape) +
                " needs " + (bytes == Long.MAX_VALUE ? "at least 2^63" : bytes) + " bytes but its data_offsets " +
                describe(offsets) + " hold " + (end - begin));
        }
        return new Tensor(name, (String)dtype, shape, begin.intValue(), end.intValue());
    }

    private static Object field(final Path path, final String name, final Map<?, ?> fields, final String field)
        throws ModelFormatException
    {
        if (!fields.containsKey(field))
        {
            throw problem(path, "tensor '" + name + "' has no " + field);
        }
        return fields.get(field);
    }

    private static List<?> list(final Path path, final String name, final Map<?, ?> fields, final String field)
        throws ModelFormatException
    {
        final Object value = field(path, name, fields, field);
        if (!(value instanceof List<?> list))
        {
            throw problem(path, field + " of tensor '" + name + "' is " + describe(value) + ", not an array");
        }
        return list;
    }

    /** Tensors must tile the data section exactly, like the safetensors library requires: no overlap, gap or tail. */
    private static void checkLayout(final Path path, final Iterable<Tensor> tensors, final long dataLength)
        throws ModelFormatException
    {
        final List<Tensor> byOffset = new ArrayList<>();
        tensors.forEach(byOffset::add);
        byOffset.sort(Comparator.comparingInt(Tensor::begin).thenComparingInt(Tensor::end));
        Tensor previous = null;
        for (final Tensor tensor : byOffset)
        {
            final int expected = previous == null ? 0 : previous.end();
            if (tensor.begin() < expected)
            {
                throw problem(path, "data of tensors '" + previous.name() + "' " + range(previous) + " and '" +
                    tensor.name() + "' " + range(tensor) + " overlap");
            }
            if (tensor.begin() > expected)
            {
                throw problem(path, "bytes [" + expected + ", " + tensor.begin() + ") of the data section, before " +
                    "tensor '" + tensor.name() + "', belong to no tensor");
            }
            previous = tensor;
        }
        final int end = previous == null ? 0 : previous.end();
        if (end != dataLength)
        {
            throw problem(path, "the data section has " + dataLength + " bytes but its tensors end at byte " + end +
                " (trailing bytes)");
        }
    }

    private static String range(final Tensor tensor)
    {
        return "[" + tensor.begin() + ", " + tensor.end() + ")";
    }

    /** A short description of a JSON value for messages. */
    private static String describe(final Object value)
    {
        if (value instanceof String text)
        {
            return "\"" + text + "\"";
        }
        return value instanceof Map<?, ?> ? "an object" : String.valueOf(value);
    }

    private static ByteBuffer readFully(final FileChannel channel, final Path path, final int length) throws IOException
    {
        final ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.position() < length)
        {
            buffer.limit(Math.min(length, buffer.position() + READ_CHUNK_BYTES));
            if (channel.read(buffer) < 0)
            {
                throw problem(path, "the file ended early; was it changed while being read?");
            }
        }
        return buffer.flip();
    }

    private static ModelFormatException problem(final Path path, final String problem)
    {
        return new ModelFormatException("safetensors file " + path + ": " + problem);
    }

    private static Map<String, Integer> dtypeBytes()
    {
        final Map<String, Integer> bytes = new LinkedHashMap<>();
        for (final String dtype : new String[]{ "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0" })
        {
            bytes.put(dtype, 1);
        }
        for (final String dtype : new String[]{ "I16", "U16", "F16", "BF16" })
        {
            bytes.put(dtype, 2);
        }
        for (final String dtype : new String[]{ "I32", "U32", "F32" })
        {
            bytes.put(dtype, 4);
        }
        for (final String dtype : new String[]{ "I64", "U64", "F64", "C64" })
        {
            bytes.put(dtype, 8);
        }
        return Collections.unmodifiableMap(bytes);
    }
}
