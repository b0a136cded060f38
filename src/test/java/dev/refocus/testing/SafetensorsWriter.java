package dev.refocus.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds safetensors files of F32 and BF16 tensors for tests, laid out as the safetensors library writes them: compact JSON
 * header with {@code "__metadata__"} first, padded with spaces to a multiple of 8 bytes, then the tensors' data
 * back to back. Tensors are written in the order they are added (the library sorts them by dtype and name, so add
 * them in that order to get the very bytes Python would write).
 * <p>
 * For deliberately broken files, {@link #headerJson()} and {@link #data()} give the parts, and
 * {@link #file(String, byte[])} or {@link #file(long, String, byte[])} put any header in front of any data.
 * <pre>{@code
 * final SafetensorsWriter writer = new SafetensorsWriter();
 * writer.add("0.weight", new int[]{ 2, 3 }, weights).add("0.bias", new int[]{ 2 }, bias).metadata("format", "pt");
 * writer.write(tempDir.resolve("model.safetensors"));
 * }</pre>
 */
public final class SafetensorsWriter
{
    private final Map<String, int[]> shapes = new LinkedHashMap<>();
    private final Map<String, String> dtypes = new LinkedHashMap<>();
    private final Map<String, byte[]> bytes = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /**
     * Adds an F32 tensor.
     *
     * @param name   the tensor name, not yet added and not {@code "__metadata__"}.
     * @param shape  its shape; empty for a scalar.
     * @param values its values in row-major order, as many as the shape holds.
     * @return this writer.
     */
    public SafetensorsWriter add(final String name, final int[] shape, final float[] values)
    {
        final ByteBuffer data = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        data.asFloatBuffer().put(values);
        return add(name, "F32", shape, values.length, data.array());
    }

    /**
     * Adds a BF16 tensor.
     *
     * @param name   the tensor name, not yet added and not {@code "__metadata__"}.
     * @param shape  its shape; empty for a scalar.
     * @param halves its values as bfloat16 bits (the top half of a float32) in row-major order.
     * @return this writer.
     */
    public SafetensorsWriter addBf16(final String name, final int[] shape, final short[] halves)
    {
        final ByteBuffer data = ByteBuffer.allocate(halves.length * Short.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        data.asShortBuffer().put(halves);
        return add(name, "BF16", shape, halves.length, data.array());
    }

    private SafetensorsWriter add(final String name, final String dtype, final int[] shape, final int length,
        final byte[] data)
    {
        long count = 1;
        for (final int dim : shape)
        {
            count *= dim;
        }
        if (count != length)
        {
            throw new IllegalArgumentException(
                "shape " + Arrays.toString(shape) + " holds " + count + " values, not " + length);
        }
        if (name.equals("__metadata__") || shapes.containsKey(name))
        {
            throw new IllegalArgumentException("tensor name '" + name + "' is reserved or already added");
        }
        shapes.put(name, shape.clone());
        dtypes.put(name, dtype);
        bytes.put(name, data);
        return this;
    }

    /**
     * Adds (or replaces) a {@code "__metadata__"} entry.
     *
     * @param key   the key.
     * @param value the value.
     * @return this writer.
     */
    public SafetensorsWriter metadata(final String key, final String value)
    {
        metadata.put(key, value);
        return this;
    }

    /**
     * @return the compact JSON header, without padding; no {@code "__metadata__"} when no entry was added.
     */
    public String headerJson()
    {
        final List<String> entries = new ArrayList<>();
        if (!metadata.isEmpty())
        {
            final List<String> pairs = new ArrayList<>();
            metadata.forEach((key, value) -> pairs.add(quote(key) + ":" + quote(value)));
            entries.add(quote("__metadata__") + ":{" + String.join(",", pairs) + "}");
        }
        long offset = 0;
        for (final Map.Entry<String, int[]> entry : shapes.entrySet())
        {
            final long end = offset + bytes.get(entry.getKey()).length;
            entries.add(quote(entry.getKey()) + ":{\"dtype\":\"" + dtypes.get(entry.getKey()) + "\",\"shape\":" +
                Arrays.toString(entry.getValue()).replace(" ", "") + ",\"data_offsets\":[" + offset + "," + end + "]}");
            offset = end;
        }
        return "{" + String.join(",", entries) + "}";
    }

    /**
     * @return the data section: every tensor's values, little-endian, in the order added.
     */
    public byte[] data()
    {
        final int count = bytes.values().stream().mapToInt(tensor -> tensor.length).sum();
        final ByteBuffer data = ByteBuffer.allocate(count);
        bytes.values().forEach(data::put);
        return data.array();
    }

    /**
     * @return the whole file, with the header padded with spaces to a multiple of 8 bytes.
     */
    public byte[] toBytes()
    {
        final String header = headerJson();
        final int length = header.getBytes(StandardCharsets.UTF_8).length;
        return file(header + " ".repeat((8 - length % 8) % 8), data());
    }

    /**
     * Writes {@link #toBytes()} to a file, replacing it if it exists.
     *
     * @param path the file.
     * @return {@code path}.
     * @throws IOException if it cannot be written.
     */
    public Path write(final Path path) throws IOException
    {
        return Files.write(path, toBytes());
    }

    /**
     * A file made of the given header, used verbatim (no padding), and data.
     *
     * @param headerJson the header text; need not be valid.
     * @param data       the data section.
     * @return the length prefix, the header as UTF-8, and the data.
     */
    public static byte[] file(final String headerJson, final byte[] data)
    {
        return file(headerJson.getBytes(StandardCharsets.UTF_8).length, headerJson, data);
    }

    /**
     * A file whose length prefix may lie about the header.
     *
     * @param headerLength the value of the 8-byte length prefix, unsigned.
     * @param headerJson   the header text; need not be valid.
     * @param data         the data section.
     * @return the length prefix, the header as UTF-8, and the data.
     */
    public static byte[] file(final long headerLength, final String headerJson, final byte[] data)
    {
        final byte[] header = headerJson.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(Long.BYTES + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
            .putLong(headerLength).put(header).put(data).array();
    }

    /**
     * @param values floats.
     * @return them as little-endian float32 bytes, as in a safetensors data section.
     */
    public static byte[] floatBytes(final float... values)
    {
        final ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        return bytes.array();
    }

    /** A JSON string literal, escaped as serde_json (which the safetensors library uses) escapes it. */
    private static String quote(final String text)
    {
        final StringBuilder quoted = new StringBuilder("\"");
        for (int i = 0; i < text.length(); i++)
        {
            final char c = text.charAt(i);
            switch (c)
            {
                case '"' -> quoted.append("\\\"");
                case '\\' -> quoted.append("\\\\");
                case '\b' -> quoted.append("\\b");
                case '\f' -> quoted.append("\\f");
                case '\n' -> quoted.append("\\n");
                case '\r' -> quoted.append("\\r");
                case '\t' -> quoted.append("\\t");
                default -> quoted.append(c < 0x20 ? String.format("\\u%04x", (int)c) : String.valueOf(c));
            }
        }
        return quoted.append('"').toString();
    }
}
