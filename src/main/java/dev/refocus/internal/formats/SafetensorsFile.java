package dev.refocus.internal.formats;

import dev.refocus.ModelFormatException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A safetensors file (as PyTorch and the safetensors library write it), read into memory and validated.
 * <p>
 * The format is an 8-byte little-endian unsigned header length N, N bytes of UTF-8 JSON (padded with spaces), and
 * the data section. The JSON object maps each tensor name to
 * {@code {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}}, offsets relative to the start of
 * the data section, with an optional {@code "__metadata__"} object of strings.
 * <p>
 * A file ({@link #read(Path)}), an array ({@link #read(byte[])}) and a stream ({@link #read(InputStream)}) go through
 * one parser, which checks the whole input at least as strictly as the safetensors library does: a known dtype for
 * every tensor, byte ranges that match shape and dtype, and tensors that cover the data section exactly, with no
 * overlap, gap or trailing byte (the format forbids holes). Unlike the library it also rejects unknown fields in a
 * tensor entry and a null {@code "__metadata__"}. Every length the input claims is checked against its real length
 * before anything of that length is allocated. Every problem is a {@link ModelFormatException} whose message starts
 * with {@link #source()} ({@code "safetensors file <path>"} or {@code "safetensors bytes"}) and names the tensor where
 * there is one.
 * <p>
 * Immutable and thread-safe.
 */
public final class SafetensorsFile
{
    /** The largest header accepted: the limit of the safetensors library. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** The largest data section accepted: it must fit in one Java array. */
    public static final long MAX_DATA_BYTES = Integer.MAX_VALUE - 8;

    /** The largest array or stream accepted, header included: the largest Java array. */
    public static final int MAX_INPUT_BYTES = Integer.MAX_VALUE - 8;

    private static final String BYTES_SOURCE = "safetensors bytes";
    private static final String METADATA_KEY = "__metadata__";
    private static final Set<String> TENSOR_FIELDS = Set.of("dtype", "shape", "data_offsets");
    private static final Map<String, Integer> DTYPE_BYTES = dtypeBytes();
    // reading in chunks keeps the JDK from allocating (and caching) a temporary direct buffer as large as the file
    private static final int READ_CHUNK_BYTES = 1 << 20;
    // a stream's buffer starts here and doubles, so only bytes the stream really delivers are ever allocated
    private static final int FIRST_STREAM_BUFFER_BYTES = 1 << 16;

    private final String source;
    private final Map<String, String> metadata;
    private final Map<String, Tensor> tensors;
    private final List<String> names;
    // the data section, position 0; only read with absolute operations, so sharing it between threads is safe
    private final ByteBuffer data;

    private record Tensor(String name, String dtype, int[] shape, int begin, int end)
    {
    }

    /** The parts of an input in order, each call the next {@code length} bytes; lengths are checked before. */
    @FunctionalInterface
    private interface Input<X extends IOException>
    {
        ByteBuffer next(int length) throws X;
    }

    private SafetensorsFile(
        final String source, final Map<String, String> metadata, final Map<String, Tensor> tensors,
        final ByteBuffer data)
    {
        this.source = source;
        this.metadata = metadata;
        this.tensors = tensors;
        this.names = List.copyOf(tensors.keySet());
        this.data = data;
    }

    /**
     * Reads and validates a safetensors file, keeping its tensor data in memory.
     *
     * @param path a regular file (or a link to one); a directory, pipe or device is refused before it is opened.
     * @return the file's contents.
     * @throws ModelFormatException if the path is not a regular file, or the file is not a valid safetensors file
     *                              (or is over {@link #MAX_DATA_BYTES}).
     * @throws IOException          if the file cannot be read, e.g. {@link java.nio.file.NoSuchFileException}.
     */
    public static SafetensorsFile read(final Path path) throws IOException
    {
        Objects.requireNonNull(path, "path");
        final String where = "safetensors file " + path;
        // opening a named pipe would block until a writer comes, so the kind of file is checked first
        final BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class);
        if (!attributes.isRegularFile())
        {
            throw problem(where, attributes.isDirectory() ? "is a directory, not a file"
                : "is not a regular file (a named pipe, socket or device?); refocus reads regular files only");
        }
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ))
        {
            return parse(where, channel.size(), length -> readFully(channel, where, length));
        }
    }

    /**
     * Reads and validates a safetensors file held in an array, without copying it: the result reads its tensor
     * data from the array, so the caller must not change it while the result is in use.
     *
     * @param bytes the whole file.
     * @return its contents.
     * @throws ModelFormatException if the bytes are not a valid safetensors file.
     */
    public static SafetensorsFile read(final byte[] bytes) throws ModelFormatException
    {
        Objects.requireNonNull(bytes, "bytes");
        return parse(ByteBuffer.wrap(bytes));
    }

    /**
     * Reads a stream to its end and validates it as one safetensors file. The stream is not closed.
     *
     * @param in a stream holding the whole file and nothing after it.
     * @return its contents.
     * @throws ModelFormatException if the stream holds more than {@link #MAX_INPUT_BYTES} or is not a valid
     *                              safetensors file.
     * @throws IOException          if the stream cannot be read.
     */
    public static SafetensorsFile read(final InputStream in) throws IOException
    {
        return read(in, MAX_INPUT_BYTES);
    }

    /** {@link #read(InputStream)} with a smaller limit, so that tests can reach it. */
    static SafetensorsFile read(final InputStream in, final int maxBytes) throws IOException
    {
        Objects.requireNonNull(in, "in");
        return parse(readToEnd(in, maxBytes));
    }

    private static SafetensorsFile parse(final ByteBuffer bytes) throws ModelFormatException
    {
        // reading an array cannot fail: the only exceptions are the parser's own
        return SafetensorsFile.<ModelFormatException>parse(
            BYTES_SOURCE, bytes.remaining(), length -> next(bytes, length));
    }

    /** The one parser: every length is checked against {@code size} before the part it claims is read. */
    private static <X extends IOException> SafetensorsFile parse(final String where, final long size,
        final Input<X> input) throws X, ModelFormatException
    {
        if (size < Long.BYTES)
        {
            throw problem(where, "only " + size + " bytes, too few for the 8-byte header length");
        }
        final long headerLength = input.next(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES)
        {
            throw problem(where, "header length " + Long.toUnsignedString(headerLength) + " is over the limit of " +
                MAX_HEADER_BYTES + " bytes (not a safetensors file?)");
        }
        if (headerLength > size - Long.BYTES)
        {
            throw problem(where, "header length " + headerLength + " is more than the " + (size - Long.BYTES) +
                " bytes that follow it (truncated?)");
        }
        final long dataLength = size - Long.BYTES - headerLength;
        if (dataLength > MAX_DATA_BYTES)
        {
            throw problem(where, "the data section has " + dataLength + " bytes; refocus reads at most " +
                MAX_DATA_BYTES);
        }

        final Map<String, Object> header = header(where, input.next((int)headerLength));
        final Map<String, String> metadata =
            header.containsKey(METADATA_KEY) ? metadata(where, header.get(METADATA_KEY)) : Map.of();
        final Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (final Map.Entry<String, Object> entry : header.entrySet())
        {
            if (!METADATA_KEY.equals(entry.getKey()))
            {
                tensors.put(entry.getKey(), tensor(where, entry.getKey(), entry.getValue(), dataLength));
            }
        }
        checkLayout(where, tensors.values(), dataLength);

        // only now that the header is known to be good is the (possibly large) data read
        final ByteBuffer data = input.next((int)dataLength);
        return new SafetensorsFile(where, metadata, Collections.unmodifiableMap(tensors), data);
    }

    /**
     * @return where this was read from, as messages name it: {@code "safetensors file <path>"} or
     * {@code "safetensors bytes"} (an array or a stream).
     */
    public String source()
    {
        return source;
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
     * @param name the name of an F32 or BF16 tensor in the file.
     * @return a new array of its values in row-major order (BF16 widened, exactly).
     * @throws ModelFormatException     if the tensor's dtype is neither F32 nor BF16.
     * @throws IllegalArgumentException if there is no such tensor (a programming error: check {@link #contains}).
     */
    public float[] floats(final String name) throws ModelFormatException
    {
        final float[] copy = new float[count(name)];
        floats(name, FloatBuffer.wrap(copy));
        return copy;
    }

    /**
     * Copies an F32 or BF16 tensor's values, row-major, into {@code into} at its position, which it advances; BF16
     * values are widened to float32, exactly.
     *
     * @param name the name of an F32 or BF16 tensor in the file.
     * @param into a buffer with room for the tensor.
     * @throws ModelFormatException             if the tensor's dtype is neither F32 nor BF16.
     * @throws java.nio.BufferOverflowException if it does not fit (a programming error: check {@link #shape}).
     */
    public void floats(final String name, final FloatBuffer into) throws ModelFormatException
    {
        if ("BF16".equals(tensor(name).dtype()))
        {
            final ShortBuffer halves = halves(name);
            while (halves.hasRemaining())
            {
                into.put(Float.intBitsToFloat((halves.get() & 0xFFFF) << 16));
            }
            return;
        }
        into.put(view(name, "F32").asFloatBuffer());
    }

    /**
     * Copies a BF16 tensor's values, row-major, into {@code into} at its position, which it advances: the bfloat16
     * bits as they are (the top half of a float32).
     *
     * @param name the name of a BF16 tensor in the file.
     * @param into a buffer with room for the tensor.
     * @throws ModelFormatException             if the tensor's dtype is not BF16.
     * @throws java.nio.BufferOverflowException if it does not fit (a programming error: check {@link #shape}).
     */
    public void bf16(final String name, final ShortBuffer into) throws ModelFormatException
    {
        into.put(halves(name));
    }

    private ShortBuffer halves(final String name) throws ModelFormatException
    {
        return view(name, "BF16").asShortBuffer();
    }

    /** The number of values a tensor holds. */
    private int count(final String name)
    {
        final Tensor tensor = tensor(name);
        return (tensor.end() - tensor.begin()) / DTYPE_BYTES.get(tensor.dtype());
    }

    /** A little-endian view of a tensor's bytes, which must be of this dtype (or F32 / BF16, named in the message). */
    private ByteBuffer view(final String name, final String dtype) throws ModelFormatException
    {
        final Tensor tensor = tensor(name);
        if (!dtype.equals(tensor.dtype()))
        {
            throw problem(source, "tensor '" + name + "' has dtype " + tensor.dtype() +
                "; refocus reads F32 (float32) and BF16 (bfloat16) tensors only");
        }
        return data.slice(tensor.begin(), tensor.end() - tensor.begin()).order(ByteOrder.LITTLE_ENDIAN);
    }

    private Tensor tensor(final String name)
    {
        final Tensor tensor = tensors.get(name);
        if (tensor == null)
        {
            throw new IllegalArgumentException("no tensor '" + name + "' in " + source);
        }
        return tensor;
    }

    private static Map<String, Object> header(final String where, final ByteBuffer bytes) throws ModelFormatException
    {
        // each UTF-8 byte decodes to at most one char, so the output buffer cannot overflow
        final CharBuffer chars = CharBuffer.allocate(bytes.remaining());
        final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder();
        if (decoder.decode(bytes, chars, true).isError() || decoder.flush(chars).isError())
        {
            throw problem(where, "the header is not valid UTF-8 (at header byte " + bytes.position() + ")");
        }
        final Object root;
        try
        {
            root = Json.parse(chars.flip().toString());
        }
        catch (final Json.SyntaxException ex)
        {
            throw problem(where, "the header is not valid JSON: " + ex.getMessage());
        }
        if (!(root instanceof Map<?, ?>))
        {
            throw problem(where, "the header is " + describe(root) + ", not a JSON object");
        }
        @SuppressWarnings("unchecked")
        final Map<String, Object> header = (Map<String, Object>)root;
        return header;
    }

    private static Map<String, String> metadata(final String where, final Object value) throws ModelFormatException
    {
        if (!(value instanceof Map<?, ?> entries))
        {
            throw problem(where, "\"" + METADATA_KEY + "\" is " + describe(value) + ", not an object of strings");
        }
        final Map<String, String> metadata = new LinkedHashMap<>();
        for (final Map.Entry<?, ?> entry : entries.entrySet())
        {
            if (!(entry.getValue() instanceof String text))
            {
                throw problem(where, "\"" + METADATA_KEY + "\" entry '" + entry.getKey() + "' is " +
                    describe(entry.getValue()) + ", not a string");
            }
            metadata.put((String)entry.getKey(), text);
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static Tensor tensor(final String where, final String name, final Object value, final long dataLength)
        throws ModelFormatException
    {
        if (!(value instanceof Map<?, ?> fields))
        {
            throw problem(where, "the entry of tensor '" + name + "' is " + describe(value) + ", not an object");
        }
        for (final Object field : fields.keySet())
        {
            if (!TENSOR_FIELDS.contains(field))
            {
                throw problem(where, "tensor '" + name + "' has unknown field '" + field +
                    "'; expected dtype, shape and data_offsets only");
            }
        }

        final Object dtype = field(where, name, fields, "dtype");
        final Integer elementBytes = DTYPE_BYTES.get(dtype);
        if (elementBytes == null)
        {
            throw problem(where, "tensor '" + name + "' has unknown dtype " + describe(dtype) + "; known dtypes are " +
                String.join(", ", DTYPE_BYTES.keySet()));
        }

        final List<?> dims = list(where, name, fields, "shape");
        final int[] shape = new int[dims.size()];
        long bytes = elementBytes;
        for (int i = 0; i < shape.length; i++)
        {
            if (!(dims.get(i) instanceof Long dim) || dim < 0 || dim > Integer.MAX_VALUE)
            {
                throw problem(where, "shape of tensor '" + name + "' has " + describe(dims.get(i)) + " at index " + i +
                    "; dimensions are integers from 0 to " + Integer.MAX_VALUE);
            }
            shape[i] = dim.intValue();
            // saturates rather than overflows: any later zero dimension still gives 0
            bytes = dim == 0 ? 0 : bytes > Long.MAX_VALUE / dim ? Long.MAX_VALUE : bytes * dim;
        }

        final List<?> offsets = list(where, name, fields, "data_offsets");
        if (offsets.size() != 2 || !(offsets.get(0) instanceof Long begin) || !(offsets.get(1) instanceof Long end) ||
            begin < 0 || begin > end)
        {
            throw problem(where, "data_offsets of tensor '" + name + "' are " + describe(offsets) +
                ", not [begin, end] with integers 0 <= begin <= end");
        }
        if (end > dataLength)
        {
            throw problem(where, "data of tensor '" + name + "' ends at byte " + end +
                " but the data section has only " + dataLength + " bytes (truncated?)");
        }
        if (end - begin != bytes)
        {
            throw problem(where, "tensor '" + name + "' of dtype " + dtype + " and shape " + Arrays.toString(shape) +
                " needs " + (bytes == Long.MAX_VALUE ? "at least 2^63" : bytes) + " bytes but its data_offsets " +
                describe(offsets) + " hold " + (end - begin));
        }
        return new Tensor(name, (String)dtype, shape, begin.intValue(), end.intValue());
    }

    private static Object field(final String where, final String name, final Map<?, ?> fields, final String field)
        throws ModelFormatException
    {
        if (!fields.containsKey(field))
        {
            throw problem(where, "tensor '" + name + "' has no " + field);
        }
        return fields.get(field);
    }

    private static List<?> list(final String where, final String name, final Map<?, ?> fields, final String field)
        throws ModelFormatException
    {
        final Object value = field(where, name, fields, field);
        if (!(value instanceof List<?> list))
        {
            throw problem(where, field + " of tensor '" + name + "' is " + describe(value) + ", not an array");
        }
        return list;
    }

    /** Tensors must tile the data section exactly, like the safetensors library requires: no overlap, gap or tail. */
    private static void checkLayout(final String where, final Iterable<Tensor> tensors, final long dataLength)
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
                throw problem(where, "data of tensors '" + previous.name() + "' " + range(previous) + " and '" +
                    tensor.name() + "' " + range(tensor) + " overlap");
            }
            if (tensor.begin() > expected)
            {
                throw problem(where, "bytes [" + expected + ", " + tensor.begin() + ") of the data section, before " +
                    "tensor '" + tensor.name() + "', belong to no tensor");
            }
            previous = tensor;
        }
        final int end = previous == null ? 0 : previous.end();
        if (end != dataLength)
        {
            throw problem(where, "the data section has " + dataLength + " bytes but its tensors end at byte " + end +
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

    private static ByteBuffer readFully(final FileChannel channel, final String where, final int length)
        throws IOException
    {
        final ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.position() < length)
        {
            buffer.limit(Math.min(length, buffer.position() + READ_CHUNK_BYTES));
            if (channel.read(buffer) < 0)
            {
                throw problem(where, "the file ended early; was it changed while being read?");
            }
        }
        return buffer.flip();
    }

    /** The next {@code length} bytes of {@code bytes} as a view, not a copy; advances its position. */
    private static ByteBuffer next(final ByteBuffer bytes, final int length)
    {
        final ByteBuffer part = bytes.slice(bytes.position(), length);
        bytes.position(bytes.position() + length);
        return part;
    }

    /**
     * Reads a stream to its end into a buffer that doubles as it fills, so a stream that claims a huge header but
     * holds little costs little, and one over {@code maxBytes} is refused once it has delivered that many.
     */
    private static ByteBuffer readToEnd(final InputStream in, final int maxBytes) throws IOException
    {
        byte[] buffer = new byte[Math.min(FIRST_STREAM_BUFFER_BYTES, maxBytes)];
        int length = 0;
        while (true)
        {
            if (length == buffer.length)
            {
                if (length == maxBytes)
                {
                    if (in.read() < 0)
                    {
                        break;
                    }
                    throw problem(BYTES_SOURCE, "the stream holds more than " + maxBytes + " bytes, the most " +
                        "refocus reads from a stream or an array");
                }
                buffer = Arrays.copyOf(buffer, (int)Math.min(2L * buffer.length, maxBytes));
            }
            final int read = in.read(buffer, length, buffer.length - length);
            if (read < 0)
            {
                break;
            }
            length += read;
        }
        return ByteBuffer.wrap(buffer, 0, length).slice();
    }

    private static ModelFormatException problem(final String where, final String problem)
    {
        return new ModelFormatException(where + ": " + problem);
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
