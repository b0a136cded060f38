package dev.refocus.benchmarks;

import dev.refocus.cpu.FocusHead;
import dev.refocus.RefocusConfig;
import dev.refocus.reference.ReferenceFocusHead;
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

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The focus head on one uncertain logits vector: the native head through JavaCPP (copy in, decide, dL/dz, copy
 * out) against the plain-Java reference. Shows the call overhead at 3 and 10 classes and the work at 1000.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class FocusHeadBenchmark
{
    @Param({"3", "10", "1000"})
    public int classes;

    FocusHead head;
    ReferenceFocusHead reference;
    float[] logits;
    double[] logitsDouble;
    float[] dz;
    double[] dzDouble;

    @Setup(Level.Trial)
    public void setUp()
    {
        final RefocusConfig config = RefocusConfig.builder(0.02f).marginThreshold(1.0f).build();
        head = new FocusHead(classes, config);
        reference = new ReferenceFocusHead(classes, config);
        final Random random = new Random(0);
        logits = new float[classes];
        logitsDouble = new double[classes];
        for (int c = 0; c < classes; c++)
        {
            logits[c] = (float)random.nextGaussian() * 0.01f;
            logitsDouble[c] = logits[c];
        }
        dz = new float[classes];
        dzDouble = new double[classes];
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        head.close();
    }

    @Benchmark
    public float nativeHead()
    {
        head.evaluate(logits);
        head.copyLogitGradient(dz);
        return dz[head.topClass()];
    }

    @Benchmark
    public double referenceHead()
    {
        reference.rank(logitsDouble);
        reference.logitGrad(logitsDouble, dzDouble);
        return dzDouble[reference.top()];
    }
}
