package dev.refocus.flink;

import dev.refocus.RefocusConfig;
import java.io.IOException;
import java.nio.file.Path;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.SimpleStringEncoder;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.connector.file.src.reader.TextLineInputFormat;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The example job: re-scores a file of samples with refocus, as a bounded (batch) job. Input: lines
 * {@code id,v1,...,vn}; output: {@code <out>/results/} with lines {@code id,initialClass,finalClass,adapted,margin}
 * and {@code <out>/bad-records/} with {@code id: reason} for every line that could not be scored.
 *
 * <pre>
 * flink run -c dev.refocus.flink.RescoreJob refocus-flink.jar --model m.safetensors --input samples.csv \
 *     --output out/ --eta 0.65536 [-d 0.16] [--bad side|fail]
 * </pre>
 */
public final class RescoreJob
{
    private RescoreJob()
    {
    }

    /**
     * Builds and runs the job on {@code env}.
     *
     * @param env        the environment (its parallelism is the job's).
     * @param model      the model.
     * @param config     the refocus configuration.
     * @param input      the samples file (or directory of files).
     * @param output     the output directory.
     * @param badRecords where bad records go.
     * @return the job's result.
     * @throws Exception if the job fails.
     */
    public static JobExecutionResult run(final StreamExecutionEnvironment env, final RefocusModel model,
        final RefocusConfig config, final String input, final String output,
        final RefocusFunction.BadRecords badRecords) throws Exception
    {
        env.setRuntimeMode(RuntimeExecutionMode.BATCH);
        final FileSource<String> source = FileSource.forRecordStreamFormat(new TextLineInputFormat(),
            new org.apache.flink.core.fs.Path(input)).build();
        final SingleOutputStreamOperator<Sample> samples = env
            .fromSource(source, WatermarkStrategy.noWatermarks(), "samples")
            .process(new CsvSamples()).name("parse");
        final SingleOutputStreamOperator<Scored> scored = samples
            .process(new RefocusFunction(model, config, badRecords)).name("refocus");
        scored.map(Scored::toCsv).returns(Types.STRING).sinkTo(lines(output, "results")).name("results");
        final DataStream<BadRecord> bad = samples.getSideOutput(RefocusFunction.BAD_RECORDS)
            .union(scored.getSideOutput(RefocusFunction.BAD_RECORDS));
        bad.map(BadRecord::toString).returns(Types.STRING).sinkTo(lines(output, "bad-records")).name("bad records");
        return env.execute("refocus: re-score " + input);
    }

    private static FileSink<String> lines(final String output, final String dir)
    {
        return FileSink.forRowFormat(new org.apache.flink.core.fs.Path(output, dir),
            new SimpleStringEncoder<String>("UTF-8")).build();
    }

    /**
     * @param args {@code --model m.safetensors --input samples.csv --output out/ --eta 0.65536 [-d 0.16]
     *             [--bad side|fail]}
     * @throws Exception if the job fails.
     */
    public static void main(final String[] args) throws Exception
    {
        String model = null;
        String input = null;
        String output = null;
        Float eta = null;
        float d = 0.16f;
        RefocusFunction.BadRecords bad = RefocusFunction.BadRecords.SIDE_OUTPUT;
        for (int i = 0; i + 1 < args.length; i += 2)
        {
            switch (args[i])
            {
                case "--model" -> model = args[i + 1];
                case "--input" -> input = args[i + 1];
                case "--output" -> output = args[i + 1];
                case "--eta" -> eta = Float.parseFloat(args[i + 1]);
                case "-d" -> d = Float.parseFloat(args[i + 1]);
                case "--bad" -> bad = "fail".equals(args[i + 1]) ? RefocusFunction.BadRecords.FAIL
                    : RefocusFunction.BadRecords.SIDE_OUTPUT;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (model == null || input == null || output == null || eta == null || args.length % 2 != 0)
        {
            throw new IllegalArgumentException("usage: RescoreJob --model m.safetensors --input samples.csv "
                + "--output out/ --eta 0.65536 [-d 0.16] [--bad side|fail]");
        }
        run(StreamExecutionEnvironment.getExecutionEnvironment(), loadModel(model),
            RefocusConfig.builder(eta).marginThreshold(d).build(), input, output, bad);
    }

    private static RefocusModel loadModel(final String file) throws IOException
    {
        return RefocusModel.load(Path.of(file));
    }
}
