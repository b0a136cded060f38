package dev.refocus.cli;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Locale;

/**
 * Reads samples and labels in the formats users have, chosen by the file's name: NumPy {@code .npy} ({@link
 * NpyFiles}), CSV or text ({@link CsvFiles}) and the IDX files of (Fashion-)MNIST, gzipped or not ({@link IdxFiles}).
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
            return new Inputs(file, NpyFiles.samples(file, size), null);
        }
        if (name.endsWith(".csv") || name.endsWith(".txt"))
        {
            return CsvFiles.samples(file);
        }
        if (name.contains("idx3"))
        {
            return new Inputs(file, IdxFiles.images(file, size), null);
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
            return new Labels(file, NpyFiles.labels(file, size), null);
        }
        if (name.endsWith(".csv") || name.endsWith(".txt"))
        {
            return CsvFiles.labels(file);
        }
        if (name.contains("idx1"))
        {
            return new Labels(file, IdxFiles.labels(file, size), null);
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

    static long requireDataFile(final Path file) throws IOException
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

    /**
     * @return the heap a {@code float[rows][columns]} takes, conservatively (headers, references, padding), or
     * Long.MAX_VALUE where that overflows: more than any heap.
     */
    static long floatCopyBytes(final long rows, final long columns)
    {
        try
        {
            final long row = Math.addExact(Math.multiplyExact(columns, 4L), 32L) & ~7L;
            return Math.addExact(16, Math.multiplyExact(rows, row));
        }
        catch (final ArithmeticException e)
        {
            return Long.MAX_VALUE;
        }
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
    static final class Reader implements AutoCloseable
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

    // --- the number grammar of data files and options

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

    // --- messages

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
