package dev.refocus.benchmarks;

import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.reference.ReferencePredictor;
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
 * The plain-Java reference (Algorithm 1 with a full weight copy per uncertain sample), per sample at batch size 1:
 * a certain sample (forward and margin check) and an uncertain one (the whole step). The yardstick that the native
 * backends are compared with.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ReferenceBenchmark
{
    @Param({"S", "M"})
    public String model;

    ReferencePredictor predictor;
    Prediction out;
    float[] input;

    @Setup(Level.Trial)
    public void setUp()
    {
        predictor = new ReferencePredictor(BenchmarkModels.network(model), RefocusConfig.builder(0.0205f).build());
        out = predictor.newPrediction();
        input = BenchmarkModels.input(model);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        predictor.close();
    }

    /** Margin threshold 0: nothing is uncertain. */
    @Benchmark
    public int certain()
    {
        predictor.predict(input, 0.0205f, 0.0f, out);
        return out.finalClass();
    }

    /** Margin threshold 1: the sample adapts. */
    @Benchmark
    public int uncertain()
    {
        predictor.predict(input, 0.0205f, 1.0f, out);
        return out.finalClass();
    }
}
