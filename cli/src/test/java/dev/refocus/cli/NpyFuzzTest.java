package dev.refocus.cli;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.refocus.testing.FuzzWatchdog;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fuzzes the {@code .npy} reader of {@link DataFiles}: any bytes as a samples file and as a labels file, held to
 * {@link DataFilesContract}. Seeds in {@code NpyFuzzTestInputs/read}: float32 and float64 [2, 3] samples, int64 and
 * uint8 labels, format versions 1.0 and 2.0, as NumPy writes them.
 */
@ExtendWith(FuzzWatchdog.class)
class NpyFuzzTest
{
    @FuzzTest(maxDuration = "15s")
    void read(final byte[] bytes)
    {
        DataFilesContract.check("data.npy", bytes, DataFiles::readInputs, DataFiles::readLabels);
    }
}
