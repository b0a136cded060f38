package dev.refocus.cli;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.refocus.testing.FuzzWatchdog;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.zip.GZIPOutputStream;

/**
 * Fuzzes the IDX reader of {@link DataFiles} (MNIST's format, gzipped): the fuzzer's bytes gzipped, as an images
 * ({@code idx3}) and a labels ({@code idx1}) file, so that it explores the IDX layout rather than gzip's; and the
 * same bytes not gzipped, which must be refused as data too. Held to {@link DataFilesContract}. Seeds in
 * {@code IdxFuzzTestInputs/read}: two 3x2 images and three labels, uncompressed, as the example's files begin.
 */
@ExtendWith(FuzzWatchdog.class)
class IdxFuzzTest
{
    @FuzzTest(maxDuration = "15s")
    void read(final byte[] bytes)
    {
        final byte[] gzipped = gzip(bytes);
        DataFilesContract.check("images-idx3-ubyte.gz", gzipped, DataFiles::readInputs);
        DataFilesContract.check("labels-idx1-ubyte.gz", gzipped, DataFiles::readLabels);
        DataFilesContract.check("raw-idx3-ubyte", bytes, DataFiles::readInputs);
    }

    private static byte[] gzip(final byte[] bytes)
    {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(out))
        {
            gzip.write(bytes);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
