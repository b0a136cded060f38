package dev.refocus.benchmarks;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.HeadPredictor;
import dev.refocus.torch.TorchClonePredictor;
import dev.refocus.torch.TorchModel;
import dev.refocus.torch.TorchOptions;
import dev.refocus.torch.TorchPredictor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static dev.refocus.benchmarks.BenchmarkModels.uniform;

/**
 * A CNN on 28 x 28 images (conv 3 x 3 to 8 channels, ReLU, 2 x 2 max pooling: 1568 features; then dense 1568 -> 256,
 * ReLU, 256 -> 10) whose two dense layers adapt: the libtorch backend without and with clones
 * (the dense layers' parameters by name) beside {@link HeadPredictor} (the backbone through libtorch, the head native). Uncertain
 * samples (d = 1), one thread, per sample.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx6g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class HeadBenchmark
{
    static final long[] INPUT = {1, 1, 28, 28};
    static final int FEATURES = 8 * 14 * 14;

    Path dir;
    TorchPredictor backbone;
    TorchPredictor noClone;
    TorchClonePredictor clone;
    HeadPredictor head;
    Prediction out;
    Prediction features;
    float[] input;

    @Setup(Level.Trial)
    public void setUp() throws IOException
    {
        final Random random = new Random(7);
        final float[] kernel = uniform(random, 8 * 9, 1.0f / 3);
        final float[] kernelBias = uniform(random, 8, 1.0f / 3);
        final DenseNetwork dense = DenseNetwork.builder(FEATURES)
            .layer(uniform(random, 256 * FEATURES, (float)(1 / Math.sqrt(FEATURES))), uniform(random, 256, 0.02f),
                Activation.RELU)
            .layer(uniform(random, 10 * 256, 0.01f / 16), new float[10], Activation.IDENTITY) // small: uncertain
            .build();
        dir = Files.createTempDirectory("refocus-head-benchmark");
        TorchScriptFiles.writeCnn(kernel, kernelBias, 3, dense, dir.resolve("backbone.pt"), dir.resolve("full.pt"));
        final RefocusConfig config = RefocusConfig.builder(NativeBenchmark.ETA).marginThreshold(1.0f).build();
        // the module's parameters are k, kb (the convolution) and w0, b0, w1, b1 (the dense layers): one module,
        // so the dense layers are chosen by name
        final TorchOptions denseOnly = TorchOptions.builder().parameterNames("[wb][01]").build();
        final TorchModel full = TorchModel.load(dir.resolve("full.pt"), INPUT);
        backbone = TorchPredictor.create(TorchModel.load(dir.resolve("backbone.pt"), INPUT), config,
            TorchOptions.defaults());
        noClone = TorchPredictor.create(full, config, denseOnly);
        clone = TorchClonePredictor.create(full, config, denseOnly);
        features = backbone.newPrediction();
        head = HeadPredictor.create(28 * 28, (x, f) -> {
            backbone.predict(x, 0.0f, 0.0f, features); // d = 0: the backbone's plain pass, its output
            System.arraycopy(features.logits(), 0, f, 0, f.length);
        }, dense, config);
        out = head.newPrediction();
        input = uniform(random, 28 * 28, 1.0f);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException
    {
        head.close();
        clone.close();
        noClone.close();
        backbone.close();
        for (final String name : new String[] {"backbone.pt", "full.pt"})
        {
            Files.deleteIfExists(dir.resolve(name));
        }
        Files.deleteIfExists(dir);
    }

    /** The backbone alone (libtorch's plain pass): the floor of the native head's row. */
    @Benchmark
    public float backboneForward()
    {
        backbone.predict(input, 0.0f, 0.0f, features);
        return features.logit(0);
    }

    /** The backbone through libtorch, the two dense layers adapted natively. */
    @Benchmark
    public int nativeHead()
    {
        head.predict(input, out);
        return out.finalClass();
    }

    /** The libtorch backend adapting the two dense layers, no clone. */
    @Benchmark
    public int torchNoClone()
    {
        noClone.predict(input, out);
        return out.finalClass();
    }

    /** The paper's way: the model cloned per uncertain sample. */
    @Benchmark
    public int torchClone()
    {
        clone.predict(input, out);
        return out.finalClass();
    }
}
