package dev.refocus.cli;

import dev.refocus.cli.DataFiles.DataException;
import dev.refocus.cli.DataFiles.Reader;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.refocus.cli.DataFiles.bytes;
import static dev.refocus.cli.DataFiles.floatCopyBytes;
import static dev.refocus.cli.DataFiles.printable;
import static dev.refocus.cli.DataFiles.requireHeap;

/**
 * NumPy {@code .npy} files (format versions 1 to 3): magic, header dict, little-endian C-ordered data. Samples are
 * float32 or float64 {@code [N, features...]} (trailing dimensions flattened), labels integers {@code [N]} or
 * {@code [N, 1]}. The header's shape is checked against the file's length, overflow-safe, before any allocation.
 *
 * <p><b>Note:</b> This class is stateless and thread-safe.
 */
final class NpyFiles
{
    /** numpy writes headers of a few hundred bytes; this bounds what a header may make us read as text. */
    private static final int MAX_NPY_HEADER = 1 << 20;
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private NpyFiles()
    {
    }

    private record Npy(String descr, long[] shape, long headerBytes)
    {
    }

    /** Reads and checks the header, the shape's size against the bytes after it; leaves {@code in} at the data. */
    private static Npy npyHeader(final Path file, final long size, final Reader in) throws IOException
    {
        try
        {
            final byte[] expected = {(byte)0x93, 'N', 'U', 'M', 'P', 'Y'};
            final ByteBuffer magic = in.need((int)Math.min(size, expected.length));
            for (int i = 0; i < expected.length; i++)
            {
                if (i == size || magic.get() != expected[i])
                {
                    throw new DataException(file, "not a .npy file (it does not start with \\x93NUMPY)");
                }
            }
            final ByteBuffer version = in.need(2);
            final int major = version.get();
            version.get();
            final long headerLength;
            if (major == 1)
            {
                headerLength = Short.toUnsignedInt(in.need(2).getShort());
            }
            else if (major == 2 || major == 3)
            {
                headerLength = Integer.toUnsignedLong(in.need(4).getInt());
            }
            else
            {
                throw new DataException(file, "unsupported .npy format version " + major + " (1, 2 or 3)");
            }
            if (headerLength > MAX_NPY_HEADER)
            {
                throw new DataException(file, "the .npy header claims " + headerLength + " bytes; a real one has a "
                    + "few hundred");
            }
            final long dataStart = in.consumed() + headerLength;
            if (dataStart > size)
            {
                throw new DataException(file, "the .npy header claims " + headerLength + " bytes, the file has only "
                    + (size - in.consumed()) + " after the magic (truncated?)");
            }
            final StringBuilder header = new StringBuilder((int)headerLength);
            for (long i = 0; i < headerLength; i++)
            {
                header.append((char)(in.need(1).get() & 0xFF));
            }
            final String text = header.toString();
            final Matcher descr = DESCR.matcher(text);
            final Matcher fortran = FORTRAN.matcher(text);
            final Matcher shape = SHAPE.matcher(text);
            if (!descr.find() || !fortran.find() || !shape.find())
            {
                throw new DataException(file, "malformed .npy header: " + printable(text.trim(), 200));
            }
            if (fortran.group(1).equals("True"))
            {
                throw new DataException(file, "Fortran-ordered arrays are not supported (save with "
                    + "np.ascontiguousarray)");
            }
            final long[] dims = npyShape(file, shape.group(1));
            final int itemSize = itemSize(file, descr.group(1));
            final long dataBytes;
            try
            {
                long count = 1;
                for (final long d : dims)
                {
                    count = Math.multiplyExact(count, d);
                }
                dataBytes = Math.multiplyExact(count, (long)itemSize);
            }
            catch (final ArithmeticException e)
            {
                throw new DataException(file, "the .npy header claims shape " + Arrays.toString(dims)
                    + ", more values than any file holds");
            }
            final long held = size - dataStart;
            if (dataBytes != held)
            {
                throw new DataException(file, "the .npy header claims shape " + Arrays.toString(dims) + " of '"
                    + descr.group(1) + "', " + dataBytes + " bytes of data, but the file holds " + held
                    + (held < dataBytes ? " (truncated?)" : " (extra bytes after the data)"));
            }
            return new Npy(descr.group(1), dims, dataStart);
        }
        catch (final EOFException e)
        {
            throw new DataException(file, "truncated .npy header");
        }
    }

    /** @return the dimensions of a shape tuple's contents, "3, 784" or "3," or "": each a whole number &ge; 0. */
    private static long[] npyShape(final Path file, final String tuple) throws DataException
    {
        final List<Long> dims = new ArrayList<>();
        for (final String d : tuple.split(",", -1))
        {
            final String t = d.trim();
            if (t.isEmpty())
            {
                continue;
            }
            if (!t.matches("-?[0-9]{1,19}L?"))
            {
                throw new DataException(file, "the .npy shape (" + printable(tuple, 100) + ") holds '"
                    + printable(t, 30) + "', not a dimension");
            }
            final long v;
            try
            {
                v = Long.parseLong(t.replace("L", ""));
            }
            catch (final NumberFormatException e)
            {
                throw new DataException(file, "the .npy shape (" + printable(tuple, 100) + ") has a dimension "
                    + "beyond any size");
            }
            if (v < 0)
            {
                throw new DataException(file, "the .npy shape (" + printable(tuple, 100) + ") has a negative "
                    + "dimension");
            }
            dims.add(v);
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
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
                throw new DataException(file, "unsupported dtype '" + printable(descr, 30)
                    + "' (samples: float32 or float64; labels: int8, uint8, int32 or int64; little-endian)");
        }
    }

    static float[][] samples(final Path file, final long size) throws IOException
    {
        try (Reader in = new Reader(new BufferedInputStream(Files.newInputStream(file), 1 << 16),
            ByteOrder.LITTLE_ENDIAN))
        {
            final Npy npy = npyHeader(file, size, in);
            if (npy.shape.length < 2)
            {
                throw new DataException(file, "samples must be an array [samples, features] (or [samples, ...] "
                    + "of any rank), got shape " + Arrays.toString(npy.shape)
                    + (npy.shape.length == 1 ? ": for one sample, save x.reshape(1, -1)" : ""));
            }
            if (!npy.descr.equals("<f4") && !npy.descr.equals("<f8"))
            {
                throw new DataException(file, "samples must be float32 or float64, got dtype '" + npy.descr + "'");
            }
            // [N, d1, d2, ...] flattens to [N, d1 * d2 * ...], as an image file's rows and columns do
            long features = 1;
            for (int i = 1; i < npy.shape.length; i++)
            {
                features *= npy.shape[i]; // no overflow: the header's product was checked
            }
            final long samples = npy.shape[0];
            if (samples == 0 || features == 0)
            {
                throw new DataException(file, "holds no " + (samples == 0 ? "sample" : "feature") + ": shape "
                    + Arrays.toString(npy.shape));
            }
            if (features > Integer.MAX_VALUE - 8 || samples > Integer.MAX_VALUE - 8)
            {
                throw new DataException(file, "shape " + Arrays.toString(npy.shape) + " is too large for refocus");
            }
            requireHeap(file, floatCopyBytes(samples, features), samples + " samples of " + features + " features");
            final boolean f4 = npy.descr.equals("<f4");
            final float[][] rows = new float[(int)samples][(int)features];
            for (int i = 0; i < rows.length; i++)
            {
                final float[] row = rows[i];
                for (int j = 0; j < row.length; j++)
                {
                    final double v = f4 ? in.need(4).getFloat() : in.need(8).getDouble();
                    row[j] = (float)v;
                    if (!Float.isFinite(row[j]))
                    {
                        throw new DataException(file, "sample " + i + ", value " + (j + 1) + " is "
                            + nonFinite(v));
                    }
                }
            }
            return rows;
        }
        catch (final EOFException e)
        {
            throw new DataException(file, "the file ended early (changed while being read?)");
        }
    }

    static int[] labels(final Path file, final long size) throws IOException
    {
        try (Reader in = new Reader(new BufferedInputStream(Files.newInputStream(file), 1 << 16),
            ByteOrder.LITTLE_ENDIAN))
        {
            final Npy npy = npyHeader(file, size, in);
            if (!(npy.shape.length == 1 || npy.shape.length == 2 && npy.shape[1] == 1))
            {
                throw new DataException(file, "labels must be an array [samples] (or [samples, 1]), got shape "
                    + Arrays.toString(npy.shape));
            }
            if (npy.descr.startsWith("<f"))
            {
                throw new DataException(file, "labels must be integers, got dtype '" + npy.descr + "'");
            }
            final long count = npy.shape[0];
            if (count == 0)
            {
                throw new DataException(file, "holds no label: shape " + Arrays.toString(npy.shape));
            }
            if (count > Integer.MAX_VALUE - 8)
            {
                throw new DataException(file, "shape " + Arrays.toString(npy.shape) + " is too large for refocus");
            }
            requireHeap(file, Math.multiplyExact(count, 4L), count + " labels");
            final int[] labels = new int[(int)count];
            for (int i = 0; i < labels.length; i++)
            {
                final long value = switch (npy.descr)
                {
                    case "<i4" -> in.need(4).getInt();
                    case "<i8" -> in.need(8).getLong();
                    case "|u1" -> Byte.toUnsignedInt(in.need(1).get());
                    default -> in.need(1).get(); // |i1
                };
                if (value < 0)
                {
                    throw new DataException(file, "sample " + i + ": label " + value + " is negative");
                }
                if (value > Integer.MAX_VALUE)
                {
                    throw new DataException(file, "sample " + i + ": label " + value + " is too large");
                }
                labels[i] = (int)value;
            }
            return labels;
        }
        catch (final EOFException e)
        {
            throw new DataException(file, "the file ended early (changed while being read?)");
        }
    }

    /** @return how a non-finite value reads in a message. */
    private static String nonFinite(final double v)
    {
        return Double.isNaN(v) ? "NaN" : Double.isInfinite(v) ? "infinite (" + v + ")" : v + ", beyond float32's range";
    }
}
