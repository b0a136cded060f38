package dev.refocus.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * ONNX Runtime's forward pass of the same benchmark models ({@link OnnxModels}), one intra-op thread, as a JVM user
 * would run it: input tensors made once over direct buffers, one {@code run} per call, its logits read back. The
 * comparison for {@link NativeBenchmark}'s plain rows (run them in one JMH run), on the same samples
 * ({@link SampleCycle}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx6g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class OnnxRuntimeBenchmark
{
    static final int BATCH = NativeBenchmark.BATCH;

    @Param({"S", "M", "L"})
    public String model;

    OrtEnvironment environment;
    OrtSession session;
    SampleCycle samples;
    final OnnxTensor[] singles = new OnnxTensor[SampleCycle.SAMPLES]; // the samples of SampleCycle, in turn
    OnnxTensor batch;
    final float[] logits = new float[1000 * BATCH];

    @Setup(Level.Trial)
    public void setUp() throws OrtException
    {
        environment = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions())
        {
            options.setIntraOpNumThreads(1); // one thread, as the native rows
            options.setInterOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = environment.createSession(OnnxModels.of(BenchmarkModels.network(model)), options);
        }
        final int in = BenchmarkModels.sizes(model)[0];
        samples = new SampleCycle(model);
        for (int i = 0; i < singles.length; i++)
        {
            singles[i] = OnnxTensor.createTensor(environment, direct(samples.sample(i)), new long[] {1, in});
        }
        batch = OnnxTensor.createTensor(environment, direct(BenchmarkModels.inputs(model, BATCH)),
            new long[] {BATCH, in});
    }

    private static FloatBuffer direct(final float[] values)
    {
        final FloatBuffer buffer = ByteBuffer.allocateDirect(values.length * Float.BYTES).order(ByteOrder.nativeOrder())
            .asFloatBuffer();
        buffer.put(values).flip();
        return buffer;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws OrtException
    {
        for (final OnnxTensor single : singles)
        {
            single.close();
        }
        batch.close();
        session.close();
    }

    /** @return the number of logits read back into {@link #logits}. */
    int run(final OnnxTensor input) throws OrtException
    {
        try (OrtSession.Result result = session.run(Map.of("x", input)))
        {
            final FloatBuffer out = ((OnnxTensor)result.get(0)).getFloatBuffer();
            final int n = out.remaining();
            out.get(logits, 0, n);
            return n;
        }
    }

    @Benchmark
    public int forward() throws OrtException
    {
        return run(singles[samples.nextIndex()]);
    }

    /** 64 samples in one run; the score is per sample. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int forwardBatch64() throws OrtException
    {
        return run(batch);
    }
}
