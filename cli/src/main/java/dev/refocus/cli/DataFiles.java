package dev.refocus.cli;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * Reads samples and labels in the formats users have: NumPy {@code .npy} (float32 or float64 [N, features], integer
 * labels [N]), CSV (one sample or label per line, an optional header line), and the gzipped IDX files of
 * (Fashion-)MNIST (pixels scaled to [0, 1]). Every problem is a {@link DataException} that names the file.
 */
final class DataFiles
{
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    private static final int IDX_IMAGES = 0x00000803;
    private static final int IDX_LABELS = 0x00000801;

    private DataFiles()
    {
    }

    /** A file that cannot be read as data: the CLI's exit code 3. */
    static final class DataException extends IOException
    {
        private static final long serialVersionUID = 1L;

        DataException(final Path file, final String problem)
        {
            super(file + ": " + problem);
        }
    }

    /** @return one row of features per sample. */
    static float[][] readInputs(final Path file) throws IOException
    {
        requireFile(file);
        final String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".npy"))
        {
            return npyMatrix(file);
        }
        if (name.endsWith(".csv") || name.endsWith(".txt"))
        {
            return csv(file);
        }
        if (name.contains("idx3"))
        {
            return idxImages(file);
        }
        throw new DataException(file, "unknown input format (expected .npy, .csv or a gzipped idx3 file)");
    }

    /** @return one class index per sample. */
    static int[] readLabels(final Path file) throws IOException
    {
        requireFile(file);
        final String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".npy"))
        {
            return npyLabels(file);
        }
        if (name.endsWith(".csv") || name.endsWith(".txt"))
        {
            final float[][] rows = csv(file);
            final int[] labels = new int[rows.length];
            for (int i = 0; i < rows.length; i++)
            {
                if (rows[i].length != 1 || rows[i][0] != Math.rint(rows[i][0]))
                {
                    throw new DataException(file, "line " + (i + 1) + ": a label is one whole number per line");
                }
                labels[i] = (int)rows[i][0];
            }
            return labels;
        }
        if (name.contains("idx1"))
        {
            return idxLabels(file);
        }
        throw new DataException(file, "unknown label format (expected .npy, .csv or a gzipped idx1 file)");
    }

    private static void requireFile(final Path file) throws IOException
    {
        if (!Files.isRegularFile(file))
        {
            throw new NoSuchFileException(file.toString(), null, "no such file");
        }
    }

    // --- NumPy: magic, version, header dict, little-endian data

    private record Npy(String descr, long[] shape, ByteBuffer data)
    {
    }

    private static Npy npy(final Path file) throws IOException
    {
        final ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (all.remaining() < 10 || all.get() != (byte)0x93 || all.get() != 'N' || all.get() != 'U'
            || all.get() != 'M' || all.get() != 'P' || all.get() != 'Y')
        {
            throw new DataException(file, "not a .npy file (bad magic)");
        }
        final int major = all.get();
        all.get();
        final long headerLength = major == 1 ? Short.toUnsignedInt(all.getShort()) : Integer.toUnsignedLong(all.getInt());
        if (headerLength > all.remaining())
        {
            throw new DataException(file, "truncated .npy header");
        }
        final byte[] headerBytes = new byte[(int)headerLength];
        all.get(headerBytes);
        final String header = new String(headerBytes, StandardCharsets.ISO_8859_1);
        final Matcher descr = DESCR.matcher(header);
        final Matcher fortran = FORTRAN.matcher(header);
        final Matcher shape = SHAPE.matcher(header);
        if (!descr.find() || !fortran.find() || !shape.find())
        {
            throw new DataException(file, "malformed .npy header: " + header.trim());
        }
        if (fortran.group(1).equals("True"))
        {
            throw new DataException(file, "Fortran-ordered arrays are not supported (save with np.ascontiguousarray)");
        }
        final List<Long> dims = new ArrayList<>();
        for (final String d : shape.group(1).split(","))
        {
            if (!d.isBlank())
            {
                dims.add(Long.parseLong(d.trim()));
            }
        }
        final long[] dimensions = dims.stream().mapToLong(Long::longValue).toArray();
        long count = 1;
        for (final long d : dimensions)
        {
            count *= d;
        }
        final int itemSize = itemSize(file, descr.group(1));
        if (count * itemSize != all.remaining())
        {
            throw new DataException(file, "the data holds " + all.remaining() + " bytes, the header says "
                + count + " values of " + itemSize + " bytes (truncated file?)");
        }
        return new Npy(descr.group(1), dimensions, all.slice().order(ByteOrder.LITTLE_ENDIAN));
    }

    private static int itemSize(final Path file, final String descr) throws DataException
    {
        switch (descr)
        {
            case "<f4":
            case "<i4":
                return 4;
            case "<f8":
            case "<i8":
                return 8;
            case "|u1":
            case "|i1":
                return 1;
            default:
                throw new DataException(file, "unsupported dtype '" + descr
                    + "' (inputs: float32 or float64; labels: int8, uint8, int32 or int64, little-endian)");
        }
    }

    private static float[][] npyMatrix(final Path file) throws IOException
    {
        final Npy npy = npy(file);
        if (npy.shape.length != 2)
        {
            throw new DataException(file, "inputs must be a 2-D array [samples, features], got shape "
                + Arrays.toString(npy.shape));
        }
        if (!npy.descr.equals("<f4") && !npy.descr.equals("<f8"))
        {
            throw new DataException(file, "inputs must be float32 or float64, got dtype '" + npy.descr + "'");
        }
        final int rows = (int)npy.shape[0];
        final int columns = (int)npy.shape[1];
        final float[][] result = new float[rows][columns];
        for (final float[] row : result)
        {
            for (int j = 0; j < columns; j++)
            {
                row[j] = npy.descr.equals("<f4") ? npy.data.getFloat() : (float)npy.data.getDouble();
            }
        }
        return result;
    }

    private static int[] npyLabels(final Path file) throws IOException
    {
        final Npy npy = npy(file);
        if (npy.shape.length != 1)
        {
            throw new DataException(file, "labels must be a 1-D array [samples], got shape "
                + Arrays.toString(npy.shape));
        }
        final int[] labels = new int[(int)npy.shape[0]];
        for (int i = 0; i < labels.length; i++)
        {
            final long value;
            switch (npy.descr)
            {
                case "<i4":
                    value = npy.data.getInt();
                    break;
                case "<i8":
                    value = npy.data.getLong();
                    break;
                case "|u1":
                    value = Byte.toUnsignedInt(npy.data.get());
                    break;
                case "|i1":
                    value = npy.data.get();
                    break;
                default:
                    throw new DataException(file, "labels must be integers, got dtype '" + npy.descr + "'");
            }
            if (value < 0 || value > Integer.MAX_VALUE)
            {
                throw new DataException(file, "label " + i + " is " + value);
            }
            labels[i] = (int)value;
        }
        return labels;
    }

    // --- CSV: numbers separated by commas, an optional header line

    private static float[][] csv(final Path file) throws IOException
    {
        final List<float[]> rows = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8))
        {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null)
            {
                number++;
                if (line.isBlank())
                {
                    continue;
                }
                final String[] cells = line.split(",");
                final float[] row = new float[cells.length];
                try
                {
                    for (int j = 0; j < cells.length; j++)
                    {
                        row[j] = Float.parseFloat(cells[j].trim());
                    }
                }
                catch (final NumberFormatException e)
                {
                    if (number == 1)
                    {
                        continue; // a header line
                    }
                    throw new DataException(file, "line " + number + ": not a number: " + e.getMessage());
                }
                if (!rows.isEmpty() && row.length != rows.get(0).length)
                {
                    throw new DataException(file, "line " + number + " has " + row.length + " values, the first row "
                        + rows.get(0).length);
                }
                rows.add(row);
            }
        }
        if (rows.isEmpty())
        {
            throw new DataException(file, "no data");
        }
        return rows.toArray(new float[0][]);
    }

    // --- IDX (MNIST's format), gzipped

    private static float[][] idxImages(final Path file) throws IOException
    {
        try (DataInputStream in = gunzip(file))
        {
            expectMagic(file, in.readInt(), IDX_IMAGES);
            final int count = in.readInt();
            final int pixels = in.readInt() * in.readInt();
            final byte[] row = new byte[pixels];
            final float[][] images = new float[count][pixels];
            for (final float[] image : images)
            {
                in.readFully(row);
                for (int i = 0; i < pixels; i++)
                {
                    image[i] = (row[i] & 0xFF) / 255.0f;
                }
            }
            return images;
        }
        catch (final EOFException e)
        {
            throw new DataException(file, "truncated IDX file");
        }
    }

    private static int[] idxLabels(final Path file) throws IOException
    {
        try (DataInputStream in = gunzip(file))
        {
            expectMagic(file, in.readInt(), IDX_LABELS);
            final int[] labels = new int[in.readInt()];
            for (int i = 0; i < labels.length; i++)
            {
                labels[i] = in.readUnsignedByte();
            }
            return labels;
        }
        catch (final EOFException e)
        {
            throw new DataException(file, "truncated IDX file");
        }
    }

    private static DataInputStream gunzip(final Path file) throws IOException
    {
        final InputStream raw = Files.newInputStream(file);
        return new DataInputStream(new GZIPInputStream(raw, 1 << 16));
    }

    private static void expectMagic(final Path file, final int magic, final int expected) throws DataException
    {
        if (magic != expected)
        {
            throw new DataException(file, "not an IDX file of the expected kind (magic 0x"
                + Integer.toHexString(magic) + ", expected 0x" + Integer.toHexString(expected) + ")");
        }
    }
}
