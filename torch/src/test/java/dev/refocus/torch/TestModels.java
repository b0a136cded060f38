package dev.refocus.torch;

import dev.refocus.Prediction;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The TorchScript files made by torch/src/test/resources/dev/refocus/torch/make_models.py, and shared assertions. */
final class TestModels
{
    /** Input shape of cnn.pt. */
    static final long[] CNN_INPUT = {1, 1, 8, 8};

    private TestModels()
    {
    }

    /** @param name a file name, e.g. {@code mlp-relu.pt}. @return its path among the test resources. */
    static Path path(final String name)
    {
        try
        {
            return Path.of(TestModels.class.getResource("/dev/refocus/torch/" + name).toURI());
        }
        catch (final URISyntaxException e)
        {
            throw new IllegalStateException(e);
        }
    }

    /** @return n values ~ N(0, 1). */
    static float[] gaussian(final Random random, final int n)
    {
        final float[] v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)random.nextGaussian();
        }
        return v;
    }

    /**
     * Same decision and answer; margin and logits within {@code absolute + relative * |expected|}.
     */
    static void assertSamePrediction(final Prediction expected, final Prediction actual, final float absolute,
        final float relative, final String where)
    {
        assertEquals(expected.adapted(), actual.adapted(), () -> where + ": adapted");
        assertEquals(expected.initialClass(), actual.initialClass(), () -> where + ": initial class");
        assertEquals(expected.finalClass(), actual.finalClass(), () -> where + ": final class, expected "
            + expected + ", got " + actual);
        assertEquals(expected.margin(), actual.margin(), absolute + relative * Math.abs(expected.margin()),
            () -> where + ": margin");
        for (int c = 0; c < expected.classes(); c++)
        {
            final float e = expected.logit(c);
            final float a = actual.logit(c);
            final int cls = c;
            assertTrue(Math.abs(e - a) <= absolute + relative * Math.abs(e),
                () -> where + ": logit " + cls + " expected " + e + ", got " + a + " (expected " + expected
                    + ", got " + actual + ")");
        }
    }
}
