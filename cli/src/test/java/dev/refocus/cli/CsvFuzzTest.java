package dev.refocus.cli;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.refocus.testing.FuzzWatchdog;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fuzzes the CSV reader of {@link DataFiles}: any bytes as a samples file and as a labels file, held to
 * {@link DataFilesContract}. Seeds in {@code CsvFuzzTestInputs/read}: samples with a header line, labels, numbers in
 * every form Java reads.
 */
@ExtendWith(FuzzWatchdog.class)
class CsvFuzzTest
{
    @FuzzTest(maxDuration = "10s")
    void read(final byte[] bytes)
    {
        DataFilesContract.check("data.csv", bytes, DataFiles::readInputs, DataFiles::readLabels);
    }
}
