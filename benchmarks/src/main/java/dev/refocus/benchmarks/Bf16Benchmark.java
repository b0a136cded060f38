package dev.refocus.benchmarks;

import dev.refocus.DenseNetwork;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.NativePredictor;
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

import java.util.concurrent.TimeUnit;

/**
 * bf16 weight storage against float32 on the models where weight traffic matters (M in L3, L in memory), one
 * thread, the native backend in implicit mode: the plain forward pass and an uncertain sample at batch 1, and 64
 * certain or uncertain samples in one call (per sample). The README gives bf16 / float32 of each row from one run.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx6g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class Bf16Benchmark
{
    static final int BATCH = NativeBenchmark.BATCH;

    @Param({"M", "L"})
    public String model;

    @Param({"FLOAT32", "BFLOAT16"})
    public DenseNetwork.WeightFormat weights;

    NativePredictor predictor;
    Prediction out;
    Prediction[] outs;
    float[] input;
    float[] batch;

    @Setup(Level.Trial)
    public void setUp()
    {
        // the float32 network is dropped: only the block of the format measured stays
        final DenseNetwork network = BenchmarkModels.network(model).toWeightFormat(weights);
        predictor = NativePredictor.create(network, RefocusConfig.builder(NativeBenchmark.ETA).build(),
            NativePredictor.Mode.IMPLICIT, BATCH);
        out = predictor.newPrediction();
        outs = new Prediction[BATCH];
        for (int i = 0; i < BATCH; i++)
        {
            outs[i] = predictor.newPrediction();
        }
        input = BenchmarkModels.input(model);
        batch = BenchmarkModels.inputs(model, BATCH);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        predictor.close();
    }

    @Benchmark
    public int plainForward()
    {
        predictor.forward(input, out);
        return out.finalClass();
    }

    /** Margin threshold 1: the sample adapts. */
    @Benchmark
    public int uncertainImplicit()
    {
        predictor.predict(input, NativeBenchmark.ETA, 1.0f, out);
        return out.finalClass();
    }

    /** 64 certain samples in one call; the score is per sample. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int certainBatch64()
    {
        predictor.predict(batch, BATCH, NativeBenchmark.ETA, 0.0f, outs);
        return outs[BATCH - 1].finalClass();
    }

    /** 64 uncertain samples in one call; the score is per sample. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int uncertainBatch64()
    {
        predictor.predict(batch, BATCH, NativeBenchmark.ETA, 1.0f, outs);
        return outs[BATCH - 1].finalClass();
    }
}
