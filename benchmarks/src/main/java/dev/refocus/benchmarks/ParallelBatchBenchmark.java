package dev.refocus.benchmarks;

import dev.refocus.DenseNetwork;
import dev.refocus.DensePredictor;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.ParallelBatchPredictor;
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
 * A batch of 64 split over 1 or more threads ({@link ParallelBatchPredictor}); the score is per sample, so the
 * scaling efficiency with t threads is {@code score(1) / (t * score(t))}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx6g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class ParallelBatchBenchmark
{
    static final int BATCH = NativeBenchmark.BATCH;

    @Param({"M", "L"})
    public String model;

    @Param({"1", "2"})
    public int threads;

    ParallelBatchPredictor predictor;
    Prediction[] outs;
    float[] batch;

    @Setup(Level.Trial)
    public void setUp()
    {
        final DenseNetwork network = BenchmarkModels.network(model);
        predictor = ParallelBatchPredictor.create(network, RefocusConfig.builder(NativeBenchmark.ETA).build(),
            DensePredictor.Mode.IMPLICIT, BATCH, threads, task -> {
                final Thread thread = new Thread(task, "refocus-benchmark-worker");
                thread.setDaemon(true);
                return thread;
            });
        outs = new Prediction[BATCH];
        for (int i = 0; i < BATCH; i++)
        {
            outs[i] = predictor.newPrediction();
        }
        batch = BenchmarkModels.inputs(model, BATCH);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        predictor.close();
    }

    /** 64 certain samples: the plain pass and the margin check. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int certainBatch64()
    {
        predictor.predict(batch, BATCH, NativeBenchmark.ETA, 0.0f, outs);
        return outs[BATCH - 1].finalClass();
    }

    /** 64 uncertain samples. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int uncertainBatch64()
    {
        predictor.predict(batch, BATCH, NativeBenchmark.ETA, 1.0f, outs);
        return outs[BATCH - 1].finalClass();
    }
}
