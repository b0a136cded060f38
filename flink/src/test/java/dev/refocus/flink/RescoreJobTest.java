package dev.refocus.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The example job, end to end on a MiniCluster: a CSV file of samples in, result and bad-record files out. */
class RescoreJobTest
{
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
        new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2)
            .build());

    @Test
    void shouldRescoreAFileOfSamplesAndWriteResultsAndBadRecords(@TempDir final Path dir) throws Exception
    {
        final List<Sample> samples = ExampleData.samples(300);
        final List<String> lines = new ArrayList<>();
        for (final Sample s : samples)
        {
            final StringBuilder line = new StringBuilder(s.id);
            for (final float v : s.features)
            {
                line.append(',').append(v);
            }
            lines.add(line.toString());
        }
        lines.add("bad-number,1,2,x");
        lines.add("bad-length,0.5,0.5");
        final Path input = Files.write(dir.resolve("samples.csv"), lines);
        final StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        RescoreJob.run(env, ExampleData.MODEL, ExampleData.CONFIG, input.toString(), dir.resolve("out").toString(),
            RefocusFunction.BadRecords.SIDE_OUTPUT);

        final Map<String, Scored> expected = ExampleData.alone(samples);
        final Map<String, String> results = new TreeMap<>();
        for (final String line : read(dir.resolve("out/results")))
        {
            results.put(line.substring(0, line.indexOf(',')), line);
        }
        assertEquals(expected.keySet(), results.keySet(), "one result line per sample");
        for (final Scored want : expected.values())
        {
            assertEquals(want.toCsv(), results.get(want.id));
        }
        assertEquals(List.of("bad-length: input has 2 features, the model takes 784",
            "bad-number: value 3 is not a number: 'x'"), read(dir.resolve("out/bad-records")));
    }

    /** @return the lines of every file under {@code dir}, sorted. */
    private static List<String> read(final Path dir) throws IOException
    {
        final List<String> lines = new ArrayList<>();
        try (Stream<Path> files = Files.walk(dir))
        {
            for (final Path f : files.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString()
                .startsWith(".")).collect(Collectors.toList()))
            {
                lines.addAll(Files.readAllLines(f));
            }
        }
        lines.sort(null);
        assertTrue(!lines.isEmpty() || Files.isDirectory(dir), "output in " + dir);
        return lines;
    }
}
