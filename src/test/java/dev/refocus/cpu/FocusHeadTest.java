package dev.refocus.cpu;

import dev.refocus.Method;
import dev.refocus.RefocusConfig;
import dev.refocus.reference.ReferenceFocusHead;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The native focus head against the plain-Java {@link ReferenceFocusHead} on random logits of every kind:
 * ordinary, tied, huge, tiny and infinite. Focus classes must be identical; margins and gradients agree to
 * float precision (1e-6 absolute plus 1e-5 relative), and decisions agree except where the margin lies within
 * 1e-6 of the threshold.
 */
class FocusHeadTest
{
    private static final float[] SPECIAL = {
        Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE, -Float.MAX_VALUE, 1e30f, -1e30f,
        0.0f, -0.0f, Float.MIN_VALUE};

    /** Logits of one of several kinds, chosen by the seed. */
    private static float[] logits(final Random random, final int classes)
    {
        final float[] z = new float[classes];
        final int kind = random.nextInt(5);
        for (int c = 0; c < classes; c++)
        {
            switch (kind)
            {
                case 0: // ordinary
                    z[c] = (float)random.nextGaussian() * 2.0f;
                    break;
                case 1: // many ties
                    z[c] = random.nextInt(3);
                    break;
                case 2: // huge spread: exp underflows for all but the top
                    z[c] = (float)random.nextGaussian() * 1e4f;
                    break;
                case 3: // special values here and there
                    z[c] = random.nextInt(4) == 0 ? SPECIAL[random.nextInt(SPECIAL.length)]
                        : (float)random.nextGaussian();
                    break;
                default: // close race between a few: the uncertain case
                    z[c] = c < 3 ? 5.0f + (float)random.nextGaussian() * 0.05f : (float)random.nextGaussian();
            }
        }
        return z;
    }

    private static int[] candidates(final Random random, final int classes, final int nFocus)
    {
        final int size = nFocus + 1 + random.nextInt(classes - nFocus);
        final int[] all = new int[classes];
        for (int c = 0; c < classes; c++)
        {
            all[c] = c;
        }
        for (int i = classes - 1; i > 0; i--) // shuffle: candidates come in any order
        {
            final int j = random.nextInt(i + 1);
            final int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        final int[] k = new int[size];
        System.arraycopy(all, 0, k, 0, size);
        return k;
    }

    @ParameterizedTest
    @EnumSource(Method.class)
    void shouldAgreeWithTheReference(final Method method)
    {
        final Random random = new Random(42 + method.ordinal());
        for (int trial = 0; trial < 2000; trial++)
        {
            final int classes = 3 + random.nextInt(trial % 10 == 0 ? 200 : 12);
            final int nFocus = 2 + random.nextInt(Math.min(3, classes - 2));
            final RefocusConfig.Builder builder = RefocusConfig.builder(0.1f).method(method).focusClasses(nFocus);
            if (random.nextBoolean())
            {
                builder.candidates(candidates(random, classes, nFocus));
            }
            final RefocusConfig config = builder.build();
            final float threshold = random.nextInt(4) == 0 ? 1.0f : random.nextFloat();
            final float[] z = logits(random, classes);
            final float[] zNext = logits(random, classes);
            final String where = "trial " + trial + " " + config + " logits " + java.util.Arrays.toString(z);

            try (FocusHead head = new FocusHead(classes, config))
            {
                final ReferenceFocusHead reference = new ReferenceFocusHead(classes, config);
                final double margin = reference.rank(toDouble(z));
                final boolean adapt = head.evaluate(z, threshold);

                for (int i = 0; i < nFocus; i++)
                {
                    assertEquals(reference.focus()[i], head.focusClass(i), where);
                }
                assertEquals(margin, head.margin(), 1e-6, where);
                if (Math.abs(margin - threshold) > 1e-6)
                {
                    assertEquals(margin < threshold, adapt, where);
                }
                final double[] expected = new double[classes];
                final float[] actual = new float[classes];
                if (adapt)
                {
                    reference.logitGrad(toDouble(z), expected);
                    head.copyLogitGradient(actual);
                    assertClose(expected, actual, where);
                }
                // a later step: new logits, the same focus classes
                head.gradient(zNext);
                reference.logitGrad(toDouble(zNext), expected);
                head.copyLogitGradient(actual);
                assertClose(expected, actual, where + " next " + java.util.Arrays.toString(zNext));
            }
        }
    }

    @Test
    void shouldRankTiesByLowerIndexFirst()
    {
        try (FocusHead head = new FocusHead(5, RefocusConfig.builder(0.1f).focusClasses(3).build()))
        {
            assertTrue(head.evaluate(new float[] {1, 3, 2, 3, 3}));
            assertEquals(1, head.focusClass(0));
            assertEquals(3, head.focusClass(1));
            assertEquals(4, head.focusClass(2));
            assertEquals(0.0f, head.margin());
        }
    }

    @Test
    void shouldTreatInfiniteLogitsAsLimits()
    {
        final RefocusConfig config = RefocusConfig.builder(0.1f).method(Method.CROSS_ENTROPY).build();
        try (FocusHead head = new FocusHead(4, config))
        {
            final float inf = Float.POSITIVE_INFINITY;
            // one +inf takes all the mass: certain
            assertFalse(head.evaluate(new float[] {0, inf, 5, -inf}));
            assertEquals(1, head.topClass());
            assertEquals(1.0f, head.margin());
            // two +inf share it: a perfect tie, uncertain, p = (0, 1/2, 1/2, 0)
            assertTrue(head.evaluate(new float[] {0, inf, inf, -inf}));
            final float[] dz = new float[4];
            head.copyLogitGradient(dz);
            assertArrayEquals(new float[] {0, 0, 0, 0}, dz);
            // all -inf: uniform
            assertTrue(head.evaluate(new float[] {-inf, -inf, -inf, -inf}));
            assertEquals(0.0f, head.margin());
            head.copyLogitGradient(dz);
            assertArrayEquals(new float[] {0.25f - 0.5f, 0.25f - 0.5f, 0.25f, 0.25f}, dz);
        }
    }

    @Test
    void shouldRejectNaNAndBadArguments()
    {
        final RefocusConfig config = RefocusConfig.builder(0.1f).build();
        try (FocusHead head = new FocusHead(3, config))
        {
            assertThrows(ArithmeticException.class, () -> head.evaluate(new float[] {0, Float.NaN, 1}));
            assertThrows(IllegalArgumentException.class, () -> head.evaluate(new float[] {0, 1}));
            assertThrows(IllegalArgumentException.class, () -> head.evaluate(new float[] {0, 1, 2}, 1.5f));
            assertThrows(IllegalArgumentException.class, () -> head.evaluate(new float[] {0, 1, 2}, Float.NaN));
            assertThrows(NullPointerException.class, () -> head.evaluate(null));
        }
        final FocusHead closed = new FocusHead(3, config);
        closed.close();
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.evaluate(new float[] {0, 1, 2}));
        assertThrows(IllegalArgumentException.class, () -> new FocusHead(2, config));
        assertThrows(IllegalArgumentException.class,
            () -> new FocusHead(3, config.toBuilder().candidates(0, 1, 7).build()));
    }

    @Test
    void shouldWorkOnCandidatesOnly()
    {
        // class 0 is the largest logit but not a candidate
        final RefocusConfig config = RefocusConfig.builder(0.1f).method(Method.DOFO).candidates(3, 1, 2).build();
        try (FocusHead head = new FocusHead(5, config))
        {
            assertTrue(head.evaluate(new float[] {9, 1, 1.1f, 0.5f, 8}));
            assertEquals(2, head.focusClass(0));
            assertEquals(1, head.focusClass(1));
            final float[] dz = new float[5];
            head.copyLogitGradient(dz);
            assertArrayEquals(new float[] {0, 0, 0, 1, 0}, dz);
        }
    }

    private static double[] toDouble(final float[] z)
    {
        final double[] d = new double[z.length];
        for (int i = 0; i < z.length; i++)
        {
            d[i] = z[i];
        }
        return d;
    }

    private static void assertClose(final double[] expected, final float[] actual, final String where)
    {
        for (int c = 0; c < expected.length; c++)
        {
            final double tolerance = 1e-6 + 1e-5 * Math.abs(expected[c]);
            assertTrue(Math.abs(expected[c] - actual[c]) <= tolerance,
                where + ": dz[" + c + "] reference " + expected[c] + ", native " + actual[c]);
        }
    }
}
