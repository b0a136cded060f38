package dev.refocus.benchmarks;

import dev.refocus.DenseNetwork;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.NativePredictor;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.ref.Reference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * What holding a network costs: builds a benchmark model, serves one prediction with a native predictor, collects
 * the garbage and prints the Java heap in use, the JVM's direct buffers and the process's resident memory (all in
 * MiB), next to the parameter bytes. Run one model per JVM, so that nothing else is resident:
 * {@code java -cp benchmarks/target/benchmarks.jar dev.refocus.benchmarks.LoadFootprint L}; a second argument
 * {@code BFLOAT16} holds the network with bf16 weights (the float32 one it was rounded from is dropped).
 */
public final class LoadFootprint
{
    private static final double MIB = 1 << 20;

    private LoadFootprint()
    {
    }

    public static void main(final String[] args) throws IOException
    {
        final String model = args.length > 0 ? args[0] : "L";
        final DenseNetwork.WeightFormat format = args.length > 1 ? DenseNetwork.WeightFormat.valueOf(args[1])
            : DenseNetwork.WeightFormat.FLOAT32;
        final DenseNetwork network = BenchmarkModels.network(model).toWeightFormat(format);
        try (NativePredictor predictor = NativePredictor.create(network, RefocusConfig.builder(NativeBenchmark.ETA).build()))
        {
            final Prediction out = predictor.newPrediction();
            predictor.predict(BenchmarkModels.input(model), out);
            for (int i = 0; i < 3; i++)
            {
                System.gc();
            }
            final long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            long direct = 0;
            for (final BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class))
            {
                direct += "direct".equals(pool.getName()) ? pool.getMemoryUsed() : 0;
            }
            System.out.printf(Locale.ROOT, "%s %s: parameters %.1f MiB, heap in use %.1f MiB, direct buffers %.1f MiB,"
                    + " resident %.1f MiB%n", model, format, network.parameterBytes() / MIB, heap / MIB, direct / MIB,
                residentBytes() / MIB);
            Reference.reachabilityFence(network);
        }
    }

    /** VmRSS of /proc/self/status, or -1 where there is none. */
    private static long residentBytes() throws IOException
    {
        final Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status))
        {
            return -1;
        }
        for (final String line : Files.readAllLines(status))
        {
            if (line.startsWith("VmRSS:"))
            {
                return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        }
        return -1;
    }
}
