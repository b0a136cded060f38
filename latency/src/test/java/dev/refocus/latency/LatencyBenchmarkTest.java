package dev.refocus.latency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A grid of two cells, a fraction of a second each: the benchmark's own check, not a measurement. */
class LatencyBenchmarkTest
{
    @Test
    void shouldRecordEveryEventOfEachCellAndWriteItsLogTableAndPlot(@TempDir final Path out) throws Exception
    {
        final LatencyBenchmark.Options options = new LatencyBenchmark.Options(ExampleModel.MODEL, ExampleModel.IMAGES,
            ExampleModel.CONFIG, 2, RefocusPipeline.Waiting.BLOCKING, new double[] {0.5}, new double[] {0, 0.2}, 0.4,
            0.3, out);
        final ByteArrayOutputStream log = new ByteArrayOutputStream();
        final List<LatencyBenchmark.Cell> cells = LatencyBenchmark.run(options, new PrintStream(log, true,
            StandardCharsets.UTF_8));
        assertEquals(2, cells.size());
        for (final LatencyBenchmark.Cell cell : cells)
        {
            final long events = Math.round(cell.rate() * 0.4);
            assertEquals(events, cell.plain().getTotalCount() + cell.adapted().getTotalCount(),
                "every event sent is recorded once, as plain or adapted");
            assertTrue(cell.pause().getTotalCount() > 0, "the pause detector ran");
            final Path hlog = out.resolve(LatencyBenchmark.name(cell) + ".hlog");
            final List<Histogram> read = new ArrayList<>();
            final HistogramLogReader reader = new HistogramLogReader(hlog.toFile());
            for (Histogram h; (h = (Histogram)reader.nextIntervalHistogram()) != null; )
            {
                read.add(h);
            }
            assertEquals(List.of("plain", "adapted", "pause"), read.stream().map(Histogram::getTag).toList());
            assertEquals(cell.plain().getTotalCount(), read.get(0).getTotalCount());
            assertEquals(cell.adapted().getTotalCount(), read.get(1).getTotalCount());
            assertEquals(cell.plain().getMaxValue(), read.get(0).getMaxValue());
        }
        assertEquals(0, cells.get(0).adapted().getTotalCount(), "no uncertain sample: nothing adapted");
        final double adaptedShare = cells.get(1).adapted().getTotalCount()
            / (double)(cells.get(1).adapted().getTotalCount() + cells.get(1).plain().getTotalCount());
        assertTrue(adaptedShare > 0.05 && adaptedShare < 0.4, "about 20 % adapted: " + adaptedShare);
        final String table = Files.readString(out.resolve("latency.md"));
        assertEquals(2 + 3, table.lines().count(), table); // header, rule, plain, plain and adapted
        assertTrue(table.contains("| 20 % | adapted |"), table);
        assertTrue(Files.size(out.resolve("latency.png")) > 10_000, "the plot");
    }
}
