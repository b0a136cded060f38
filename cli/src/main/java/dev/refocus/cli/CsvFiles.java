package dev.refocus.cli;

import dev.refocus.cli.DataFiles.DataException;
import dev.refocus.cli.DataFiles.Inputs;
import dev.refocus.cli.DataFiles.Labels;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

import static dev.refocus.cli.DataFiles.bytes;
import static dev.refocus.cli.DataFiles.floatCopyBytes;
import static dev.refocus.cli.DataFiles.isDecimal;
import static dev.refocus.cli.DataFiles.printable;
import static dev.refocus.cli.DataFiles.requireHeap;

/**
 * CSV and text files: one sample (or label) per line, values separated by commas, or by whitespace on a line
 * without a comma ({@code np.savetxt}'s default). Strict UTF-8; blank lines skipped; a first line without any number
 * in it is a header and skipped. Values are plain decimal numbers ({@link DataFiles#isDecimal}); {@code nan} and
 * {@code inf} spellings are read only to be refused as not finite; an empty cell is refused. Every message names the
 * line and the sample.
 *
 * <p><b>Note:</b> This class is stateless and thread-safe.
 */
final class CsvFiles
{
    /** The longest line accepted: far above any real sample, far below what a binary file could make us buffer. */
    private static final int MAX_LINE_BYTES = 64 << 20;
    private static final Pattern STARTS_LIKE_A_NUMBER = Pattern.compile("[+-]?\\.?[0-9]");
    private static final Pattern NON_FINITE = Pattern.compile("[+-]?(nan|inf|infinity)", Pattern.CASE_INSENSITIVE);

    private CsvFiles()
    {
    }

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

    /** @return whether a cell is a number for the header rule: a plain decimal, or a NaN or infinity spelling. */
    private static boolean isNumeric(final String cell)
    {
        return isDecimal(cell) || NON_FINITE.matcher(cell).matches();
    }

    /** @return the cell's value, finite. */
    private static float value(final Path file, final Line line, final int sample, final int j) throws DataException
    {
        final String cell = line.cells()[j];
        if (isDecimal(cell)) // the common case first, with no message built
        {
            final float v = Float.parseFloat(cell);
            if (!Float.isInfinite(v))
            {
                return v;
            }
        }
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
        throw new DataException(file, where + " is " + cell + ", beyond float32's range");
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

    static Inputs samples(final Path file) throws IOException
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

    static Labels labels(final Path file) throws IOException
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
}
