package dev.refocus.latency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.refocus.Prediction;
import dev.refocus.cpu.NativePredictor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SamplePoolsTest
{
    private static final SamplePools POOLS = SamplePools.classify(ExampleModel.NETWORK, ExampleModel.CONFIG,
        ExampleModel.SAMPLES);

    @Test
    void shouldSortEverySampleByItsPlainMarginAgainstD()
    {
        assertEquals(ExampleModel.SAMPLES.length, POOLS.certain().length + POOLS.uncertain().length);
        assertEquals(151, POOLS.uncertain().length, "the example's uncertain samples at d = 0.16 (its README)");
        try (NativePredictor predictor = NativePredictor.create(ExampleModel.NETWORK, ExampleModel.CONFIG))
        {
            final Prediction out = predictor.newPrediction();
            for (final float[] x : POOLS.uncertain())
            {
                predictor.predict(x, out);
                assertTrue(out.adapted() && out.margin() < 0.16f, "an uncertain sample is adapted: " + out);
            }
            for (final float[] x : POOLS.certain())
            {
                predictor.predict(x, out);
                assertTrue(!out.adapted() && out.margin() >= 0.16f, "a certain sample is not: " + out);
            }
        }
    }

    @Test
    void shouldMixThePoolsInTheShareAsked()
    {
        for (final double share : new double[] {0, 0.05, 0.2, 1})
        {
            final float[][] mix = POOLS.mix(20_000, share, 3);
            final long uncertain = Arrays.stream(mix).filter(x -> Arrays.asList(POOLS.uncertain()).contains(x)).count();
            assertEquals(share, uncertain / 20_000.0, 0.01, "share of uncertain samples in the mix");
        }
        assertThrows(IllegalArgumentException.class, () -> POOLS.mix(10, 1.5, 3));
    }

    @Test
    void shouldReadTheExampleImagesAsPixelsOver255()
    {
        assertEquals(3000, ExampleModel.SAMPLES.length);
        assertEquals(784, ExampleModel.SAMPLES[0].length);
        for (final float[] image : ExampleModel.SAMPLES)
        {
            for (final float p : image)
            {
                assertTrue(p >= 0 && p <= 1, "pixel/255: " + p);
            }
        }
    }

    @Test
    void shouldRefuseWhatIsNotAnIdxImageFile(@TempDir final Path dir) throws IOException
    {
        final Path notIdx = Files.write(dir.resolve("x.idx"), new byte[] {0, 0, 8, 1, 0, 0, 0, 1});
        assertTrue(assertThrows(IOException.class, () -> SamplePools.idxImages(notIdx)).getMessage()
            .contains("not an IDX file of unsigned-byte images"));
        final Path truncated = Files.write(dir.resolve("t.idx"), new byte[] {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0,
            0, 2, 1, 2, 3, 4, 5});
        assertTrue(assertThrows(IOException.class, () -> SamplePools.idxImages(truncated)).getMessage()
            .contains("truncated"));
        final Path huge = Files.write(dir.resolve("h.idx"), new byte[] {0, 0, 8, 3, 127, 0, 0, 0, 0, 0, 0, 2, 0, 0,
            0, 2});
        assertTrue(assertThrows(IOException.class, () -> SamplePools.idxImages(huge)).getMessage()
            .contains("claims 2130706432 images"));
    }
}
