package dev.refocus.cli;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads samples and labels in the formats users have: NumPy {@code .npy} (float32 or float64 [N, features...],
 * integer labels [N]), CSV (one sample or label per line, comma- or whitespace-separated, an optional header line),
 * and the IDX files of (Fashion-)MNIST, gzipped or not (pixels scaled to [0, 1]).
 *
 * <p>Nothing is taken on trust: every size a file claims is checked, with overflow-safe arithmetic, against the bytes
 * the file really holds before anything of that size is allocated (a gzipped file's claim against the bytes that
 * really arrive, memory growing only with them); data over {@link #MAX_BYTES}, or whose float copy does not fit the
 * JVM's free heap, is refused with a message that says so. Values must be finite, CSV cells plain decimal numbers.
 * Every problem is a {@link DataException} that names the file and, where there is one, the line or sample.
 *
 * <p><b>Note:</b> This class is stateless and thread-safe.
 */
final class DataFiles
{
    /** The most bytes of data refocus reads from one file (or one gzipped file's content): 2 GiB. */
    static final long MAX_BYTES = Integer.MAX_VALUE;
    /** Deflate compresses at most about 1032:1, so a gzipped file cannot hold more than this many times its size. */
    private static final long GZIP_MAX_RATIO = 1040;
    /** The longest CSV line accepted: far above any real sample, far below what a binary file could make us buffer. */
    private static final int MAX_LINE_BYTES = 64 << 20;
    /** numpy writes headers of a few hundred bytes; this bounds what a header may make us read as text. */
    private static final int MAX_NPY_HEADER = 1 << 20;
    private static final int IDX_IMAGES = 0x00000803;
    private static final int IDX_LABELS = 0x00000801;
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    private static final Pattern STARTS_LIKE_A_NUMBER = Pattern.compile("[+-]?\\.?[0-9]");
    private static final Pattern NON_FINITE = Pattern.compile("[+-]?(nan|inf|infinity)", Pattern.CASE_INSENSITIVE);

    private DataFiles()
    {
    }

    /** A file that cannot be read as data, or data that does not fit the model: the CLI's exit code 3. */
    static final class DataException extends IOException
    {
        private static final long serialVersionUID = 1L;

        /** @param message the whole message, naming the file. */
        DataException(final String message)
        {
            super(message);
        }

        /** @param file the file; @param problem what is wrong with it: the message is "file: problem". */
        DataException(final Path file, final String problem)
        {
            super(file + ": " + problem);
        }
    }

    /**
     * A backend's {@link ArithmeticException} (a NaN logit) on one sample, carried up to the command, which knows
     * the files to name.
     */
    static final class NonFiniteLogits extends RuntimeException
    {
        private static final long serialVersionUID = 1L;
        private final int sample;

        /** @param sample the sample's index; @param cause what the backend threw. */
        NonFiniteLogits(final int sample, final ArithmeticException cause)
        {
            super(cause.getMessage(), cause);
            this.sample = sample;
        }

        /** @return the bad input this is: the model gives no finite logits for a sample of these inputs. */
        DataException named(final Path model, final Inputs inputs)
        {
            return new DataException(model + ": the model's logits for " + inputs.where(sample) + " of "
                + inputs.file() + " are not finite (" + getMessage() + "): are its weights finite?");
        }
    }

    /**
     * Samples read from a file.
     *
     * @param file  the file.
     * @param rows  one row of features per sample, all of one length.
     * @param lines for a CSV file, the line of each sample (1-based); else null.
     */
    record Inputs(Path file, float[][] rows, int[] lines)
    {
        /** @return where sample {@code i} is in its file, for messages: "line 13 (sample 12)" or "sample 12". */
        String where(final int i)
        {
            return DataFiles.where(lines, i);
        }
    }

    /**
     * Labels read from a file.
     *
     * @param file   the file.
     * @param values one class index per sample, each &ge; 0.
     * @param lines  for a CSV file, the line of each label (1-based); else null.
     */
    record Labels(Path file, int[] values, int[] lines)
    {
        /** @return where label {@code i} is in its file, for messages. */
        String where(final int i)
        {
            return DataFiles.where(lines, i);
        }
    }

    private static String where(final int[] lines, final int i)
    {
        return lines != null ? "line " + lines[i] + " (sample " + i + ")" : "sample " + i;
    }

    /**
     * @param file .npy, .csv/.txt, or an IDX image file (its name holds "idx3"), gzipped or not.
     * @return one row of finite features per sample, at least one sample.
     * @throws IOException a {@link DataException} naming the file and the problem, or {@link NoSuchFileException}.
     */
    static Inputs readInputs(final Path file) throws IOException
    {
        final long size = requireDataFile(file);
        final String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".npy"))
        {
            return new Inputs(file, npyMatrix(file, size), null);
        }
        if (name.endsWith(".csv") || name.endsWith(".txt"))
        {
            return csvInputs(file);
        }
        if (name.contains("idx3"))
        {
            return new Inputs(file, idxImages(file, size), null);
        }
        throw new DataException(file, "unknown input format (expected .npy, .csv, .txt or an idx3 file)");
    }

    /**
     * @param file .npy, .csv/.txt, or an IDX label file (its name holds "idx1"), gzipped or not.
     * @return one class index &ge; 0 per sample, at least one.
     * @throws IOException a {@link DataException} naming the file and the problem, or {@link NoSuchFileException}.
     */
    static Labels readLabels(final Path file) throws IOException
    {
        final long size = requireDataFile(file);
        final String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".npy"))
        {
            return new Labels(file, npyLabels(file, size), null);
        }
        if (name.endsWith(".csv") || name.endsWith(".txt"))
        {
            return csvLabels(file);
        }
        if (name.contains("idx1"))
        {
            return new Labels(file, idxLabels(file, size), null);
        }
        throw new DataException(file, "unknown label format (expected .npy, .csv, .txt or an idx1 file)");
    }

    /**
     * Checks samples and labels against the model.
     *
     * @param model      the model file, for messages.
     * @param inputSize  the model's number of input features.
     * @param classes    the model's number of classes.
     * @param inputs     the samples.
     * @param labels     their labels, or null.
     * @throws DataException if the samples' width, the labels' count or a label's range does not fit.
     */
    static void checkFits(final Path model, final int inputSize, final int classes, final Inputs inputs,
        final Labels labels) throws DataException
    {
        final int features = inputs.rows()[0].length;
        if (features != inputSize)
        {
            throw new DataException(inputs.file() + ": its samples have " + features + " features, the model "
                + model + " takes " + inputSize);
        }
        if (labels == null)
        {
            return;
        }
        if (labels.values().length != inputs.rows().length)
        {
            throw new DataException(labels.file() + " holds " + labels.values().length + " labels for the "
                + inputs.rows().length + " samples of " + inputs.file());
        }
        for (int i = 0; i < labels.values().length; i++)
        {
            if (labels.values()[i] >= classes)
            {
                throw new DataException(labels.file(), labels.where(i) + ": label " + labels.values()[i]
                    + " is outside the model's " + classes + " classes (0 to " + (classes - 1) + ")");
            }
        }
    }

    /**
     * Refuses what is not a readable regular file, before opening it: a named pipe would block the open.
     *
     * @return the file's size.
     */
    static long requireFile(final Path file) throws IOException
    {
        final BasicFileAttributes attributes;
        try
        {
            attributes = Files.readAttributes(file, BasicFileAttributes.class);
        }
        catch (final NoSuchFileException e)
        {
            throw new NoSuchFileException(file.toString(), null, "no such file");
        }
        if (attributes.isDirectory())
        {
            throw new DataException(file + " is a directory");
        }
        if (!attributes.isRegularFile())
        {
            throw new DataException(file + " is not a regular file (a named pipe, socket or device?); refocus "
                + "reads regular files only");
        }
        if (!Files.isReadable(file))
        {
            throw new AccessDeniedException(file.toString(), null, "permission denied");
        }
        return attributes.size();
    }

    private static long requireDataFile(final Path file) throws IOException
    {
        final long size = requireFile(file);
        if (size == 0)
        {
            throw new DataException(file, "the file is empty");
        }
        if (size > MAX_BYTES)
        {
            throw new DataException(file, "the file has " + bytes(size) + "; refocus reads data files of at most "
                + "2 GiB (split it)");
        }
        return size;
    }

    /**
     * Refuses data whose copy in memory does not fit the JVM's free heap, instead of an OutOfMemoryError.
     *
     * @param bytes the heap the copy takes.
     * @param what  what it is, for the message.
     */
    static void requireHeap(final Path file, final long bytes, final String what) throws DataException
    {
        final Runtime runtime = Runtime.getRuntime();
        long free = runtime.maxMemory() - runtime.totalMemory() + runtime.freeMemory();
        if (bytes > free)
        {
            System.gc(); // what looks used may be garbage: count again before refusing
            free = runtime.maxMemory() - runtime.totalMemory() + runtime.freeMemory();
        }
        if (bytes > free)
        {
            throw new DataException(file, what + " take " + bytes(bytes) + " of memory as floats, more than the "
                + bytes(free) + " the JVM has free (of at most " + bytes(runtime.maxMemory()) + "): give it more "
                + "with java -Xmx, or use fewer samples");
        }
    }

    /** @return the heap a {@code float[rows][columns]} takes, conservatively (headers, references, padding). */
    private static long floatCopyBytes(final long rows, final long columns)
    {
        final long row = 16 + ((Math.multiplyExact(columns, 4L) + 7) & ~7L) + 8;
        return Math.addExact(16, Math.multiplyExact(rows, row));
    }

    /** @return a size for messages: "812 bytes", "3.1 MiB", "2.0 GiB". */
    static String bytes(final long n)
    {
        if (n < 1024)
        {
            return n + " bytes";
        }
        final String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u + 1 < units.length)
        {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    // --- little and big endian binary data, read in bounded chunks

    /** Reads a stream through a fixed buffer: memory never grows with what the data claims. */
    private static final class Reader implements AutoCloseable
    {
        private final InputStream in;
        private final ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
        private long consumed;

        Reader(final InputStream in, final ByteOrder order)
        {
            this.in = in;
            buffer.order(order).limit(0);
        }

        /** @throws EOFException if the stream ends before {@code n} more bytes. */
        ByteBuffer need(final int n) throws IOException
        {
            if (buffer.remaining() < n)
            {
                buffer.compact();
                while (buffer.position() < n)
                {
                    final int read = in.read(buffer.array(), buffer.position(), buffer.capacity() - buffer.position());
                    if (read < 0)
                    {
                        buffer.flip();
                        throw new EOFException();
                    }
                    buffer.position(buffer.position() + read);
                }
                buffer.flip();
            }
            consumed += n;
            return buffer;
        }

        /** @return whether the stream holds no more byte. */
        boolean atEnd() throws IOException
        {
            if (buffer.hasRemaining())
            {
                return false;
            }
            final int b = in.read();
            if (b < 0)
            {
                return true;
            }
            buffer.clear();
            buffer.put((byte)b).flip();
            return false;
        }

        /** @return the bytes handed out so far. */
        long consumed()
        {
            return consumed;
        }

        @Override
        public void close() throws IOException
        {
            in.close();
        }
    }

    // --- NumPy: magic, version, header dict, data

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

    private static float[][] npyMatrix(final Path file, final long size) throws IOException
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

    private static int[] npyLabels(final Path file, final long size) throws IOException
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

    // --- CSV: numbers separated by commas (or whitespace), an optional header line

    /** One line's cells and where it is. */
    private record Line(int number, String[] cells)
    {
    }

    /**
     * Reads text lines with strict UTF-8: a binary file is refused at its first undecodable line, by number.
     * Blank lines are skipped; a line's values are separated by commas if it holds one, else by whitespace.
     */
    private static final class Lines implements AutoCloseable
    {
        private final Path file;
        private final InputStream in;
        private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        private final byte[] chunk = new byte[1 << 16];
        private int chunkStart;
        private int chunkEnd;
        private byte[] line = new byte[1 << 12];
        private int number;

        Lines(final Path file) throws IOException
        {
            this.file = file;
            this.in = Files.newInputStream(file);
        }

        /** @return the next line that is not blank, split into trimmed cells, or null at the end. */
        Line next() throws IOException
        {
            while (true)
            {
                final String text = read();
                if (text == null)
                {
                    return null;
                }
                if (text.isBlank())
                {
                    continue;
                }
                final String[] cells = text.indexOf(',') >= 0 ? text.split(",", -1) : text.trim().split("\\s+");
                for (int i = 0; i < cells.length; i++)
                {
                    cells[i] = cells[i].trim();
                }
                return new Line(number, cells);
            }
        }

        /** @return the next line without its end, or null at the end of the file. */
        private String read() throws IOException
        {
            int n = 0;
            boolean any = false;
            while (true)
            {
                if (chunkStart == chunkEnd)
                {
                    chunkStart = 0;
                    chunkEnd = Math.max(0, in.read(chunk));
                    if (chunkEnd == 0)
                    {
                        if (!any)
                        {
                            return null;
                        }
                        break;
                    }
                }
                any = true;
                int end = chunkStart;
                while (end < chunkEnd && chunk[end] != '\n')
                {
                    end++;
                }
                final int length = end - chunkStart;
                if (n + length > line.length)
                {
                    if ((long)n + length > MAX_LINE_BYTES)
                    {
                        throw new DataException(file, "line " + (number + 1) + " is longer than "
                            + bytes(MAX_LINE_BYTES) + " (not a text file?)");
                    }
                    line = Arrays.copyOf(line, (int)Math.min(MAX_LINE_BYTES, Math.max(2L * line.length, n + length)));
                }
                System.arraycopy(chunk, chunkStart, line, n, length);
                n += length;
                chunkStart = end;
                if (end < chunkEnd)
                {
                    chunkStart++; // the '\n'
                    break;
                }
            }
            number++;
            int start = 0;
            if (number == 1 && n >= 3 && line[0] == (byte)0xEF && line[1] == (byte)0xBB && line[2] == (byte)0xBF)
            {
                start = 3; // a UTF-8 byte order mark, as spreadsheets write
            }
            final int end = n > start && line[n - 1] == '\r' ? n - 1 : n;
            try
            {
                final CharBuffer chars = utf8.reset().decode(ByteBuffer.wrap(line, start, end - start));
                return chars.toString();
            }
            catch (final CharacterCodingException e)
            {
                throw new DataException(file, "line " + number + " is not UTF-8 text (a binary file?)");
            }
        }

        @Override
        public void close() throws IOException
        {
            in.close();
        }
    }

    /** @return whether the text is a plain decimal number: {@code [+-]?(digits[.digits]|.digits)([eE][+-]?digits)?}. */
    static boolean isDecimal(final String s)
    {
        final int n = s.length();
        int i = 0;
        if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-'))
        {
            i++;
        }
        final int integer = digits(s, i);
        i += integer;
        int fraction = 0;
        if (i < n && s.charAt(i) == '.')
        {
            fraction = digits(s, i + 1);
            if (fraction == 0)
            {
                return false;
            }
            i += 1 + fraction;
        }
        if (integer == 0 && fraction == 0)
        {
            return false;
        }
        if (i < n && (s.charAt(i) == 'e' || s.charAt(i) == 'E'))
        {
            i++;
            if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-'))
            {
                i++;
            }
            final int exponent = digits(s, i);
            if (exponent == 0)
            {
                return false;
            }
            i += exponent;
        }
        return i == n;
    }

    private static int digits(final String s, final int from)
    {
        int i = from;
        while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9')
        {
            i++;
        }
        return i - from;
    }

    /** @return whether a cell is a number for the header rule: a plain decimal, or a NaN or infinity spelling. */
    private static boolean isNumeric(final String cell)
    {
        return isDecimal(cell) || NON_FINITE.matcher(cell).matches();
    }

    /** @return the cell's value, finite. */
    private static float value(final Path file, final Line line, final int sample, final int j) throws DataException
    {
        final String cell = line.cells()[j];
        final String where = "line " + line.number() + " (sample " + sample + "), value " + (j + 1);
        if (cell.isEmpty())
        {
            throw new DataException(file, where + " is empty");
        }
        if (NON_FINITE.matcher(cell).matches())
        {
            throw new DataException(file, where + " is " + (cell.toLowerCase(Locale.ROOT).contains("nan") ? "NaN"
                : "infinite ('" + cell + "')") + "; refocus takes finite values only");
        }
        if (!isDecimal(cell))
        {
            throw new DataException(file, where + " is '" + printable(cell, 40) + "', not a plain decimal number");
        }
        final float v = Float.parseFloat(cell);
        if (Float.isInfinite(v))
        {
            throw new DataException(file, where + " is " + cell + ", beyond float32's range");
        }
        return v;
    }

    /**
     * @return the first line with data: a header, a first line without any number in it, is skipped. A cell that
     * starts like a number ({@code 0x1p-2}, {@code 1d}) counts as one, so that it is refused, never skipped.
     */
    private static Line firstDataLine(final Lines lines) throws IOException
    {
        final Line first = lines.next();
        if (first == null)
        {
            return null;
        }
        for (final String cell : first.cells())
        {
            if (isNumeric(cell) || STARTS_LIKE_A_NUMBER.matcher(cell).lookingAt())
            {
                return first;
            }
        }
        return lines.next();
    }

    private static Inputs csvInputs(final Path file) throws IOException
    {
        final List<float[]> rows = new ArrayList<>();
        final List<Integer> numbers = new ArrayList<>();
        try (Lines lines = new Lines(file))
        {
            Line line = firstDataLine(lines);
            if (line == null)
            {
                throw new DataException(file, "holds no sample");
            }
            final int width = line.cells().length;
            long next = 1024;
            for (; line != null; line = lines.next())
            {
                final int sample = rows.size();
                if (line.cells().length != width)
                {
                    throw new DataException(file, "line " + line.number() + " (sample " + sample + ") has "
                        + line.cells().length + " values, the first sample " + width);
                }
                if (sample == next)
                {
                    // memory grows with the lines that really come: check the heap before the list doubles
                    requireHeap(file, floatCopyBytes(2 * next, width), "its first " + 2 * next + " samples");
                    next *= 2;
                }
                final float[] row = new float[width];
                for (int j = 0; j < width; j++)
                {
                    row[j] = value(file, line, sample, j);
                }
                rows.add(row);
                numbers.add(line.number());
            }
        }
        return new Inputs(file, rows.toArray(new float[0][]), numbers.stream().mapToInt(Integer::intValue).toArray());
    }

    private static Labels csvLabels(final Path file) throws IOException
    {
        final List<Integer> labels = new ArrayList<>();
        final List<Integer> numbers = new ArrayList<>();
        try (Lines lines = new Lines(file))
        {
            Line line = firstDataLine(lines);
            if (line == null)
            {
                throw new DataException(file, "holds no label");
            }
            for (; line != null; line = lines.next())
            {
                final int sample = labels.size();
                final String where = "line " + line.number() + " (sample " + sample + ")";
                if (line.cells().length != 1)
                {
                    throw new DataException(file, where + " has " + line.cells().length + " values; a label is one "
                        + "whole number per line");
                }
                final String cell = line.cells()[0];
                if (!isDecimal(cell))
                {
                    throw new DataException(file, where + ": label '" + printable(cell, 40)
                        + "' is not a whole number");
                }
                final double v = Double.parseDouble(cell);
                if (v != Math.rint(v))
                {
                    throw new DataException(file, where + ": label " + cell + " is not a whole number");
                }
                if (v < 0)
                {
                    throw new DataException(file, where + ": label " + cell + " is negative");
                }
                if (v > Integer.MAX_VALUE)
                {
                    throw new DataException(file, where + ": label " + cell + " is too large");
                }
                labels.add((int)v);
                numbers.add(line.number());
            }
        }
        return new Labels(file, labels.stream().mapToInt(Integer::intValue).toArray(),
            numbers.stream().mapToInt(Integer::intValue).toArray());
    }

    // --- IDX (MNIST's format), gzipped or not

    /**
     * Opens an IDX file: gunzipped if it starts with gzip's magic bytes.
     *
     * @return the reader, and whether the content is gzipped (its length then unknown up front).
     */
    private static Reader openIdx(final Path file, final boolean[] gzipped) throws IOException
    {
        final BufferedInputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        raw.mark(2);
        gzipped[0] = raw.read() == 0x1F && raw.read() == 0x8B;
        raw.reset();
        try
        {
            return new Reader(gzipped[0] ? new GZIPInputStream(raw, 1 << 16) : raw, ByteOrder.BIG_ENDIAN);
        }
        catch (final ZipException | EOFException e)
        {
            raw.close();
            throw new DataException(file, "corrupt gzip data (" + e.getMessage() + ")");
        }
    }

    /**
     * Checks what an IDX header claims against the file before anything of that size is allocated.
     *
     * @param claimed the data bytes the header claims, after it.
     * @param what    what they are, for messages.
     */
    private static void checkIdxClaim(final Path file, final long size, final boolean gzipped, final long header,
        final long claimed, final String what) throws DataException
    {
        if (claimed > MAX_BYTES)
        {
            throw new DataException(file, "the IDX header claims " + what + ", " + bytes(claimed)
                + "; refocus reads data of at most 2 GiB");
        }
        if (gzipped && claimed + header > GZIP_MAX_RATIO * size)
        {
            throw new DataException(file, "the IDX header claims " + what + ", " + bytes(claimed) + ", more than "
                + "a gzipped file of " + bytes(size) + " can hold (truncated or corrupt?)");
        }
        if (!gzipped && claimed != size - header)
        {
            throw new DataException(file, "the IDX header claims " + what + ", " + claimed + " bytes, but the file "
                + "holds " + (size - header) + " after the header"
                + (claimed > size - header ? " (truncated?)" : " (extra bytes after the data)"));
        }
    }

    private static void expectMagic(final Path file, final int magic, final int expected) throws DataException
    {
        if (magic != expected)
        {
            final String kind = magic == IDX_IMAGES ? " (an IDX image file)"
                : magic == IDX_LABELS ? " (an IDX label file)" : "";
            throw new DataException(file, "not an IDX " + (expected == IDX_IMAGES ? "image" : "label")
                + " file: magic number 0x" + String.format("%08x", magic) + kind + ", expected 0x"
                + String.format("%08x", expected));
        }
    }

    /** Reads what remains after the data of an IDX file: nothing, in a well-formed one. */
    private static void expectEnd(final Path file, final Reader in, final String what) throws IOException
    {
        if (!in.atEnd())
        {
            throw new DataException(file, "more data than the IDX header's " + what);
        }
    }

    private static float[][] idxImages(final Path file, final long size) throws IOException
    {
        final boolean[] gzipped = new boolean[1];
        long images = 0;
        long claimed = 0;
        try (Reader in = openIdx(file, gzipped))
        {
            expectMagic(file, in.need(4).getInt(), IDX_IMAGES);
            final ByteBuffer header = in.need(12);
            images = Integer.toUnsignedLong(header.getInt());
            final long height = Integer.toUnsignedLong(header.getInt());
            final long width = Integer.toUnsignedLong(header.getInt());
            final long pixels = height * width; // two unsigned 32-bit values: no overflow
            if (images == 0 || pixels == 0)
            {
                throw new DataException(file, "holds no " + (images == 0 ? "image" : "pixel") + ": the IDX header "
                    + "claims " + images + " images of " + height + "x" + width + " pixels");
            }
            final String what = images + (images == 1 ? " image" : " images") + " of " + height + "x" + width
                + " pixels";
            try
            {
                claimed = Math.multiplyExact(images, pixels);
            }
            catch (final ArithmeticException e)
            {
                claimed = Long.MAX_VALUE;
            }
            checkIdxClaim(file, size, gzipped[0], 16, claimed, what);
            requireHeap(file, floatCopyBytes(images, pixels), what);
            // one image at a time: a gzipped file's claim is believed only as far as its bytes really come
            final List<float[]> rows = new ArrayList<>((int)Math.min(images, 1 << 16));
            for (long i = 0; i < images; i++)
            {
                final float[] image = new float[(int)pixels];
                for (int p = 0; p < image.length; )
                {
                    final int n = (int)Math.min(image.length - p, 1 << 15);
                    final ByteBuffer chunk = in.need(n);
                    for (final int end = p + n; p < end; p++)
                    {
                        image[p] = (chunk.get() & 0xFF) / 255.0f;
                    }
                }
                rows.add(image);
            }
            expectEnd(file, in, what);
            return rows.toArray(new float[0][]);
        }
        catch (final EOFException e)
        {
            throw new DataException(file, images == 0 ? "truncated IDX header" : "truncated: the IDX header claims "
                + bytes(claimed) + " of pixels, the " + (gzipped[0] ? "gzipped " : "") + "file holds fewer");
        }
        catch (final ZipException e)
        {
            throw new DataException(file, "corrupt gzip data (" + e.getMessage() + ")");
        }
    }

    private static int[] idxLabels(final Path file, final long size) throws IOException
    {
        final boolean[] gzipped = new boolean[1];
        long count = -1;
        try (Reader in = openIdx(file, gzipped))
        {
            expectMagic(file, in.need(4).getInt(), IDX_LABELS);
            count = Integer.toUnsignedLong(in.need(4).getInt());
            if (count == 0)
            {
                throw new DataException(file, "holds no label: the IDX header claims 0");
            }
            final String what = count + " labels";
            checkIdxClaim(file, size, gzipped[0], 8, count, what);
            requireHeap(file, Math.multiplyExact(count, 4L), what);
            final List<int[]> chunks = new ArrayList<>();
            int total = 0;
            while (total < count)
            {
                // bounded growth: a chunk at a time, each only once its bytes have arrived
                final int n = (int)Math.min(count - total, 1 << 15);
                final ByteBuffer bytes = in.need(n);
                final int[] chunk = new int[n];
                for (int i = 0; i < n; i++)
                {
                    chunk[i] = bytes.get() & 0xFF;
                }
                chunks.add(chunk);
                total += n;
            }
            expectEnd(file, in, what);
            final int[] labels = new int[total];
            int at = 0;
            for (final int[] chunk : chunks)
            {
                System.arraycopy(chunk, 0, labels, at, chunk.length);
                at += chunk.length;
            }
            return labels;
        }
        catch (final EOFException e)
        {
            throw new DataException(file, count < 0 ? "truncated IDX header" : "truncated: the IDX header claims "
                + count + " labels, the " + (gzipped[0] ? "gzipped " : "") + "file holds fewer");
        }
        catch (final ZipException e)
        {
            throw new DataException(file, "corrupt gzip data (" + e.getMessage() + ")");
        }
    }

    // --- messages

    /** @return how a non-finite value reads in a message. */
    private static String nonFinite(final double v)
    {
        return Double.isNaN(v) ? "NaN" : Double.isInfinite(v) ? "infinite (" + v + ")" : v + ", beyond float32's range";
    }

    /** @return the text as it may appear in a message: control characters as '?', at most {@code max} characters. */
    static String printable(final String text, final int max)
    {
        final StringBuilder s = new StringBuilder();
        for (int i = 0; i < text.length() && s.length() < max; i++)
        {
            final char c = text.charAt(i);
            s.append(Character.isISOControl(c) || Character.isSurrogate(c) || c == '\uFFFD' ? '?' : c);
        }
        return text.length() > max ? s + "..." : s.toString();
    }
}
