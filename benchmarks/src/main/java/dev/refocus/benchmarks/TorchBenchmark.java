package dev.refocus.benchmarks;

import dev.refocus.DenseNetwork;
import dev.refocus.cpu.NativePredictor;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.torch.TorchClonePredictor;
import dev.refocus.torch.TorchModel;
import dev.refocus.torch.TorchOptions;
import dev.refocus.torch.TorchPredictor;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
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

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Per-sample cost of the libtorch backend on the models of docs/DESIGN.md section 5, CPU, one thread, the same
 * weights as {@link NativeBenchmark} (written to a TorchScript file at set-up): a plain libtorch forward pass (the
 * module called directly, no autograd), a certain sample through {@link TorchPredictor} (its forward pass and the
 * margin check), an uncertain sample without clone ({@link TorchPredictor}) and with the paper's clone
 * ({@link TorchClonePredictor}), and, in the same run, the native backend's plain forward and uncertain sample.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx6g")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class TorchBenchmark
{
    @Param({"S", "M", "L"})
    public String model;

    Path file;
    TorchPredictor noClone;
    TorchClonePredictor clone;
    NativePredictor dense;
    Prediction out;
    SampleCycle samples;
    // the plain libtorch forward pass, on the same samples in turn
    JitModule module;
    final IValueVector[] moduleInputs = new IValueVector[SampleCycle.SAMPLES];
    Tensor logits;
    FloatPointer logitsData;
    float[] plainLogits;

    @Setup(Level.Trial)
    public void setUp() throws IOException
    {
        final DenseNetwork network = BenchmarkModels.network(model);
        file = Files.createTempFile("refocus-benchmark-" + model, ".pt");
        TorchScriptFiles.write(network, file);
        final TorchModel torchModel = TorchModel.load(file, network.inputSize());
        final RefocusConfig config = RefocusConfig.builder(NativeBenchmark.ETA).build();
        noClone = TorchPredictor.create(torchModel, config, TorchOptions.defaults());
        clone = TorchClonePredictor.create(torchModel, config, TorchOptions.defaults());
        dense = NativePredictor.create(network, config);
        out = noClone.newPrediction();
        samples = new SampleCycle(model);

        torch.set_num_threads(1);
        module = torch.load(file.toString());
        module.eval();
        for (int i = 0; i < moduleInputs.length; i++)
        {
            final float[] input = samples.sample(i);
            final Tensor x = torch.from_blob(new FloatPointer(input), 1, input.length).clone();
            moduleInputs[i] = new IValueVector(new IValue(x));
        }
        logits = torch.zeros(1, network.classes());
        logitsData = logits.data_ptr_float().capacity(network.classes());
        plainLogits = new float[network.classes()];
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException
    {
        noClone.close();
        clone.close();
        dense.close();
        Files.deleteIfExists(file);
    }

    /** The module called directly with autograd off, the logits copied to Java: the libtorch floor. */
    @Benchmark
    @SuppressWarnings("try") // the scope frees the call's tensors
    public int torchPlainForward()
    {
        final boolean gradWasEnabled = GradMode.is_enabled();
        GradMode.set_enabled(false);
        try (PointerScope scope = new PointerScope())
        {
            logits.copy_(new Tensor(module.forward(moduleInputs[samples.nextIndex()]).toTensor()));
            logitsData.get(plainLogits);
        }
        finally
        {
            GradMode.set_enabled(gradWasEnabled);
        }
        int best = 0;
        for (int c = 1; c < plainLogits.length; c++)
        {
            best = plainLogits[c] > plainLogits[best] ? c : best;
        }
        return best;
    }

    /** Margin threshold 0: the sample is certain. */
    @Benchmark
    public int torchCertain()
    {
        noClone.predict(samples.next(), NativeBenchmark.ETA, 0.0f, out);
        return out.finalClass();
    }

    /** Margin threshold 1: the sample adapts, on shadow parameters. */
    @Benchmark
    public int torchNoClone()
    {
        noClone.predict(samples.next(), NativeBenchmark.ETA, 1.0f, out);
        return out.finalClass();
    }

    /** The paper's way: a deep copy of the model for the sample. */
    @Benchmark
    public int torchClone()
    {
        clone.predict(samples.next(), NativeBenchmark.ETA, 1.0f, out);
        return out.finalClass();
    }

    @Benchmark
    public int nativePlainForward()
    {
        dense.forward(samples.next(), out);
        return out.finalClass();
    }

    @Benchmark
    public int nativeUncertain()
    {
        dense.predict(samples.next(), NativeBenchmark.ETA, 1.0f, out);
        return out.finalClass();
    }
}
