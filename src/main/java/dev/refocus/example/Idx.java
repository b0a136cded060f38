package dev.refocus.example;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/** Reads the gzipped IDX files of (Fashion-)MNIST: uint8 images and labels, big-endian headers. */
final class Idx
{
    private static final int IMAGES_MAGIC = 0x00000803;
    private static final int LABELS_MAGIC = 0x00000801;

    private Idx()
    {
    }

    /** @return one row of pixel / 255 per image, row-major. */
    static float[][] readImages(final Path file) throws IOException
    {
        try (DataInputStream in = open(file))
        {
            expectMagic(in.readInt(), IMAGES_MAGIC, file);
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
            throw new IOException(file + " is truncated", e);
        }
    }

    static int[] readLabels(final Path file) throws IOException
    {
        try (DataInputStream in = open(file))
        {
            expectMagic(in.readInt(), LABELS_MAGIC, file);
            final int[] labels = new int[in.readInt()];
            for (int i = 0; i < labels.length; i++)
            {
                labels[i] = in.readUnsignedByte();
            }
            return labels;
        }
        catch (final EOFException e)
        {
            throw new IOException(file + " is truncated", e);
        }
    }

    private static DataInputStream open(final Path file) throws IOException
    {
        final InputStream raw = Files.newInputStream(file);
        return new DataInputStream(new GZIPInputStream(raw, 1 << 16));
    }

    private static void expectMagic(final int magic, final int expected, final Path file) throws IOException
    {
        if (magic != expected)
        {
            throw new IOException(file + ": not an IDX file of the expected kind (magic " + Integer.toHexString(magic)
                + ", expected " + Integer.toHexString(expected) + ")");
        }
    }
}
