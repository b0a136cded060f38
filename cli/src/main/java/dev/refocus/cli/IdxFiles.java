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
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

import static dev.refocus.cli.DataFiles.MAX_BYTES;
import static dev.refocus.cli.DataFiles.bytes;
import static dev.refocus.cli.DataFiles.floatCopyBytes;
import static dev.refocus.cli.DataFiles.requireHeap;

/**
 * The IDX files of (Fashion-)MNIST, gzipped or not: unsigned-byte images {@code [N, rows, columns]} (magic
 * {@code 0x00000803}, pixels scaled to [0, 1]) and labels {@code [N]} ({@code 0x00000801}). A raw file's claimed
 * size is checked against its length; a gzipped file's, whose content length is unknown up front, against what its
 * size can hold (deflate's ratio) and then against the bytes that really arrive, memory growing only with them.
 *
 * <p><b>Note:</b> This class is stateless and thread-safe.
 */
final class IdxFiles
{
    /** Deflate compresses at most about 1032:1, so a gzipped file cannot hold more than this many times its size. */
    private static final long GZIP_MAX_RATIO = 1040;
    private static final int IDX_IMAGES = 0x00000803;
    private static final int IDX_LABELS = 0x00000801;

    private IdxFiles()
    {
    }

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

    static float[][] images(final Path file, final long size) throws IOException
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
            final long pixels = product(height, width); // two unsigned 32-bit values can overflow a long
            if (images == 0 || pixels == 0)
            {
                throw new DataException(file, "holds no " + (images == 0 ? "image" : "pixel") + ": the IDX header "
                    + "claims " + images + " images of " + height + "x" + width + " pixels");
            }
            final String what = images + (images == 1 ? " image" : " images") + " of " + height + "x" + width
                + " pixels";
            claimed = product(images, pixels);
            checkIdxClaim(file, size, gzipped[0], 16, claimed, what);
            if (pixels > Integer.MAX_VALUE - 8)
            {
                throw new DataException(file, "the IDX header claims " + what + ": more values per sample than "
                    + "a Java array holds");
            }
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

    static int[] labels(final Path file, final long size) throws IOException
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

    /** @return a * b for sizes a file claims, Long.MAX_VALUE where it overflows: more than any file holds. */
    private static long product(final long a, final long b)
    {
        try
        {
            return Math.multiplyExact(a, b);
        }
        catch (final ArithmeticException e)
        {
            return Long.MAX_VALUE;
        }
    }
}
