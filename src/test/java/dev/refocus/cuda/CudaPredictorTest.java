package dev.refocus.cuda;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.DensePredictor;
import dev.refocus.DensePredictor.Mode;
import dev.refocus.Method;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.NativePredictor;
import dev.refocus.internal.bindings.RefocusCommonNative;
import dev.refocus.internal.bindings.cuda.CudaNative;
import dev.refocus.testing.RandomNetworks;
import org.bytedeco.javacpp.PointerPointer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA backend from Java. Without a GPU (CI): the library loads, the answer is one clear exception, and the CPU
 * backends are unaffected. With a GPU: the CUDA step agrees with the CPU step (its kernels are checked against it
 * in depth by native/test/test_cuda.cu), and samples already on the device give the bits the pinned inputs give.
 */
class CudaPredictorTest
{
    private static final DenseNetwork NETWORK = RandomNetworks.network(21, Activation.RELU, 0.05f, 24, 40, 33, 6);

    @Test
    void shouldSayWhyThereIsNoDeviceAndLeaveTheCpuBackendsWorking()
    {
        assumeTrue(CudaNetwork.deviceCount() == 0, "a CUDA device is present");
        final CudaUnavailableException e = assertThrows(CudaUnavailableException.class,
            () -> CudaNetwork.upload(NETWORK, 0));
        assertTrue(e.getMessage().startsWith("no CUDA device for refocus: "), e.getMessage());
        assertEquals(e.getMessage(), "no CUDA device for refocus: " + CudaNetwork.unavailableReason());
        try (NativePredictor cpu = NativePredictor.create(NETWORK, RefocusConfig.builder(0.5f).build()))
        {
            final Prediction out = cpu.newPrediction();
            cpu.predict(RandomNetworks.gaussian(new Random(1), 24), out);
            assertTrue(out.finalClass() >= 0 && out.finalClass() < 6);
        }
    }

    @Test
    void shouldLoadItsLibraryWithoutAGpuWhereTheBuildHadNvcc()
    {
        assumeTrue(Files.exists(Path.of("/usr/local/cuda/bin/nvcc")), "this build had no nvcc");
        // the library loaded and the CUDA runtime answered (no device, no driver), rather than a link failure
        final String reason = CudaNetwork.unavailableReason();
        assertTrue(reason == null || reason.startsWith("the CUDA runtime"), reason);
    }

    @Test
    void shouldKeepTheCpuLibraryFreeOfCuda() throws IOException, URISyntaxException
    {
        final Path classes = Path.of(NativePredictor.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        final Path cpu = classes.resolve("dev/refocus/internal/bindings/linux-x86_64/libjnirefocus.so");
        final String bytes = new String(Files.readAllBytes(cpu), StandardCharsets.ISO_8859_1);
        assertFalse(bytes.contains("libcuda"), "libjnirefocus.so names a CUDA library");
        assertFalse(bytes.contains("cudaGetDeviceCount"), "libjnirefocus.so holds CUDA code");
    }

    /** A bf16 network goes up widened: the CUDA step runs the same model as the CPU step on the bf16 block. */
    @Test
    void shouldRunABf16NetworkAsTheCpuStepDoes()
    {
        assumeTrue(CudaNetwork.deviceCount() > 0, "no CUDA device: " + CudaNetwork.unavailableReason());
        final DenseNetwork half = NETWORK.toWeightFormat(DenseNetwork.WeightFormat.BFLOAT16);
        final int n = 37;
        final float[] batch = RandomNetworks.gaussian(new Random(6), n * 24);
        try (CudaNetwork gpu = CudaNetwork.upload(half, 0))
        {
            assertEquals(half, gpu.network());
            for (final Mode mode : Mode.values())
            {
                final RefocusConfig config = RefocusConfig.builder(0.5f).steps(2).marginThreshold(0.3f).build();
                try (CudaPredictor cuda = CudaPredictor.create(gpu, config, mode, 64);
                    NativePredictor cpu = NativePredictor.create(half, config, mode, 64))
                {
                    final Prediction[] onGpu = results(cuda, n);
                    final Prediction[] onCpu = results(cpu, n);
                    cuda.predict(batch, n, onGpu);
                    cpu.predict(batch, n, onCpu);
                    for (int i = 0; i < n; i++)
                    {
                        final String where = mode + " sample " + i;
                        assertEquals(onCpu[i].adapted(), onGpu[i].adapted(), where);
                        assertEquals(onCpu[i].finalClass(), onGpu[i].finalClass(), where);
                        assertArrayEquals(onCpu[i].logits(), onGpu[i].logits(), 1e-4f, where);
                    }
                }
            }
        }
    }

    @Test
    void shouldAgreeWithTheCpuStepOnEveryMethodAndMode()
    {
        assumeTrue(CudaNetwork.deviceCount() > 0, "no CUDA device: " + CudaNetwork.unavailableReason());
        final Random random = new Random(5);
        final int n = 37;
        final float[] batch = RandomNetworks.gaussian(random, n * 24);
        try (CudaNetwork gpu = CudaNetwork.upload(NETWORK, 0))
        {
            for (final Method method : Method.values())
            {
                for (final Mode mode : Mode.values())
                {
                    final RefocusConfig config = RefocusConfig.builder(0.5f).method(method).steps(2)
                        .marginThreshold(0.3f).build();
                    try (CudaPredictor cuda = CudaPredictor.create(gpu, config, mode, 64);
                        NativePredictor cpu = NativePredictor.create(NETWORK, config, mode, 64))
                    {
                        final Prediction[] onGpu = results(cuda, n);
                        final Prediction[] onCpu = results(cpu, n);
                        cuda.predict(batch, n, onGpu);
                        cpu.predict(batch, n, onCpu);
                        final Prediction one = cuda.newPrediction();
                        for (int i = 0; i < n; i++)
                        {
                            final String where = method + " " + mode + " sample " + i;
                            assertEquals(onCpu[i].adapted(), onGpu[i].adapted(), where);
                            assertEquals(onCpu[i].initialClass(), onGpu[i].initialClass(), where);
                            assertEquals(onCpu[i].finalClass(), onGpu[i].finalClass(), where);
                            assertArrayEquals(onCpu[i].logits(), onGpu[i].logits(), 1e-4f, where);
                            // alone or in a batch, the same bits on the GPU too
                            cuda.predict(Arrays.copyOfRange(batch, i * 24, i * 24 + 24), one);
                            assertArrayEquals(onGpu[i].logits(), one.logits(), 0.0f, where);
                        }
                    }
                }
            }
        }
    }

    @Test
    void shouldBindTheDeviceCallAndRefuseWithoutAContextOrADevice()
    {
        assumeTrue(Files.exists(Path.of("/usr/local/cuda/bin/nvcc")), "this build had no nvcc");
        assertEquals(RefocusCommonNative.REFOCUS_ERROR_ARGUMENT,
            CudaNative.refocus_cuda_predict_device(0, 0, 1, 0, 0.5f, 0.5f));
        assertEquals("the context is null", CudaNative.refocus_cuda_last_error());
        assumeTrue(CudaNetwork.deviceCount() == 0, "a CUDA device is present");
        try (PointerPointer<?> slot = new PointerPointer<>(1))
        {
            final int rc = CudaNative.refocus_cuda_buffer_alloc(0, 64, slot);
            assertTrue(rc == RefocusCommonNative.REFOCUS_ERROR_CUDA
                || rc == RefocusCommonNative.REFOCUS_ERROR_ARGUMENT, "rc " + rc);
            assertEquals(0, CudaNative.handle(slot));
        }
    }

    @Test
    void shouldPredictSamplesOnTheDeviceAsFromTheHost()
    {
        assumeTrue(CudaNetwork.deviceCount() > 0, "no CUDA device: " + CudaNetwork.unavailableReason());
        final int n = 9;
        final float[] batch = RandomNetworks.gaussian(new Random(8), n * 24);
        final RefocusConfig config = RefocusConfig.builder(0.5f).steps(2).marginThreshold(0.3f).build();
        try (CudaNetwork gpu = CudaNetwork.upload(NETWORK, 0);
            CudaPredictor cuda = CudaPredictor.create(gpu, config, Mode.IMPLICIT, n);
            PointerPointer<?> slot = new PointerPointer<>(1))
        {
            assertEquals(0, CudaNative.refocus_cuda_buffer_alloc(0, 4L * batch.length, slot));
            final long samples = CudaNative.handle(slot);
            try
            {
                assertEquals(0, CudaNative.refocus_cuda_buffer_write(samples, 0, batch, batch.length));
                final Prediction[] fromHost = results(cuda, n);
                final Prediction[] fromDevice = results(cuda, n);
                cuda.predict(batch, n, fromHost);
                cuda.predictDevice(samples, 0, n, fromDevice);
                final Prediction one = cuda.newPrediction();
                for (int i = 0; i < n; i++)
                {
                    assertEquals(fromHost[i].toString(), fromDevice[i].toString(), "sample " + i);
                    assertArrayEquals(fromHost[i].logits(), fromDevice[i].logits(), 0.0f, "sample " + i);
                    cuda.predictDevice(samples + 4L * 24 * i, 0, one);
                    assertArrayEquals(fromHost[i].logits(), one.logits(), 0.0f, "sample " + i + " alone");
                }

                // a non-finite feature on the device: the host call's exception and message
                final float[] nanValue = {Float.NaN};
                assertEquals(0, CudaNative.refocus_cuda_buffer_write(samples, 4L * (24 + 5), nanValue, 1));
                final IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
                    () -> cuda.predictDevice(samples, 0, n, fromDevice));
                assertTrue(nan.getMessage().endsWith("input[29] is NaN; inputs must be finite"), nan.getMessage());
                cuda.predictDevice(samples, 0, one); // sample 0 is fine, and the predictor goes on

                final IllegalArgumentException past = assertThrows(IllegalArgumentException.class,
                    () -> cuda.predictDevice(samples + 4, 0, n, fromDevice));
                assertTrue(past.getMessage().contains("run past the end of their allocation"), past.getMessage());
            }
            finally
            {
                CudaNative.refocus_cuda_buffer_free(samples);
            }
            final IllegalArgumentException zero = assertThrows(IllegalArgumentException.class,
                () -> cuda.predictDevice(0, 0, cuda.newPrediction()));
            assertEquals("the device pointer is null (0)", zero.getMessage());
            final IllegalArgumentException freed = assertThrows(IllegalArgumentException.class,
                () -> cuda.predictDevice(samples, 0, cuda.newPrediction()));
            assertTrue(freed.getMessage().contains("is no memory the CUDA runtime knows")
                || freed.getMessage().contains("is host memory, not device memory"), freed.getMessage());
            assertThrows(IllegalArgumentException.class,
                () -> cuda.predictDevice(samples, 0, n + 1, results(cuda, n + 1)));
        }
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
