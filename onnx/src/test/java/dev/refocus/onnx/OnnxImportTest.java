package dev.refocus.onnx;

import dev.refocus.DenseNetwork;
import dev.refocus.ModelFormatException;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.NativePredictor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ONNX import on files written by {@code make_onnx_models.py} (next to them in the test resources), each against
 * its safetensors twin: the same weights, bit for bit, and the same native predictions.
 */
class OnnxImportTest
{
    @Test
    void shouldImportEachMlpAsItsSafetensorsTwin() throws IOException
    {
        assertImportsAsItsTwin("seq-relu", "DenseNetwork[6 -> 9 relu -> 7 relu -> 4]");
        assertImportsAsItsTwin("custom-gelu-silu", "DenseNetwork[6 -> 9 gelu -> 7 silu -> 4]");
        assertImportsAsItsTwin("matmul-add", "DenseNetwork[6 -> 9 leaky_relu -> 7 tanh -> 4]");
        assertImportsAsItsTwin("seq-gelu-opset20", "DenseNetwork[6 -> 9 gelu -> 7 gelu_tanh -> 4]");
    }

    @Test
    void shouldImportTheSameFromBytesAsFromAFile() throws IOException
    {
        final Path file = path("custom-gelu-silu.onnx");
        final DenseNetwork fromFile = OnnxImport.load(file);
        final DenseNetwork fromBytes = OnnxImport.load(Files.readAllBytes(file));
        assertEquals(fromFile.toString(), fromBytes.toString());
        for (int l = 0; l < fromFile.layers(); l++)
        {
            assertArrayEquals(array(fromFile.weight(l)), array(fromBytes.weight(l)));
        }
    }

    @Test
    void shouldNameTheOperationThatStopsTheImport()
    {
        assertRefused("conv.onnx", "the import stopped at Unsqueeze '/Unsqueeze', which is not a layer");
        assertRefused("residual.onnx", "the import stopped at Add '/Add', which combines the output before it with another value");
    }

    @Test
    void shouldRefuseAPathThatIsNotARegularFileWithoutOpeningIt(@TempDir final Path dir) throws IOException
    {
        final ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxImport.load(dir));
        assertEquals("ONNX file " + dir + ": not a regular file", e.getMessage());
        assertThrows(NoSuchFileException.class, () -> OnnxImport.load(dir.resolve("missing.onnx")));
    }

    @Test
    void shouldRefuseTruncatedAndGarbageBytesWithAModelFormatException() throws IOException
    {
        final byte[] model = Files.readAllBytes(path("seq-relu.onnx"));
        for (int length = 0; length < model.length; length++)
        {
            final byte[] truncated = Arrays.copyOf(model, length);
            final ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxImport.load(truncated),
                "truncated to " + length);
            assertTrue(e.getMessage().startsWith("ONNX bytes: "), e::getMessage);
        }
        final Random random = new Random(3);
        for (int i = 0; i < 2000; i++) // one byte changed at a time: anything but a ModelFormatException fails
        {
            final byte[] changed = model.clone();
            changed[random.nextInt(changed.length)] = (byte)random.nextInt(256);
            try
            {
                OnnxImport.load(changed);
            }
            catch (final ModelFormatException expected)
            {
                assertTrue(expected.getMessage().startsWith("ONNX bytes: "), expected::getMessage);
            }
        }
        assertRefused(new byte[] {0x3a, (byte)0xff, (byte)0xff, (byte)0xff, 0x7f}, "not an ONNX model");
    }

    @Test
    void shouldCheckClaimedSizesAgainstTheRealBytes()
    {
        // ModelProto.graph (7) -> GraphProto.initializer (5) -> TensorProto dims (1) 1000000 x 1000000, FLOAT,
        // name "w", raw_data of 4 bytes; GraphProto.node (1): Gemm reading it
        final byte[] tensor = concat(new byte[] {0x08, (byte)0xc0, (byte)0x84, 0x3d, 0x08, (byte)0xc0, (byte)0x84,
            0x3d, 0x10, 0x01, 0x42, 0x01, 'w', 0x4a, 0x04, 0, 0, 0, 0});
        final byte[] node = concat(new byte[] {0x0a, 0x01, 'x', 0x0a, 0x01, 'w', 0x0a, 0x01, 'w', 0x12, 0x01, 'y',
            0x22, 0x04, 'G', 'e', 'm', 'm'});
        final byte[] graph = concat(field(1, node), field(5, tensor), field(11, new byte[] {0x0a, 0x01, 'x'}),
            field(12, new byte[] {0x0a, 0x01, 'y'}));
        final byte[] opset = field(8, new byte[] {0x10, 13}); // ModelProto.opset_import: version 13
        assertRefused(concat(field(7, graph), opset), "reads 'w' of shape [1000000, 1000000], not a possible layer");
        // a raw_data that claims more bytes than there are
        assertRefused(field(7, concat(new byte[] {0x2a, 0x03, 0x4a, 0x7f, 0})), "not an ONNX model");
        // packed float_data that claims more bytes than its message has
        assertRefused(field(7, field(5, new byte[] {0x22, 0x7c, 0, 0, 0, 0})), "not an ONNX model");
    }

    private static void assertImportsAsItsTwin(final String name, final String expectedShape) throws IOException
    {
        final DenseNetwork imported = OnnxImport.load(path(name + ".onnx"));
        final DenseNetwork twin = DenseNetwork.load(path(name + ".safetensors"));
        assertEquals(expectedShape, imported.toString(), name);
        assertEquals(twin.toString(), imported.toString(), name);
        for (int l = 0; l < twin.layers(); l++)
        {
            assertArrayEquals(array(twin.weight(l)), array(imported.weight(l)), name + " W" + l);
            assertArrayEquals(array(twin.bias(l)), array(imported.bias(l)), name + " b" + l);
        }
        final RefocusConfig config = RefocusConfig.builder(0.1f).build();
        try (NativePredictor a = NativePredictor.create(imported, config);
            NativePredictor b = NativePredictor.create(twin, config))
        {
            final Prediction pa = a.newPrediction();
            final Prediction pb = b.newPrediction();
            final Random random = new Random(5);
            int adapted = 0;
            for (int i = 0; i < 50; i++)
            {
                final float[] x = new float[twin.inputSize()];
                for (int k = 0; k < x.length; k++)
                {
                    x[k] = (float)random.nextGaussian();
                }
                a.predict(x, 0.1f, 0.3f, pa);
                b.predict(x, 0.1f, 0.3f, pb);
                assertArrayEquals(pb.logits(), pa.logits(), name);
                assertEquals(pb.finalClass(), pa.finalClass(), name);
                assertEquals(pb.adapted(), pa.adapted(), name);
                adapted += pa.adapted() ? 1 : 0;
            }
            assertTrue(adapted > 0, name + ": no sample adapted at this threshold, so the step went untested");
        }
    }

    private static void assertRefused(final String file, final String expected)
    {
        final Path path = path(file);
        final ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxImport.load(path));
        assertTrue(e.getMessage().startsWith("ONNX file " + path + ": "), e::getMessage);
        assertTrue(e.getMessage().contains(expected), e::getMessage);
    }

    private static void assertRefused(final byte[] bytes, final String expected)
    {
        final ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxImport.load(bytes));
        assertTrue(e.getMessage().contains(expected), e::getMessage);
    }

    /** A length-delimited protobuf field. */
    private static byte[] field(final int number, final byte[] message)
    {
        assertTrue(message.length < 128);
        return concat(new byte[] {(byte)(number << 3 | 2), (byte)message.length}, message);
    }

    private static byte[] concat(final byte[]... parts)
    {
        final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (final byte[] p : parts)
        {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static Path path(final String name)
    {
        try
        {
            return Path.of(OnnxImportTest.class.getResource("/dev/refocus/onnx/" + name).toURI());
        }
        catch (final URISyntaxException | NullPointerException e)
        {
            throw new IllegalStateException("missing test resource " + name, e);
        }
    }

    private static float[] array(final FloatBuffer buffer)
    {
        final float[] values = new float[buffer.remaining()];
        buffer.duplicate().get(values);
        return values;
    }
}
