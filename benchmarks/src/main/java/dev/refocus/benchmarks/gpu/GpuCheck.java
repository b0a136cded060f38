package dev.refocus.benchmarks.gpu;

import dev.refocus.DenseNetwork;
import dev.refocus.DensePredictor;
import dev.refocus.DensePredictor.Mode;
import dev.refocus.Method;
import dev.refocus.ParameterSubset;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.benchmarks.BenchmarkModels;
import dev.refocus.cpu.NativePredictor;
import dev.refocus.cuda.CudaNetwork;
import dev.refocus.cuda.CudaPredictor;
import dev.refocus.internal.bindings.cuda.CudaNative;
import org.bytedeco.javacpp.PointerPointer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * The Java part of {@code benchmarks/gpu/gpu-check.sh}: the CUDA backend end to end from Java, on the machine with
 * a GPU, through a runtime made with jlink (there is no Maven there). In one run:
 * <ol>
 * <li>agreement: {@link CudaPredictor} against {@link NativePredictor} (the CPU step) on random networks, shapes and
 * options (method, mode, T, n_f, clipping, parameter subset, candidates, batch), fresh random inputs each, at a
 * threshold that makes some samples certain and others not; and samples in device memory
 * ({@link CudaPredictor#predictDevice}) giving the bits the host call gives, its refusals with their messages;</li>
 * <li>latency at batch 1, each call timed from Java: S, M and L of docs/DESIGN.md, plain forward, a certain sample
 * (d = 0), an uncertain one (d = 1), and an uncertain one from device memory; median and p99 in µs;</li>
 * <li>throughput: {@code predict(batch, n)} at N = 1, 64 and 1024, all uncertain and all certain, in samples/s of
 * the median call.</li>
 * </ol>
 * Prints what it does, and writes tab-separated rows ({@code latency}, {@code throughput}, {@code agreement}) for
 * benchmarks/gpu/report.py. Exit status: 0, 1 when something disagrees, 77 when there is no CUDA device.
 *
 * <p>usage: {@code GpuCheck [--out rows.tsv] [--quick] [--models S,M,L] [--networks 40]}
 */
public final class GpuCheck
{
    private static final int NO_DEVICE = 77;
    private static final double TOL = 1e-4;
    private static final double EPS = 1e-4;
    private static final double MARGIN_TOL = 1e-5;
    private static final double TIE = 2e-4;
    private static final double PLAIN_TIE = 1e-5;
    private static final float ETA = 0.02f;

    private final boolean quick;
    private final List<String> rows = new ArrayList<>();
    private long checks;
    private long failures;
    private long excused;

    private GpuCheck(final boolean quick)
    {
        this.quick = quick;
    }

    public static void main(final String[] args) throws IOException
    {
        Path out = null;
        boolean quick = false;
        String models = "S,M,L";
        int networks = 40;
        for (int i = 0; i < args.length; i++)
        {
            switch (args[i])
            {
                case "--out":
                    out = Path.of(args[++i]);
                    break;
                case "--quick":
                    quick = true;
                    break;
                case "--models":
                    models = args[++i];
                    break;
                case "--networks":
                    networks = Integer.parseInt(args[++i]);
                    break;
                default:
                    System.err.println("usage: GpuCheck [--out rows.tsv] [--quick] [--models S,M,L] [--networks N]");
                    System.exit(2);
            }
        }
        System.out.println("GpuCheck: Java " + Runtime.version() + ", " + System.getProperty("java.home"));
        if (CudaNetwork.deviceCount() == 0)
        {
            System.out.println("GpuCheck: no CUDA device: " + CudaNetwork.unavailableReason());
            System.exit(NO_DEVICE);
        }
        final GpuCheck check = new GpuCheck(quick);
        check.agreement(networks);
        check.deviceCalls();
        for (final String model : models.split(","))
        {
            check.latency(model);
            check.throughput(model);
        }
        check.rows.add("agreement\t" + check.checks + "\t" + check.failures + "\t" + check.excused);
        if (out != null)
        {
            Files.write(out, check.rows, StandardCharsets.UTF_8);
        }
        System.out.printf("GpuCheck: %d checks, %d failed, %d excused (near-ties)%n", check.checks, check.failures,
            check.excused);
        System.exit(check.failures == 0 ? 0 : 1);
    }

    // ---------------------------------------------------------------------------------------------------------
    // agreement

    private void agreement(final int networks)
    {
        final Random random = new Random(20261201);
        for (int i = 0; i < (quick ? Math.min(networks, 6) : networks); i++)
        {
            final int layers = 1 + random.nextInt(4);
            final int[] sizes = new int[layers + 1];
            sizes[0] = 1 + random.nextInt(300);
            for (int l = 1; l < layers; l++)
            {
                sizes[l] = 1 + random.nextInt(700);
            }
            sizes[layers] = 3 + random.nextInt(58);
            final DenseNetwork network = BenchmarkModels.network(sizes, i);
            final RefocusConfig config = randomConfig(random, network);
            final Mode mode = random.nextBoolean() ? Mode.IMPLICIT : Mode.SHADOW;
            final int n = new int[] {1, 7, 64}[random.nextInt(3)];
            final String where = Arrays.toString(sizes) + " " + mode + " batch " + n + " " + config;
            try (CudaNetwork gpu = CudaNetwork.upload(network, 0);
                CudaPredictor cuda = CudaPredictor.create(gpu, config, mode, n);
                NativePredictor cpu = NativePredictor.create(network, config, mode, n))
            {
                compare(random, cuda, cpu, n, where);
            }
        }
        System.out.printf("agreement: %d networks, %d checks so far, %d failed%n", networks, checks, failures);
    }

    private static RefocusConfig randomConfig(final Random random, final DenseNetwork network)
    {
        final int classes = network.classes();
        final RefocusConfig.Builder builder = RefocusConfig.builder(0.05f + 0.95f * random.nextFloat())
            .method(Method.values()[random.nextInt(Method.values().length)])
            .steps(1 + random.nextInt(3))
            .clipNorm(new float[] {1.0f, 0.0f, 0.05f}[random.nextInt(3)]);
        final int layers = network.layers();
        switch (random.nextInt(4))
        {
            case 0:
                builder.parameters(ParameterSubset.all());
                break;
            case 1:
                builder.parameters(ParameterSubset.lastLayers(1 + random.nextInt(layers)));
                break;
            case 2:
                builder.parameters(ParameterSubset.head());
                break;
            default:
                builder.parameters(ParameterSubset.biases());
                break;
        }
        int k = classes;
        if (random.nextBoolean())
        {
            final List<Integer> all = new ArrayList<>();
            for (int c = 0; c < classes; c++)
            {
                all.add(c);
            }
            Collections.shuffle(all, random);
            k = 3 + random.nextInt(classes - 2);
            builder.candidates(all.subList(0, k).stream().mapToInt(Integer::intValue).toArray());
        }
        return builder.focusClasses(2 + random.nextInt(Math.min(3, k - 2))).build();
    }

    /**
     * One batch through both steps: first with d = 0 (the plain logits and margins), then at a threshold between
     * the margins, so that both kinds of sample occur; then from device memory, bit for bit.
     */
    private void compare(final Random random, final CudaPredictor cuda, final NativePredictor cpu, final int n,
        final String where)
    {
        final int in = cuda.inputSize();
        final float[] batch = gaussian(random, n * in);
        final Prediction[] plain = results(cpu, n);
        cpu.predict(batch, n, cuda.config().learningRate(), 0.0f, plain);
        final float[] margins = new float[n];
        for (int i = 0; i < n; i++)
        {
            margins[i] = plain[i].margin();
        }
        Arrays.sort(margins);
        final float d = n == 1 ? 1.0f : Math.min(1.0f, (margins[n / 2 - 1] + margins[n / 2]) / 2);
        final float eta = cuda.config().learningRate();
        final Prediction[] onCpu = results(cpu, n);
        final Prediction[] onGpu = results(cuda, n);
        cpu.predict(batch, n, eta, d, onCpu);
        cuda.predict(batch, n, eta, d, onGpu);
        final int[] candidates = cuda.config().hasCandidates() ? cuda.config().candidates() : null;
        final int focus = cuda.config().focusClasses();
        for (int i = 0; i < n; i++)
        {
            final Prediction g = onGpu[i];
            final Prediction c = onCpu[i];
            final String at = where + " sample " + i;
            expect(Math.abs(g.margin() - c.margin()) <= MARGIN_TOL, at, "margin " + g.margin() + " vs " + c.margin());
            final int[] ranked = ranked(plain[i].logits(), candidates);
            final float[] z = plain[i].logits();
            if (Math.abs(c.margin() - d) <= MARGIN_TOL || near(z[ranked[0]], z[ranked[1]], PLAIN_TIE)
                || near(z[ranked[focus - 1]], z[ranked[focus]], PLAIN_TIE))
            {
                excused++;
                continue;
            }
            expect(g.adapted() == c.adapted() && g.fellBack() == c.fellBack(), at, "decision " + g + " vs " + c);
            expect(g.initialClass() == c.initialClass(), at, "initial class " + g + " vs " + c);
            if (g.adapted() != c.adapted())
            {
                continue;
            }
            for (int k = 0; k < c.classes(); k++)
            {
                final double ref = c.logit(k);
                if (!(Math.abs(g.logit(k) - ref) <= TOL + EPS * Math.abs(ref)))
                {
                    expect(false, at, "logit " + k + " " + g.logit(k) + " vs " + ref);
                    break;
                }
            }
            final int[] best = ranked(c.logits(), candidates);
            if (!near(c.logit(best[0]), c.logit(best[1]), TIE))
            {
                expect(g.finalClass() == c.finalClass(), at, "final class " + g + " vs " + c);
            }
        }

        // the same samples from device memory: the same bits
        final Prediction[] fromDevice = results(cuda, n);
        final long samples = deviceCopy(batch);
        try
        {
            cuda.predictDevice(samples, 0, n, eta, d, fromDevice);
        }
        finally
        {
            CudaNative.refocus_cuda_buffer_free(samples);
        }
        for (int i = 0; i < n; i++)
        {
            expect(Arrays.equals(onGpu[i].logits(), fromDevice[i].logits())
                && onGpu[i].toString().equals(fromDevice[i].toString()), where + " sample " + i,
                "device " + fromDevice[i] + " vs host " + onGpu[i]);
        }
    }

    /** The device call's refusals, as a caller sees them. */
    private void deviceCalls()
    {
        final DenseNetwork network = BenchmarkModels.network(new int[] {24, 40, 6}, 3);
        final RefocusConfig config = RefocusConfig.builder(ETA).marginThreshold(1.0f).build();
        final float[] batch = gaussian(new Random(4), 4 * 24);
        batch[24 + 5] = Float.NaN;
        final long samples = deviceCopy(batch);
        try (CudaNetwork gpu = CudaNetwork.upload(network, 0);
            CudaPredictor cuda = CudaPredictor.create(gpu, config, Mode.IMPLICIT, 4))
        {
            final Prediction out = cuda.newPrediction();
            cuda.predictDevice(samples, 0, out);
            expect(out.adapted(), "device call", "sample 0 adapts at d = 1: " + out);
            expectRefusal(() -> cuda.predictDevice(samples, 0, 4, results(cuda, 4)),
                "input[29] is NaN; inputs must be finite");
            expectRefusal(() -> cuda.predictDevice(samples + 4, 0, 4, results(cuda, 4)),
                "run past the end of their allocation");
            expectRefusal(() -> cuda.predictDevice(samples + 2, 0, out), "is not aligned to a float");
            expectRefusal(() -> cuda.predictDevice(0, 0, out), "the device pointer is null (0)");
        }
        finally
        {
            CudaNative.refocus_cuda_buffer_free(samples);
        }
    }

    private void expectRefusal(final Runnable call, final String message)
    {
        try
        {
            call.run();
            expect(false, "device call", "no exception; expected one saying \"" + message + "\"");
        }
        catch (final IllegalArgumentException e)
        {
            expect(e.getMessage().contains(message), "device call", "message \"" + e.getMessage() + "\"");
        }
    }

    private void expect(final boolean ok, final String where, final String what)
    {
        checks++;
        if (!ok)
        {
            failures++;
            if (failures <= 20)
            {
                System.out.println("FAILED " + where + ": " + what);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // timing

    /** Batch 1 from Java: plain, certain, uncertain, uncertain from device memory. */
    private void latency(final String model)
    {
        final DenseNetwork network = BenchmarkModels.network(model);
        final int in = network.inputSize();
        final int inputs = 16; // rotated, so that no call reads what the last one just read
        final float[] x = BenchmarkModels.inputs(model, inputs);
        final float[][] samples = new float[inputs][];
        for (int i = 0; i < inputs; i++)
        {
            samples[i] = Arrays.copyOfRange(x, i * in, (i + 1) * in);
        }
        final int calls = quick ? 100 : "L".equals(model) ? 2000 : 10000;
        final long onDevice = deviceCopy(x);
        try (CudaNetwork gpu = CudaNetwork.upload(network, 0);
            CudaPredictor certain = CudaPredictor.create(gpu,
                RefocusConfig.builder(ETA).marginThreshold(0.0f).build());
            CudaPredictor uncertain = CudaPredictor.create(gpu,
                RefocusConfig.builder(ETA).marginThreshold(1.0f).build()))
        {
            final Prediction out = certain.newPrediction();
            report(model, "plain", calls, i -> certain.forward(samples[i % inputs], out));
            report(model, "certain", calls, i -> certain.predict(samples[i % inputs], out));
            report(model, "uncertain", calls, i -> uncertain.predict(samples[i % inputs], out));
            expect(out.adapted(), model, "d = 1 adapts: " + out);
            report(model, "uncertain-device", calls,
                i -> uncertain.predictDevice(onDevice + 4L * in * (i % inputs), 0, out));
        }
        finally
        {
            CudaNative.refocus_cuda_buffer_free(onDevice);
        }
    }

    /** Batches of 1, 64 and 1024 samples, all uncertain (d = 1) and all certain (d = 0). */
    private void throughput(final String model)
    {
        final DenseNetwork network = BenchmarkModels.network(model);
        final int max = 1024;
        final float[] batch = BenchmarkModels.inputs(model, max);
        try (CudaNetwork gpu = CudaNetwork.upload(network, 0);
            CudaPredictor predictor = CudaPredictor.create(gpu, RefocusConfig.builder(ETA).build(), Mode.IMPLICIT,
                max))
        {
            final Prediction[] out = results(predictor, max);
            for (final int n : new int[] {1, 64, 1024})
            {
                for (final float d : new float[] {1.0f, 0.0f})
                {
                    final int budget = "L".equals(model) ? 15_000 : 300_000; // samples per measurement
                    final int calls = quick ? 3 : Math.max(20, Math.min(3000, budget / n));
                    final long[] times = time(calls, i -> predictor.predict(batch, n, ETA, d, out));
                    final double median = times[times.length / 2] / 1e3;
                    final double perSecond = n / (median * 1e-6);
                    final String kind = d == 1.0f ? "uncertain" : "certain";
                    System.out.printf("%s throughput %-9s N=%4d: %12.0f samples/s (median call %.1f us)%n", model,
                        kind, n, perSecond, median);
                    rows.add(String.format("throughput\t%s\t%s\t%d\t%.1f\t%.2f", model, kind, n, perSecond, median));
                }
            }
        }
    }

    private void report(final String model, final String kind, final int calls, final Call call)
    {
        final long[] times = time(calls, call);
        final double median = times[times.length / 2] / 1e3;
        final double p99 = times[(int)(times.length * 0.99)] / 1e3;
        System.out.printf("%s %-16s batch 1: median %9.2f us, p99 %9.2f us (%d calls)%n", model, kind, median, p99,
            calls);
        rows.add(String.format("latency\t%s\t%s\t%.2f\t%.2f\t%d", model, kind, median, p99, calls));
    }

    /** @return each call's time in ns, sorted; after as many calls again to warm up (JIT, caches, clocks). */
    private static long[] time(final int calls, final Call call)
    {
        for (int i = 0; i < calls; i++)
        {
            call.run(i);
        }
        final long[] times = new long[calls];
        for (int i = 0; i < calls; i++)
        {
            final long start = System.nanoTime();
            call.run(i);
            times[i] = System.nanoTime() - start;
        }
        Arrays.sort(times);
        return times;
    }

    @FunctionalInterface
    private interface Call
    {
        void run(int i);
    }

    // ---------------------------------------------------------------------------------------------------------
    // helpers

    /** @return the address of a device copy of {@code values}; free it with refocus_cuda_buffer_free. */
    private static long deviceCopy(final float[] values)
    {
        try (PointerPointer<?> slot = new PointerPointer<>(1))
        {
            final int rc = CudaNative.refocus_cuda_buffer_alloc(0, 4L * values.length, slot);
            final long address = CudaNative.handle(slot);
            if (rc != 0 || CudaNative.refocus_cuda_buffer_write(address, 0, values, values.length) != 0)
            {
                CudaNative.refocus_cuda_buffer_free(address);
                throw new IllegalStateException("device buffer: " + CudaNative.refocus_cuda_last_error());
            }
            return address;
        }
    }

    private static int[] ranked(final float[] z, final int[] candidates)
    {
        final int[] all = candidates != null ? candidates.clone() : IntStream.range(0, z.length).toArray();
        return Arrays.stream(all).boxed()
            .sorted((a, b) -> z[a] != z[b] ? Float.compare(z[b], z[a]) : Integer.compare(a, b))
            .mapToInt(Integer::intValue).toArray();
    }

    private static boolean near(final float a, final float b, final double tie)
    {
        return Math.abs((double)a - b) <= tie * (1.0 + Math.abs((double)a));
    }

    private static float[] gaussian(final Random random, final int n)
    {
        final float[] v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)random.nextGaussian();
        }
        return v;
    }

    private static Prediction[] results(final DensePredictor predictor, final int n)
    {
        final Prediction[] out = new Prediction[n];
        for (int i = 0; i < n; i++)
        {
            out[i] = predictor.newPrediction();
        }
        return out;
    }
}
