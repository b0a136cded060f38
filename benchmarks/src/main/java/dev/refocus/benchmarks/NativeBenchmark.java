package dev.refocus.benchmarks;

import dev.refocus.DenseNetwork;
import dev.refocus.cpu.NativePredictor;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.reference.ReferencePredictor;
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
 * Per-sample cost of the native CPU backend on the models of docs/DESIGN.md section 5, one thread: the plain forward
 * pass, a certain sample (forward and margin check), an uncertain sample in implicit and in shadow mode, a batch
 * of 64 uncertain samples (per sample), and the plain-Java reference that copies the weights (Algorithm 1
 * literally). The README reports each as a ratio to {@link #plainForward} of the same run. The batch-1 rows take
 * 256 samples in turn ({@link SampleCycle}), the batch rows the first 64 of them.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx6g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class NativeBenchmark
{
    static final float ETA = 0.0205f;
    static final int BATCH = 64;

    @Param({"S", "M", "L"})
    public String model;

    /** How the network stores its weights: {@code -p weights=FLOAT32,BFLOAT16} puts bf16 rows beside float32 ones. */
    @Param({"FLOAT32"})
    public DenseNetwork.WeightFormat weights;

    NativePredictor implicit;
    NativePredictor shadow;
    ReferencePredictor reference;
    Prediction out;
    Prediction[] outs;
    SampleCycle samples;
    float[] batch;

    @Setup(Level.Trial)
    public void setUp()
    {
        // toWeightFormat drops the float32 network: only the block of the format measured stays
        final DenseNetwork network = BenchmarkModels.network(model).toWeightFormat(weights);
        final RefocusConfig config = RefocusConfig.builder(ETA).build();
        implicit = NativePredictor.create(network, config, NativePredictor.Mode.IMPLICIT, BATCH);
        shadow = NativePredictor.create(network, config, NativePredictor.Mode.SHADOW, 1);
        reference = ReferencePredictor.create(network, config);
        out = implicit.newPrediction();
        outs = new Prediction[BATCH];
        for (int i = 0; i < BATCH; i++)
        {
            outs[i] = implicit.newPrediction();
        }
        samples = new SampleCycle(model);
        batch = BenchmarkModels.inputs(model, BATCH);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        implicit.close();
        shadow.close();
        reference.close();
    }

    @Benchmark
    public int plainForward()
    {
        implicit.forward(samples.next(), out);
        return out.finalClass();
    }

    /** Margin threshold 0: the sample is certain. */
    @Benchmark
    public int certain()
    {
        implicit.predict(samples.next(), ETA, 0.0f, out);
        return out.finalClass();
    }

    /** Margin threshold 1: the sample adapts. */
    @Benchmark
    public int uncertainImplicit()
    {
        implicit.predict(samples.next(), ETA, 1.0f, out);
        return out.finalClass();
    }

    @Benchmark
    public int uncertainShadow()
    {
        shadow.predict(samples.next(), ETA, 1.0f, out);
        return out.finalClass();
    }

    /** 64 certain samples in one call (the batched plain pass and margin check); the score is per sample. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int certainBatch64()
    {
        implicit.predict(batch, BATCH, ETA, 0.0f, outs);
        return outs[BATCH - 1].finalClass();
    }

    /** 64 uncertain samples in one call; the score is per sample. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int uncertainBatch64()
    {
        implicit.predict(batch, BATCH, ETA, 1.0f, outs);
        return outs[BATCH - 1].finalClass();
    }

    /** The clone-based reference, plain Java in double precision. */
    @Benchmark
    public int uncertainReference()
    {
        reference.predict(samples.next(), ETA, 1.0f, out);
        return out.finalClass();
    }
}
