package dev.refocus.internal.formats;

import com.sun.management.ThreadMXBean;
import dev.refocus.ModelFormatException;
import dev.refocus.testing.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.refocus.internal.formats.SafetensorsFile.MAX_HEADER_BYTES;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SafetensorsFileTest
{
    /** The bytes {@code safetensors.numpy.save} (0.8.0) writes for a 2x3 layer with metadata {"format": "pt"}. */
    private static final String PYTHON_HEADER = "{\"__metadata__\":{\"format\":\"pt\"}," +
        "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," +
        "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}       ";
    private static final float[] PYTHON_BIAS = { 0.5f, -0.5f };
    private static final float[] PYTHON_WEIGHT = { 1, 2, 3, 4, 5, 6 };

    @TempDir
    Path tempDir;

    @Test
    void shouldReadFileExactlyAsPythonWritesIt() throws IOException
    {
        final byte[] header = PYTHON_HEADER.getBytes(StandardCharsets.UTF_8);
        final ByteBuffer bytes = ByteBuffer.allocate(8 + header.length + 32).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(160).put(header);
        for (final float value : new float[]{ 0.5f, -0.5f, 1, 2, 3, 4, 5, 6 })
        {
            bytes.putFloat(value);
        }
        final Path path = write(bytes.array());

        final SafetensorsFile file = SafetensorsFile.read(path);

        assertEquals("safetensors file " + path, file.source());
        assertEquals(Map.of("format", "pt"), file.metadata());
        assertEquals(List.of("0.bias", "0.weight"), file.tensorNames());
        assertEquals("F32", file.dtype("0.weight"));
        assertArrayEquals(new int[]{ 2, 3 }, file.shape("0.weight"));
        assertArrayEquals(new int[]{ 2 }, file.shape("0.bias"));
        assertArrayEquals(PYTHON_WEIGHT, file.floats("0.weight"));
        assertArrayEquals(PYTHON_BIAS, file.floats("0.bias"));
    }

    @Test
    void shouldWriteTheBytesPythonWrites() throws IOException
    {
        final SafetensorsWriter writer = new SafetensorsWriter()
            .metadata("format", "pt")
            .add("0.bias", new int[]{ 2 }, PYTHON_BIAS)
            .add("0.weight", new int[]{ 2, 3 }, PYTHON_WEIGHT);

        final byte[] python = SafetensorsWriter.file(
            PYTHON_HEADER, SafetensorsWriter.floatBytes(0.5f, -0.5f, 1, 2, 3, 4, 5, 6));
        assertArrayEquals(python, writer.toBytes());
        assertArrayEquals(python, Files.readAllBytes(writer.write(tempDir.resolve("python.safetensors"))));
    }

    @Test
    void shouldRoundTripTensorsIncludingScalarAndEmpty() throws IOException
    {
        final float[] weight = { 1.5f, -2, 0, Float.NaN, Float.POSITIVE_INFINITY, -0.0f };
        final SafetensorsWriter writer = new SafetensorsWriter()
            .add("0.weight", new int[]{ 3, 2 }, weight)
            .add("0.bias", new int[]{ 3 }, new float[]{ 0.25f, Float.MIN_VALUE, Float.MAX_VALUE })
            .add("temperature", new int[]{}, new float[]{ 0.75f })
            .add("unused", new int[]{ 0, 4 }, new float[]{})
            .add("2.weight", new int[]{ 1, 1, 2 }, new float[]{ 7, 8 });

        final SafetensorsFile file = SafetensorsFile.read(writer.write(tempDir.resolve("model.safetensors")));

        assertEquals(List.of("0.weight", "0.bias", "temperature", "unused", "2.weight"), file.tensorNames());
        assertEquals(Map.of(), file.metadata());
        assertArrayEquals(weight, file.floats("0.weight"));
        assertArrayEquals(new float[]{ 0.25f, Float.MIN_VALUE, Float.MAX_VALUE }, file.floats("0.bias"));
        assertArrayEquals(new int[]{}, file.shape("temperature"));
        assertArrayEquals(new float[]{ 0.75f }, file.floats("temperature"));
        assertArrayEquals(new int[]{ 0, 4 }, file.shape("unused"));
        assertArrayEquals(new float[]{}, file.floats("unused"));
        assertArrayEquals(new int[]{ 1, 1, 2 }, file.shape("2.weight"));
        assertArrayEquals(new float[]{ 7, 8 }, file.floats("2.weight"));
        assertTrue(file.contains("temperature"));
        assertFalse(file.contains("1.weight"));
    }

    @Test
    void shouldReadTensorLargerThanOneReadChunk() throws IOException
    {
        final float[] values = new float[700_000];
        for (int i = 0; i < values.length; i++)
        {
            values[i] = i * 0.5f;
        }
        final Path path =
            new SafetensorsWriter().add("big", new int[]{ 700, 1000 }, values).write(tempDir.resolve("big"));

        assertArrayEquals(values, SafetensorsFile.read(path).floats("big"));
    }

    @Test
    void shouldReadMetadataInHeaderOrder() throws IOException
    {
        final Path path = new SafetensorsWriter()
            .metadata("format", "pt")
            .metadata("note", "quote \" backslash \\ newline \n caf\u00e9")
            .add("w", new int[]{ 1 }, new float[]{ 1 })
            .write(tempDir.resolve("meta.safetensors"));

        final SafetensorsFile file = SafetensorsFile.read(path);

        assertEquals(List.of("format", "note"), List.copyOf(file.metadata().keySet()));
        assertEquals("quote \" backslash \\ newline \n caf\u00e9", file.metadata().get("note"));
    }

    @Test
    void shouldReadFileWithoutTensors() throws IOException
    {
        final SafetensorsFile file = SafetensorsFile.read(new SafetensorsWriter().write(tempDir.resolve("empty")));

        assertEquals(List.of(), file.tensorNames());
        assertEquals(Map.of(), file.metadata());
    }

    @Test
    void shouldPadHeaderToMultipleOfEightBytes()
    {
        for (final String name : List.of("a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh", "\u00e9"))
        {
            final byte[] bytes = new SafetensorsWriter().add(name, new int[]{ 1 }, new float[]{ 1 }).toBytes();
            final long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, headerLength % 8, name);
            assertEquals(8 + headerLength + 4, bytes.length, name);
        }
    }

    @Test
    void shouldReturnCopiesAndUnmodifiableViews() throws IOException
    {
        final SafetensorsFile file = SafetensorsFile.read(new SafetensorsWriter()
            .metadata("k", "v")
            .add("w", new int[]{ 2 }, new float[]{ 1, 2 })
            .write(tempDir.resolve("m")));

        file.shape("w")[0] = 99;
        file.floats("w")[0] = 99;

        assertArrayEquals(new int[]{ 2 }, file.shape("w"));
        assertArrayEquals(new float[]{ 1, 2 }, file.floats("w"));
        assertThrows(UnsupportedOperationException.class, () -> file.tensorNames().add("x"));
        assertThrows(UnsupportedOperationException.class, () -> file.metadata().put("x", "y"));
    }

    @Test
    void shouldTreatUnknownTensorNameAsProgrammingError() throws IOException
    {
        final SafetensorsFile file = SafetensorsFile.read(
            new SafetensorsWriter().add("w", new int[]{ 1 }, new float[]{ 1 }).write(tempDir.resolve("m")));

        final IllegalArgumentException ex =
            assertThrows(IllegalArgumentException.class, () -> file.floats("0.weight"));
        assertTrue(ex.getMessage().contains("no tensor '0.weight'"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> file.dtype("0.weight"));
        assertThrows(IllegalArgumentException.class, () -> file.shape("0.weight"));
    }

    @Test
    void shouldReadOtherDtypesButReadFloatsOfF32AndBf16Only() throws IOException
    {
        final String header = "{\"0.weight\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}," +
            "\"steps\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[4,12]}," +
            "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[12,15]}," +
            "\"scale\":{\"dtype\":\"BF16\",\"shape\":[1,1],\"data_offsets\":[15,17]}," +
            "\"mean\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[17,25]}}";
        final Path path = write(SafetensorsWriter.file(header, new byte[25]));

        final SafetensorsFile file = SafetensorsFile.read(path);

        assertEquals("F16", file.dtype("0.weight"));
        assertEquals("I64", file.dtype("steps"));
        assertEquals("BOOL", file.dtype("mask"));
        assertEquals("BF16", file.dtype("scale"));
        assertEquals("F64", file.dtype("mean"));
        final ModelFormatException ex = assertThrows(ModelFormatException.class, () -> file.floats("0.weight"));
        assertEquals("safetensors file " + path + ": tensor '0.weight' has dtype F16; " +
            "refocus reads F32 (float32) and BF16 (bfloat16) tensors only", ex.getMessage());
        assertThrows(ModelFormatException.class, () -> file.floats("mean"));
    }

    @Test
    void shouldWidenBf16ExactlyAndHandItOverAsItIs() throws IOException
    {
        // 1.0, -2.5, the smallest subnormal, -infinity, a quiet NaN, the largest finite bf16
        final short[] halves =
            {(short)0x3F80, (short)0xC020, (short)0x0001, (short)0xFF80, (short)0x7FC1, (short)0x7F7F};
        final SafetensorsFile file = SafetensorsFile.read(
            new SafetensorsWriter().addBf16("w", new int[] {2, 3}, halves).toBytes());

        final float[] widened = file.floats("w");

        assertEquals(6, widened.length);
        for (int i = 0; i < halves.length; i++)
        {
            assertEquals((halves[i] & 0xFFFF) << 16, Float.floatToRawIntBits(widened[i]), "value " + i);
        }
        assertEquals(1.0f, widened[0]);
        assertEquals(-2.5f, widened[1]);
        // the bits as they are, at the buffer's position, which advances
        final ShortBuffer copied = ShortBuffer.allocate(8);
        copied.put((short)7);
        file.bf16("w", copied);
        assertEquals(7, copied.position());
        assertEquals(7, copied.get(0));
        assertArrayEquals(halves, Arrays.copyOfRange(copied.array(), 1, 7));
    }

    @Test
    void shouldRefuseBf16BitsOfAnotherDtype() throws IOException
    {
        final SafetensorsFile file = SafetensorsFile.read(
            new SafetensorsWriter().add("w", new int[] {2}, new float[] {1, 2}).toBytes());

        final ModelFormatException ex = assertThrows(ModelFormatException.class,
            () -> file.bf16("w", ShortBuffer.allocate(2)));
        assertTrue(ex.getMessage().contains("tensor 'w' has dtype F32"), ex.getMessage());
    }

    @Test
    void shouldPassMissingFileThrough()
    {
        assertThrows(NoSuchFileException.class, () -> SafetensorsFile.read(tempDir.resolve("missing.safetensors")));
    }

    @Test
    void shouldReadBytesAndStreamsAsItReadsTheFile() throws IOException
    {
        final SafetensorsWriter writer = new SafetensorsWriter()
            .metadata("format", "pt")
            .add("0.bias", new int[]{ 2 }, PYTHON_BIAS)
            .add("0.weight", new int[]{ 2, 3 }, PYTHON_WEIGHT);
        final byte[] bytes = writer.toBytes();
        final SafetensorsFile fromFile = SafetensorsFile.read(writer.write(tempDir.resolve("m.safetensors")));

        for (final SafetensorsFile file :
            List.of(SafetensorsFile.read(bytes), SafetensorsFile.read(new ByteArrayInputStream(bytes))))
        {
            assertEquals("safetensors bytes", file.source());
            assertEquals(fromFile.metadata(), file.metadata());
            assertEquals(fromFile.tensorNames(), file.tensorNames());
            for (final String name : fromFile.tensorNames())
            {
                assertArrayEquals(fromFile.shape(name), file.shape(name), name);
                assertArrayEquals(fromFile.floats(name), file.floats(name), name);
            }
        }
        final IllegalArgumentException ex =
            assertThrows(IllegalArgumentException.class, () -> SafetensorsFile.read(bytes).floats("1.weight"));
        assertEquals("no tensor '1.weight' in safetensors bytes", ex.getMessage());
    }

    @Test
    void shouldReadTheStreamToItsEndWithoutClosingIt() throws IOException
    {
        final byte[] bytes = new SafetensorsWriter().add("w", new int[]{ 300_000 }, new float[300_000]).toBytes();
        final boolean[] closed = { false };
        // hands out a few bytes per call, as a socket may, and records close()
        final InputStream in = new ByteArrayInputStream(bytes)
        {
            @Override
            public synchronized int read(final byte[] b, final int off, final int len)
            {
                return super.read(b, off, Math.min(len, 1000));
            }

            @Override
            public void close()
            {
                closed[0] = true;
            }
        };

        assertArrayEquals(new float[300_000], SafetensorsFile.read(in).floats("w"));

        assertEquals(-1, in.read());
        assertFalse(closed[0]);
    }

    @Test
    void shouldRefuseStreamLongerThanTheLimit() throws IOException
    {
        final byte[] bytes = new SafetensorsWriter().add("w", new int[]{ 4 }, new float[]{ 1, 2, 3, 4 }).toBytes();

        assertArrayEquals(new float[]{ 1, 2, 3, 4 },
            SafetensorsFile.read(new ByteArrayInputStream(bytes), bytes.length).floats("w"));
        final ModelFormatException ex = assertThrows(ModelFormatException.class,
            () -> SafetensorsFile.read(new ByteArrayInputStream(bytes), bytes.length - 1));
        assertEquals("safetensors bytes: the stream holds more than " + (bytes.length - 1) + " bytes, the most " +
            "refocus reads from a stream or an array", ex.getMessage());
    }

    @Test
    void shouldNotAllocateTheLengthsAStreamClaims()
    {
        final ThreadMXBean threads = (ThreadMXBean)ManagementFactory.getThreadMXBean();
        final long self = Thread.currentThread().getId();
        final String huge = "{\"w\":{\"dtype\":\"F32\",\"shape\":[500000000],\"data_offsets\":[0,2000000000]}}";
        final byte[][] liars = {
            SafetensorsWriter.file(1L << 31, "{}", new byte[0]),             // a 2 GiB header
            SafetensorsWriter.file(MAX_HEADER_BYTES, "{}", new byte[1000]),  // 100 MB, within the limit
            SafetensorsWriter.file(huge, new byte[16]) };                    // a 2 GB tensor
        final String[] problems = {
            "header length 2147483648 is over the limit",
            "header length 100000000 is more than the 1002 bytes that follow it (truncated?)",
            "data of tensor 'w' ends at byte 2000000000 but the data section has only 16 bytes (truncated?)" };
        for (int i = 0; i < liars.length; i++)
        {
            final InputStream in = new ByteArrayInputStream(liars[i]);
            final long before = threads.getThreadAllocatedBytes(self);
            assertProblem("safetensors bytes: ", problems[i], () -> SafetensorsFile.read(in));
            final long allocated = threads.getThreadAllocatedBytes(self) - before;
            assertTrue(allocated < (4 << 20), "allocated " + allocated + " bytes for: " + problems[i]);
        }
    }

    @Test
    void shouldRefuseDirectory()
    {
        assertProblem("safetensors file " + tempDir + ": ", "is a directory, not a file",
            () -> SafetensorsFile.read(tempDir));
    }

    @Test
    void shouldRefuseNamedPipeWithoutOpeningIt() throws Exception
    {
        final Path fifo = tempDir.resolve("model.fifo");
        final Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assumeTrue(mkfifo.waitFor() == 0, "mkfifo is not available");

        // opening a pipe with no writer blocks, so a regression would hang rather than fail without the timeout
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertProblem("safetensors file " + fifo + ": ",
            "is not a regular file (a named pipe, socket or device?)", () -> SafetensorsFile.read(fifo)));
    }

    @Test
    void shouldNameTheMissingArgument()
    {
        assertEquals("path", assertThrows(NullPointerException.class,
            () -> SafetensorsFile.read((Path)null)).getMessage());
        assertEquals("bytes", assertThrows(NullPointerException.class,
            () -> SafetensorsFile.read((byte[])null)).getMessage());
        assertEquals("in", assertThrows(NullPointerException.class,
            () -> SafetensorsFile.read((InputStream)null)).getMessage());
    }

    @Test
    void shouldRejectFileShorterThanLengthPrefix() throws IOException
    {
        assertFailure(new byte[5], "only 5 bytes, too few for the 8-byte header length");
        assertFailure(new byte[0], "only 0 bytes, too few");
    }

    @Test
    void shouldRejectHeaderLengthBeyondEndOfFile() throws IOException
    {
        assertFailure(SafetensorsWriter.file(100, "{}", new byte[4]),
            "header length 100 is more than the 6 bytes that follow it (truncated?)");
    }

    @Test
    void shouldRejectAbsurdHeaderLength() throws IOException
    {
        assertFailure(SafetensorsWriter.file(1L << 40, "{}", new byte[0]),
            "header length 1099511627776 is over the limit of 100000000 bytes (not a safetensors file?)");
        assertFailure(SafetensorsWriter.file(-1L, "{}", new byte[0]),
            "header length 18446744073709551615 is over the limit");
    }

    @Test
    void shouldRejectHeaderThatIsNotUtf8() throws IOException
    {
        final byte[] bytes = SafetensorsWriter.file("{\"w\u00e9\":1}", new byte[0]);
        bytes[8 + 4] = (byte)0xFF;

        assertFailure(bytes, "the header is not valid UTF-8 (at header byte 3)");
    }

    @Test
    void shouldReportTruncatedDataSection() throws IOException
    {
        final byte[] bytes = new SafetensorsWriter()
            .add("0.weight", new int[]{ 2, 2 }, new float[4])
            .add("2.weight", new int[]{ 1, 2 }, new float[2])
            .toBytes();

        assertFailure(Arrays.copyOf(bytes, bytes.length - 3),
            "data of tensor '2.weight' ends at byte 24 but the data section has only 21 bytes (truncated?)");
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("malformedHeaders")
    void shouldRejectMalformedHeader(final String header, final int dataBytes, final String problem)
        throws IOException
    {
        assertFailure(SafetensorsWriter.file(header, new byte[dataBytes]), problem);
    }

    static Stream<Arguments> malformedHeaders()
    {
        final String known = "; known dtypes are BOOL, U8, I8,";
        final String dims = "; dimensions are integers from 0 to 2147483647";
        final String offsets = ", not [begin, end] with integers 0 <= begin <= end";
        return Stream.of(
            Arguments.of("", 0, "the header is not valid JSON: expected a value at offset 0"),
            Arguments.of("{\"w\":{\"dtype\":\"F32\"}", 0,
                "the header is not valid JSON: expected ',' or '}' at offset 20"),
            Arguments.of("[]", 0, "the header is [], not a JSON object"),
            Arguments.of(
                "{\"w\":" + entry("\"F32\"", "[1]", "[0,4]") + ",\"w\":" + entry("\"F32\"", "[1]", "[0,4]") + "}", 4,
                "the header is not valid JSON: duplicate key \"w\" at offset 54"),
            Arguments.of("{\"w\":[1,2]}", 0, "the entry of tensor 'w' is [1, 2], not an object"),
            Arguments.of("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'w' has no dtype"),
            Arguments.of("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'w' has no shape"),
            Arguments.of("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'w' has no data_offsets"),
            Arguments.of("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"order\":\"C\"}}", 4,
                "tensor 'w' has unknown field 'order'; expected dtype, shape and data_offsets only"),
            Arguments.of("{\"w\":" + entry("\"F128\"", "[1]", "[0,16]") + "}", 16,
                "tensor 'w' has unknown dtype \"F128\"" + known),
            Arguments.of("{\"w\":" + entry("32", "[1]", "[0,4]") + "}", 4, "tensor 'w' has unknown dtype 32" + known),
            Arguments.of("{\"w\":" + entry("\"F32\"", "4", "[0,16]") + "}", 16,
                "shape of tensor 'w' is 4, not an array"),
            Arguments.of("{\"w\":" + entry("\"F32\"", "[2,-1]", "[0,4]") + "}", 4,
                "shape of tensor 'w' has -1 at index 1" + dims),
            Arguments.of("{\"w\":" + entry("\"F32\"", "[2.5]", "[0,4]") + "}", 4,
                "shape of tensor 'w' has 2.5 at index 0" + dims),
            Arguments.of("{\"w\":" + entry("\"F32\"", "[\"2\"]", "[0,8]") + "}", 8,
                "shape of tensor 'w' has \"2\" at index 0" + dims),
            Arguments.of("{\"w\":" + entry("\"F32\"", "[2147483648]", "[0,4]") + "}", 4,
                "shape of tensor 'w' has 2147483648 at index 0" + dims),
            Arguments.of("{\"w\":" + entry("\"F32\"", "[1]", "{}") + "}", 4, "data_offsets of tensor 'w' is an object"),
            Arguments.of("{\"w\":" + entry("\"F32\"", "[1]", "[4]") + "}", 4,
                "data_offsets of tensor 'w' are [4]" + offsets),
            Arguments.of("{\"w\":" + entry("\"F32\"", "[1]", "[0,4,8]") + "}", 8,
                "data_offsets of tensor 'w' are [0, 4, 8]" + offsets),
            Arguments.of("{\"w\":" + entry("\"F32\"", "[0]", "[4,0]") + "}", 4,
                "data_offsets of tensor 'w' are [4, 0]" + offsets),
            Arguments.of("{\"w\":" + entry("\"F32\"", "[1]", "[-4,0]") + "}", 4,
                "data_offsets of tensor 'w' are [-4, 0]" + offsets),
            Arguments.of("{\"w\":" + entry("\"F32\"", "[1]", "[0,4.0]") + "}", 4,
                "data_offsets of tensor 'w' are [0, 4.0]" + offsets),
            Arguments.of("{\"w\":" + entry("\"F32\"", "[2]", "[0,8]") + "}", 4,
                "data of tensor 'w' ends at byte 8 but the data section has only 4 bytes (truncated?)"),
            Arguments.of("{\"w\":" + entry("\"F32\"", "[2,3]", "[0,20]") + "}", 20,
                "tensor 'w' of dtype F32 and shape [2, 3] needs 24 bytes but its data_offsets [0, 20] hold 20"),
            Arguments.of("{\"w\":" + entry("\"F16\"", "[3]", "[0,12]") + "}", 12,
                "tensor 'w' of dtype F16 and shape [3] needs 6 bytes but its data_offsets [0, 12] hold 12"),
            Arguments.of("{\"w\":" + entry("\"F64\"", "[2147483647,2147483647,2147483647]", "[0,8]") + "}", 8,
                "needs at least 2^63 bytes"),
            Arguments.of("{\"a\":" + entry("\"F32\"", "[2]", "[0,8]") + ",\"b\":" + entry("\"F32\"", "[2]", "[4,12]") +
                "}", 12, "data of tensors 'a' [0, 8) and 'b' [4, 12) overlap"),
            Arguments.of("{\"a\":" + entry("\"F32\"", "[1]", "[0,4]") + ",\"b\":" + entry("\"F32\"", "[1]", "[8,12]") +
                "}", 12, "bytes [4, 8) of the data section, before tensor 'b', belong to no tensor"),
            Arguments.of("{\"a\":" + entry("\"F32\"", "[1]", "[0,4]") + "}", 8,
                "the data section has 8 bytes but its tensors end at byte 4 (trailing bytes)"),
            Arguments.of("{}", 4, "the data section has 4 bytes but its tensors end at byte 0 (trailing bytes)"),
            Arguments.of("{\"__metadata__\":[\"pt\"]}", 0, "\"__metadata__\" is [pt], not an object of strings"),
            Arguments.of("{\"__metadata__\":null}", 0, "\"__metadata__\" is null, not an object of strings"),
            Arguments.of("{\"__metadata__\":{\"format\":\"pt\",\"epoch\":3}}", 0,
                "\"__metadata__\" entry 'epoch' is 3, not a string"));
    }

    private static String entry(final String dtype, final String shape, final String offsets)
    {
        return "{\"dtype\":" + dtype + ",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
    }

    private Path write(final byte[] bytes) throws IOException
    {
        return Files.write(tempDir.resolve("model.safetensors"), bytes);
    }

    /**
     * Asserts that reading the bytes fails with a message that names the source and contains the problem, whether
     * they come from a file, an array or a stream: the three share one parser.
     */
    private void assertFailure(final byte[] bytes, final String problem) throws IOException
    {
        final Path path = write(bytes);
        assertProblem("safetensors file " + path + ": ", problem, () -> SafetensorsFile.read(path));
        assertProblem("safetensors bytes: ", problem, () -> SafetensorsFile.read(bytes));
        assertProblem("safetensors bytes: ", problem, () -> SafetensorsFile.read(new ByteArrayInputStream(bytes)));
    }

    private static void assertProblem(final String prefix, final String problem, final Executable read)
    {
        final ModelFormatException ex = assertThrows(ModelFormatException.class, read);
        assertTrue(ex.getMessage().startsWith(prefix) && ex.getMessage().contains(problem),
            () -> "expected '" + prefix + "..." + problem + "...' but was '" + ex.getMessage() + "'");
    }
}
