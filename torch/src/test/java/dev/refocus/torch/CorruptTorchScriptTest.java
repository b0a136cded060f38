package dev.refocus.torch;

import dev.refocus.ModelFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.function.UnaryOperator;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static dev.refocus.torch.TestModels.path;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TorchScript files corrupted where libtorch trusts them, each a few bytes changed in {@code mlp-relu.pt}'s
 * {@code data.pkl} (the archive is written again around it): found by fuzzing {@code TorchModel.load}. Before the
 * checks, the memo index made libtorch allocate and zero 16 bytes per index (20 GB and 30 s for 1.26 x 10^9, the
 * fuzzer's), and a weight outside its storage crashed the JVM in {@link TorchScriptImport} (SIGSEGV copying it).
 * Each is now a {@link ModelFormatException} in milliseconds, before libtorch reads the pickle or before any value of
 * the tensor is.
 */
class CorruptTorchScriptTest
{
    /** Where the first weight's storage offset is in mlp-relu/data.pkl: BINPERSID, BINPUT 10, then BININT1 0. */
    private static final byte[] FIRST_OFFSET = {'Q', 'q', 10, 'K', 0};

    @TempDir
    Path temp;

    @Test
    void shouldRefuseAMemoIndexBeyondThePickle() throws IOException
    {
        // after PROTO 2: NONE, then LONG_BINPUT 1.26e9, as the fuzzer found (libtorch would fill 20 GB)
        final Path file = corrupt("memo.pt", pkl -> insert(pkl, 2, concat(new byte[] {'N', 'r'}, u32(1_259_368_785))));

        final ModelFormatException e = assertRefusedQuickly(file);
        assertTrue(e.getMessage().contains("record mlp-relu/data.pkl: memo index 1259368785 at byte 3"),
            e.getMessage());
    }

    @Test
    void shouldRefuseAStringLongerThanThePickle() throws IOException
    {
        // BINUNICODE of 4 GB - 16 bytes: libtorch would allocate and zero it before finding the bytes missing
        final Path file = corrupt("string.pt", pkl -> insert(pkl, 2, concat(new byte[] {'X'}, u32(0xFFFF_FFF0L))));

        final ModelFormatException e = assertRefusedQuickly(file);
        assertTrue(e.getMessage().contains("a length of 4294967280 bytes at byte 2"), e.getMessage());
    }

    @Test
    void shouldRefuseAWeightOutsideItsStorage() throws IOException
    {
        for (final int offset : new int[] {1 << 30, -(1 << 28), 49})
        {
            // the first weight's storage offset, BININT1 0, becomes BININT offset: past the storage of 240 bytes
            final Path file = corrupt("offset" + offset + ".pt", pkl -> {
                final int at = indexOf(pkl, FIRST_OFFSET) + 3;
                return concat(Arrays.copyOf(pkl, at), new byte[] {'J'}, s32(offset),
                    Arrays.copyOfRange(pkl, at + 2, pkl.length));
            });

            for (final Executable load : new Executable[] {
                () -> TorchScriptImport.denseNetwork(file), () -> TorchModel.load(file, 6)})
            {
                final ModelFormatException e = assertThrows(ModelFormatException.class, load);
                assertTrue(e.getMessage().contains("parameter '0.weight' (sizes [10, 6], strides [6, 1], storage "
                    + "offset " + offset + ") does not lie in its storage of 240 bytes"), e.getMessage());
            }
        }
    }

    @Test
    void shouldLoadEveryCommittedModelUnchanged() throws IOException
    {
        for (final String name : new String[] {"mlp-relu.pt", "mlp-tanh.pt", "mlp-mixed.pt", "mlp-sigmoid.pt",
            "cnn.pt", "tuple-output.pt", "batch-output.pt", "float64.pt"})
        {
            TorchScriptArchive.check(path(name));
            TorchModel.loadModule(path(name));
        }
        final Path copy = corrupt("copy.pt", pkl -> pkl); // the archive written again by java.util.zip
        assertEquals(TorchScriptImport.denseNetwork(path("mlp-relu.pt")).toString(),
            TorchScriptImport.denseNetwork(copy).toString());
    }

    @Test
    void shouldWalkEveryOpcodeOfAPickleToItsEnd() throws IOException
    {
        // GLOBAL, BINUNICODE, SHORT_BINUNICODE, LONG1, BINFLOAT, BINPUT, LONG_BINPUT 5, FRAME, STOP; then junk
        final byte[] pickle = concat(new byte[] {(byte)0x80, 2, 'c'}, "m\nC\n".getBytes(),
            new byte[] {'X'}, u32(2), "ab".getBytes(), new byte[] {(byte)0x8c, 1, 'z', (byte)0x8a, 8},
            new byte[8], new byte[] {'G'}, new byte[8], new byte[] {'q', 1, 'r'}, u32(5),
            new byte[] {(byte)0x95}, new byte[8], new byte[] {'.', 'r', -1, -1, -1, -1});
        assertNull(TorchScriptArchive.walk(new ByteArrayInputStream(pickle), pickle.length));
        assertEquals("a length of 8 bytes at byte 27 with 2 bytes left in the pickle",
            TorchScriptArchive.walk(new ByteArrayInputStream(pickle), 30));
    }

    private static ModelFormatException assertRefusedQuickly(final Path file)
    {
        return assertTimeoutPreemptively(Duration.ofSeconds(5),
            () -> assertThrows(ModelFormatException.class, () -> TorchModel.load(file, 6)));
    }

    /** mlp-relu.pt with its data.pkl changed, every other record as it is. */
    private Path corrupt(final String name, final UnaryOperator<byte[]> change) throws IOException
    {
        final Path file = temp.resolve(name);
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipFile in = new ZipFile(path("mlp-relu.pt").toFile()); ZipOutputStream out = new ZipOutputStream(bytes))
        {
            for (final ZipEntry entry : Collections.list(in.entries()))
            {
                final byte[] content = in.getInputStream(entry).readAllBytes();
                out.putNextEntry(new ZipEntry(entry.getName()));
                out.write(entry.getName().equals("mlp-relu/data.pkl") ? change.apply(content) : content);
                out.closeEntry();
            }
        }
        try (OutputStream out = Files.newOutputStream(file))
        {
            bytes.writeTo(out);
        }
        return file;
    }

    private static int indexOf(final byte[] haystack, final byte[] needle)
    {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++)
        {
            for (int k = 0; k < needle.length; k++)
            {
                if (haystack[i + k] != needle[k])
                {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("pattern not found: has mlp-relu.pt changed?");
    }

    private static byte[] insert(final byte[] bytes, final int at, final byte[] inserted)
    {
        return concat(Arrays.copyOf(bytes, at), inserted,
            Arrays.copyOfRange(bytes, at, bytes.length));
    }

    private static byte[] concat(final byte[]... parts)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (final byte[] part : parts)
        {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    private static byte[] u32(final long value)
    {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int)value).array();
    }

    private static byte[] s32(final int value)
    {
        return u32(value);
    }
}
