package dev.refocus.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the data readers accept, and read right: the good files next to {@link BadInputTest}'s bad ones. */
class DataFilesTest
{
    @TempDir
    Path dir;

    @Test
    void shouldReadCsvWithAHeaderSpacesABomAndWindowsLineEnds() throws IOException
    {
        final Path csv = dir.resolve("x.csv");
        Files.write(csv, ("\uFEFFa, b ,c\r\n\r\n1, -2.5e-1 ,.5\r\n+3,4.25,-0\r\n").getBytes(StandardCharsets.UTF_8));
        final DataFiles.Inputs x = DataFiles.readInputs(csv);
        assertArrayEquals(new float[] {1, -0.25f, 0.5f}, x.rows()[0]);
        assertArrayEquals(new float[] {3, 4.25f, -0.0f}, x.rows()[1]);
        assertArrayEquals(new int[] {3, 4}, x.lines());
        assertEquals("line 4 (sample 1)", x.where(1));
    }

    @Test
    void shouldReadWhitespaceSeparatedTextAsNumpySavetxtWritesIt() throws IOException
    {
        final Path txt = dir.resolve("x.txt");
        Files.writeString(txt, "1.000000000000000000e+00 2.500000000000000000e-01\n\t3 4\n");
        assertArrayEquals(new float[] {3, 4}, DataFiles.readInputs(txt).rows()[1]);
        final Path labels = dir.resolve("y.txt");
        Files.writeString(labels, "label\n2.000000000000000000e+00\n0\n");
        final DataFiles.Labels y = DataFiles.readLabels(labels);
        assertArrayEquals(new int[] {2, 0}, y.values());
        assertEquals("line 3 (sample 1)", y.where(1));
    }

    @Test
    void shouldTellDecimalsFromOtherNumberSpellings()
    {
        for (final String ok : new String[] {"0", "-1", "+1.5", ".5", "-.5e-3", "1e10", "1E+2", "007"})
        {
            assertTrue(DataFiles.isDecimal(ok), ok);
        }
        for (final String bad : new String[] {"", "-", ".", "1.", "1e", "1e+", "0x1p-2", "0.5f", "1d", "NaN", "inf",
            "1_000", "1,5", " 1", "1 ", "--1", "١"})
        {
            assertFalse(DataFiles.isDecimal(bad), bad);
        }
    }

    @Test
    void shouldReadNpyOfAnyRankAsRowsAndFloat64AsFloats() throws IOException
    {
        final ByteBuffer data = ByteBuffer.allocate(2 * 2 * 3 * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 12; i++)
        {
            data.putDouble(i * 0.5);
        }
        final Path npy = dir.resolve("x.npy");
        Files.write(npy, npy("<f8", "(2, 2, 3)", data.array()));
        final DataFiles.Inputs x = DataFiles.readInputs(npy);
        assertArrayEquals(new float[] {3, 3.5f, 4, 4.5f, 5, 5.5f}, x.rows()[1]);
        assertNull(x.lines());
        assertEquals("sample 1", x.where(1));
        final Path labels = dir.resolve("y.npy");
        Files.write(labels, npy("|u1", "(3, 1)", new byte[] {7, 0, (byte)255}));
        assertArrayEquals(new int[] {7, 0, 255}, DataFiles.readLabels(labels).values());
    }

    @Test
    void shouldReadIdxGzippedOrNot() throws IOException
    {
        final ByteBuffer images = ByteBuffer.allocate(16 + 2 * 3);
        images.putInt(0x803).putInt(2).putInt(1).putInt(3).put(new byte[] {0, (byte)255, 51, 102, (byte)204, 1});
        final Path raw = dir.resolve("x-idx3-ubyte");
        Files.write(raw, images.array());
        final Path gz = dir.resolve("x-idx3-ubyte.gz");
        Files.write(gz, gzip(images.array()));
        for (final Path file : new Path[] {raw, gz})
        {
            final float[][] x = DataFiles.readInputs(file).rows();
            assertArrayEquals(new float[] {0, 1, 0.2f}, x[0], file.toString());
            assertArrayEquals(new float[] {0.4f, 0.8f, 1 / 255.0f}, x[1], file.toString());
        }
        final Path labels = dir.resolve("y-idx1-ubyte.gz");
        Files.write(labels, gzip(ByteBuffer.allocate(8 + 2).putInt(0x801).putInt(2).put((byte)9).put((byte)3)
            .array()));
        assertArrayEquals(new int[] {9, 3}, DataFiles.readLabels(labels).values());
    }

    private static byte[] gzip(final byte[] bytes) throws IOException
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out))
        {
            z.write(bytes);
        }
        return out.toByteArray();
    }

    private static byte[] npy(final String descr, final String shape, final byte[] data)
    {
        final StringBuilder header = new StringBuilder("{'descr': '" + descr + "', 'fortran_order': False, 'shape': "
            + shape + ", }");
        while ((10 + header.length() + 1) % 64 != 0)
        {
            header.append(' ');
        }
        header.append('\n');
        final ByteBuffer b = ByteBuffer.allocate(10 + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte)0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short)header.length());
        return b.put(header.toString().getBytes(StandardCharsets.ISO_8859_1)).put(data).array();
    }
}
