package dev.refocus.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The contract the fuzz tests of {@link DataFiles} hold it to: reading any bytes gives data or throws a
 * {@link DataFiles.DataException} (the CLI's exit code 3) or a {@link NoSuchFileException}, nothing else: no other
 * exception (a {@code NumberFormatException}, a {@code ZipException}, a {@code NegativeArraySizeException} is an exit
 * code 1 with a stack trace), no {@link OutOfMemoryError}, no hang (Jazzer's timeout). Files are written to one
 * temporary directory per JVM (each fuzz test class has a JVM of its own), deleted at exit.
 */
final class DataFilesContract
{
    private static Path directory;

    @FunctionalInterface
    interface Read
    {
        void run(Path file) throws IOException;
    }

    private DataFilesContract()
    {
    }

    /**
     * Writes the bytes to a file of the given name and reads it, holding the read to the contract.
     *
     * @param name  a file name; its extension or its "idx1"/"idx3" picks the format, as the CLI's does.
     * @param bytes the file's content.
     * @param reads what to do with the file, e.g. {@code DataFiles::readInputs}.
     */
    static void check(final String name, final byte[] bytes, final Read... reads)
    {
        final Path file = directory().resolve(name);
        try
        {
            Files.write(file, bytes);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot write the fuzz input (not a finding)", e);
        }
        for (final Read read : reads)
        {
            try
            {
                read.run(file);
            }
            catch (final DataFiles.DataException | NoSuchFileException declared)
            {
                // the contract: a message naming the file, exit code 3
            }
            catch (final IOException undeclared)
            {
                throw new AssertionError("DataFiles threw " + undeclared + ", not a DataException", undeclared);
            }
            // anything else (unchecked, an Error) propagates: a finding
        }
    }

    private static synchronized Path directory()
    {
        if (directory == null)
        {
            try
            {
                directory = Files.createTempDirectory("refocus-fuzz-");
            }
            catch (final IOException e)
            {
                throw new UncheckedIOException(e);
            }
            final Path created = directory;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(created)));
        }
        return directory;
    }

    private static void delete(final Path root)
    {
        try (Stream<Path> paths = Files.walk(root))
        {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
        catch (final IOException ignored)
        {
            // a temporary directory left behind
        }
    }
}
