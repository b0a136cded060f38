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
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * One uncertain sample at T steps, implicit against shadow mode, up to {@link NativePredictor#MAX_IMPLICIT_STEPS}:
 * implicit mode's rank-one terms grow with every step (step k applies k of them per layer, O(T&sup2;) in all), shadow
 * mode's cost is linear in T. Measured before the cap (interleaved timing, one thread), shadow mode catches up at
 * T = 24 on S and T = 256 on M; this benchmark shows where S crosses and how close M gets.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx2g")
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class StepsBenchmark
{
    @Param({"S", "M"})
    public String model;

    @Param({"1", "8", "16", "32", "64"})
    public int steps;

    NativePredictor implicit;
    NativePredictor shadow;
    Prediction out;
    SampleCycle samples;

    @Setup(Level.Trial)
    public void setUp()
    {
        final DenseNetwork network = BenchmarkModels.network(model);
        final RefocusConfig config = RefocusConfig.builder(NativeBenchmark.ETA).steps(steps).build();
        implicit = NativePredictor.create(network, config, NativePredictor.Mode.IMPLICIT, 1);
        shadow = NativePredictor.create(network, config, NativePredictor.Mode.SHADOW, 1);
        out = implicit.newPrediction();
        samples = new SampleCycle(model);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        implicit.close();
        shadow.close();
    }

    /** Margin threshold 1: the sample adapts. */
    @Benchmark
    public int implicit()
    {
        implicit.predict(samples.next(), NativeBenchmark.ETA, 1.0f, out);
        return out.finalClass();
    }

    @Benchmark
    public int shadow()
    {
        shadow.predict(samples.next(), NativeBenchmark.ETA, 1.0f, out);
        return out.finalClass();
    }
}
