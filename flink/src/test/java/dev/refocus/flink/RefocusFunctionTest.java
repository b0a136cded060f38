package dev.refocus.flink;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.refocus.cpu.NativePredictor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Jobs on a MiniCluster of one task manager with 2 slots, at parallelism 2. */
class RefocusFunctionTest
{
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
        new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2)
            .build());

    /** Opens and closes per subtask index, and whether each closed subtask's predictor was closed. */
    static final Map<Integer, AtomicInteger> OPENS = new ConcurrentHashMap<>();
    static final Map<Integer, AtomicInteger> CLOSES = new ConcurrentHashMap<>();
    static final Map<Integer, Boolean> PREDICTOR_CLOSED = new ConcurrentHashMap<>();

    /** The adapter, watched: it counts its life cycle per subtask. */
    static final class Watched extends RefocusFunction
    {
        private static final long serialVersionUID = 1L;

        Watched(final BadRecords badRecords)
        {
            super(ExampleData.MODEL, ExampleData.CONFIG, badRecords);
        }

        private int subtask()
        {
            return getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        }

        @Override
        public void open(final OpenContext openContext) throws Exception
        {
            super.open(openContext);
            OPENS.computeIfAbsent(subtask(), k -> new AtomicInteger()).incrementAndGet();
        }

        @Override
        public void close() throws Exception
        {
            final NativePredictor predictor = predictor();
            super.close();
            CLOSES.computeIfAbsent(subtask(), k -> new AtomicInteger()).incrementAndGet();
            PREDICTOR_CLOSED.put(subtask(), predictor != null && predictor.isClosed());
        }
    }

    @BeforeEach
    void resetCounts()
    {
        OPENS.clear();
        CLOSES.clear();
        PREDICTOR_CLOSED.clear();
    }

    private static StreamExecutionEnvironment env(final RuntimeExecutionMode mode)
    {
        final Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        final StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        env.setRuntimeMode(mode);
        return env;
    }

    private static void assertEachSubtaskOpenedAndClosedOnce()
    {
        for (int subtask = 0; subtask < 2; subtask++)
        {
            assertNotNull(OPENS.get(subtask), "subtask " + subtask + " opened");
            assertEquals(1, OPENS.get(subtask).get(), "open() of subtask " + subtask);
            assertNotNull(CLOSES.get(subtask), "subtask " + subtask + " closed");
            assertEquals(1, CLOSES.get(subtask).get(), "close() of subtask " + subtask);
            assertTrue(PREDICTOR_CLOSED.get(subtask), "subtask " + subtask + "'s predictor closed in close()");
        }
        assertEquals(2, OPENS.size(), "two subtasks: " + OPENS.keySet());
        assertEquals(0, SharedNetworks.users(ExampleData.MODEL), "the shared network released by every subtask");
    }

    @ParameterizedTest
    @EnumSource(value = RuntimeExecutionMode.class, names = {"STREAMING", "BATCH"})
    void shouldScoreEverySampleAsOnePredictorOnOneThreadDoesBitForBit(final RuntimeExecutionMode mode)
        throws Exception
    {
        final List<Sample> samples = ExampleData.samples(1000);
        final Map<String, Scored> expected = ExampleData.alone(samples);
        final StreamExecutionEnvironment env = env(mode);
        final SingleOutputStreamOperator<Scored> scored = env.fromData(samples, TypeInformation.of(Sample.class))
            .rebalance() // the source has parallelism 1: spread its records over both subtasks
            .process(new Watched(RefocusFunction.BadRecords.SIDE_OUTPUT))
            .setParallelism(2); // in batch mode, Flink would choose 1 for so few records
        final CloseableIterator<Scored> results = scored.collectAsync();
        final CloseableIterator<BadRecord> bad = scored.getSideOutput(RefocusFunction.BAD_RECORDS).collectAsync();
        env.execute("refocus " + mode);
        final Map<String, Scored> actual = new TreeMap<>();
        results.forEachRemaining(s -> assertEquals(null, actual.put(s.id, s), "sample " + s.id + " scored once"));
        assertTrue(!bad.hasNext(), "no bad record among the example's samples");
        assertEquals(expected.keySet(), actual.keySet(), "every sample scored");
        int adapted = 0;
        for (final Scored want : expected.values())
        {
            final Scored got = actual.get(want.id);
            assertEquals(want.initialClass, got.initialClass, want.id);
            assertEquals(want.finalClass, got.finalClass, want.id);
            assertEquals(want.adapted, got.adapted, want.id);
            assertEquals(want.fellBack, got.fellBack, want.id);
            assertEquals(Float.floatToRawIntBits(want.margin), Float.floatToRawIntBits(got.margin), want.id);
            assertArrayEquals(bits(want.logits), bits(got.logits), "sample " + want.id + ": logits bit for bit");
            adapted += want.adapted ? 1 : 0;
        }
        assertTrue(adapted > 0, "uncertain samples occur and are adapted: " + adapted);
        assertEachSubtaskOpenedAndClosedOnce();
    }

    private static int[] bits(final float[] values)
    {
        final int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++)
        {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }

    private static List<Sample> withBadRecords() throws Exception
    {
        final List<Sample> samples = new ArrayList<>(ExampleData.samples(40));
        final float[] nan = samples.get(3).features.clone();
        nan[7] = Float.NaN;
        final float[] inf = samples.get(4).features.clone();
        inf[0] = Float.NEGATIVE_INFINITY;
        samples.add(new Sample("short", new float[783]));
        samples.add(new Sample("nan", nan));
        samples.add(new Sample("inf", inf));
        samples.add(new Sample("none", null));
        return samples;
    }

    @Test
    void shouldSendBadRecordsToTheSideOutputWithTheirReason() throws Exception
    {
        final StreamExecutionEnvironment env = env(RuntimeExecutionMode.STREAMING);
        final SingleOutputStreamOperator<Scored> scored = env.fromData(withBadRecords(),
                TypeInformation.of(Sample.class))
            .rebalance().process(new Watched(RefocusFunction.BadRecords.SIDE_OUTPUT));
        final CloseableIterator<Scored> results = scored.collectAsync();
        final CloseableIterator<BadRecord> bad = scored.getSideOutput(RefocusFunction.BAD_RECORDS).collectAsync();
        env.execute("refocus, bad records to a side output");
        final Map<String, String> reasons = new TreeMap<>();
        bad.forEachRemaining(b -> reasons.put(b.id, b.reason));
        assertEquals(Map.of(
            "short", "input has 783 features, the model takes 784",
            "nan", "input[7] is NaN; inputs must be finite",
            "inf", "input[0] is -Infinity; inputs must be finite",
            "none", "the sample has no features"), reasons);
        final List<String> scoredIds = new ArrayList<>();
        results.forEachRemaining(s -> scoredIds.add(s.id));
        assertEquals(40, scoredIds.size(), "every good record scored: " + scoredIds);
        assertEachSubtaskOpenedAndClosedOnce();
    }

    @Test
    void shouldFailTheJobOnABadRecordWhenAsked() throws Exception
    {
        final StreamExecutionEnvironment env = env(RuntimeExecutionMode.STREAMING);
        env.fromData(withBadRecords(), TypeInformation.of(Sample.class))
            .rebalance().process(new Watched(RefocusFunction.BadRecords.FAIL)).collectAsync();
        final Exception e = assertThrows(Exception.class, () -> env.execute("refocus, bad records fail"));
        Throwable cause = e;
        while (cause != null && !(cause instanceof IllegalArgumentException))
        {
            cause = cause.getCause();
        }
        assertNotNull(cause, "the job failed for the bad record: " + e);
        assertTrue(cause.getMessage().startsWith("refocus: bad record "), cause.getMessage());
        assertEquals(2, CLOSES.values().stream().mapToInt(AtomicInteger::get).sum(), "close() once per subtask");
        assertEquals(0, SharedNetworks.users(ExampleData.MODEL), "the shared network released after the failure");
    }
}
