package dev.refocus.torch;

import dev.refocus.ModelFormatException;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Checks a TorchScript file (a zip archive) before libtorch reads it, for what libtorch's unpickler takes on trust:
 * every pickle record ({@code data.pkl}, {@code constants.pkl}, {@code *.debug_pkl}) is walked opcode by opcode,
 * and a memo index ({@code LONG_BINPUT}) or a string length ({@code BINUNICODE}, ...) larger than the record itself
 * is refused. libtorch fills its memo table up to the index it reads and allocates a string of the length it reads
 * before it finds the data missing: a file of 3 KB with a memo index of 10<sup>9</sup> made it allocate and zero
 * 20 GB (30 s; on a smaller machine the JVM is killed). A pickle written by PyTorch numbers its memo entries from 0,
 * one per two bytes or more, and holds its strings, so no valid file is refused.
 * <p>
 * An opcode this walker does not know ends its walk of that record: libtorch stops there too, with an error.
 * <p>
 * <b>Note:</b> This class is stateless and thread-safe.
 */
final class TorchScriptArchive
{
    private static final int NEWLINE = '\n';

    private TorchScriptArchive()
    {
    }

    /**
     * @param file a file to be loaded by libtorch.
     * @throws ModelFormatException if it is not a zip archive, or a pickle in it claims more than it holds.
     * @throws IOException          if it cannot be read.
     */
    static void check(final Path file) throws IOException
    {
        final ZipFile zip;
        try
        {
            zip = new ZipFile(file.toFile());
        }
        catch (final ZipException e)
        {
            throw notTorchScript(file, "not a zip archive: " + e.getMessage());
        }
        try (zip)
        {
            final Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements())
            {
                final ZipEntry entry = entries.nextElement();
                if (!entry.isDirectory() && entry.getName().endsWith("pkl"))
                {
                    try (InputStream in = new BufferedInputStream(zip.getInputStream(entry)))
                    {
                        final String problem = walk(in, entry.getSize());
                        if (problem != null)
                        {
                            throw notTorchScript(file, "record " + entry.getName() + ": " + problem);
                        }
                    }
                    catch (final ZipException e)
                    {
                        throw notTorchScript(file, "record " + entry.getName() + ": " + e.getMessage());
                    }
                }
            }
        }
        catch (final IllegalStateException | IllegalArgumentException e) // a malformed entry name or header
        {
            throw notTorchScript(file, "not a zip archive: " + e.getMessage());
        }
    }

    /**
     * Walks one pickle.
     *
     * @param in   the record.
     * @param size its length in bytes as the archive states it (libtorch reads exactly that many); -1 if unknown.
     * @return the first claim larger than the record, or null.
     */
    static String walk(final InputStream in, final long size) throws IOException
    {
        final long limit = size < 0 ? Long.MAX_VALUE : size;
        long position = 0;
        try
        {
            while (true)
            {
                final int opcode = in.read();
                if (opcode < 0)
                {
                    return null;
                }
                final long at = position++;
                final long length;
                switch (opcode)
                {
                    // the end, or opcodes with no argument
                    case '.' -> {
                        return null;
                    }
                    case '(', '0', '1', '2', 'N', 'Q', 'R', 'a', 'b', 'd', '}', 'e', 'l', ']', 'o', 's', 't', ')',
                         'u', 0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x97, 0x98 ->
                        length = 0;
                    case 'K', 'h', 'q', 0x80, 0x82 -> length = 1;
                    case 'M', 0x83 -> length = 2;
                    case 'J', 'j', 0x84 -> length = 4;
                    case 'G', 0x95 -> length = 8;
                    case 'r' -> { // LONG_BINPUT: the memo index
                        final long index = u32(in);
                        position += 4;
                        if (index >= limit)
                        {
                            return "memo index " + index + " at byte " + at + " in a pickle of " + limit + " bytes";
                        }
                        length = 0;
                    }
                    // length-prefixed data
                    case 'U', 'C', 0x8a, 0x8c -> {
                        length = u8(in);
                        position++;
                    }
                    case 'T', 'X', 'B', 0x8b -> {
                        length = u32(in);
                        position += 4;
                    }
                    case 0x8d, 0x8e, 0x96 -> {
                        length = u32(in) | u32(in) << 32;
                        position += 8;
                    }
                    // newline-terminated arguments: GLOBAL and INST take two
                    case 'F', 'I', 'L', 'P', 'S', 'V', 'g', 'p' -> {
                        position += line(in);
                        length = 0;
                    }
                    case 'c', 'i' -> {
                        position += line(in);
                        position += line(in);
                        length = 0;
                    }
                    default -> {
                        return null; // not an opcode: libtorch stops here with an error
                    }
                }
                if (length < 0 || length > limit - position)
                {
                    return (length < 0 ? "a negative length" : "a length of " + length + " bytes") + " at byte " + at +
                        " with " + Math.max(0, limit - position) + " bytes left in the pickle";
                }
                in.skipNBytes(length);
                position += length;
            }
        }
        catch (final EOFException e)
        {
            return null; // truncated: libtorch finds the end too, having allocated nothing large
        }
    }

    private static int u8(final InputStream in) throws IOException
    {
        final int b = in.read();
        if (b < 0)
        {
            throw new EOFException();
        }
        return b;
    }

    /** @return a little-endian unsigned 32-bit integer. */
    private static long u32(final InputStream in) throws IOException
    {
        long value = 0;
        for (int i = 0; i < 4; i++)
        {
            value |= (long)u8(in) << (8 * i);
        }
        return value;
    }

    /** Skips a newline-terminated argument; @return the bytes skipped. */
    private static long line(final InputStream in) throws IOException
    {
        long n = 1;
        while (u8(in) != NEWLINE)
        {
            n++;
        }
        return n;
    }

    private static ModelFormatException notTorchScript(final Path file, final String reason)
    {
        return new ModelFormatException(file + " is not a TorchScript file (" + reason
            + "); write one with torch.jit.script(model).save(path) or torch.jit.trace");
    }
}
