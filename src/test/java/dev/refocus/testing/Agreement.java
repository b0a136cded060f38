package dev.refocus.testing;

import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * When a float backend agrees with the reference (double precision, a weight copy per sample):
 * <ul>
 * <li>margins within 1e-5;</li>
 * <li>the adapt decision identical unless the margin is within 1e-5 of d (then nothing else is compared: either
 *     decision is right);</li>
 * <li>the initial class identical unless the margin is within 1e-5 of 0 (a tie of the plain logits);</li>
 * <li>whether the sample fell back identical;</li>
 * <li>logits within 1e-4 (1 + |z|), and non-finite ones (outside the candidates, or plain ones) identical;</li>
 * <li>final classes identical unless the reference's best candidate is within 2e-4 (1 + |z|) of another
 *     candidate: a near tie that rounding may break either way.</li>
 * </ul>
 */
public final class Agreement
{
    private Agreement()
    {
    }

    /**
     * @param expected  the reference's prediction.
     * @param actual    the float backend's.
     * @param config    the configuration both used (its candidates).
     * @param threshold the margin threshold d of the call.
     * @param where     what the failure message starts with.
     */
    public static void assertAgree(final Prediction expected, final Prediction actual, final RefocusConfig config,
        final float threshold, final String where)
    {
        assertEquals(expected.margin(), actual.margin(), 1e-5, where);
        if (Math.abs(expected.margin() - threshold) <= 1e-5)
        {
            return; // on the edge: either decision is right
        }
        assertEquals(expected.adapted(), actual.adapted(), where);
        if (expected.margin() > 1e-5)
        {
            assertEquals(expected.initialClass(), actual.initialClass(), where);
        }
        assertEquals(expected.fellBack(), actual.fellBack(), () -> where + ": fell back, expected " + expected
            + ", got " + actual);
        final float[] z = expected.logits();
        for (int c = 0; c < z.length; c++)
        {
            if (Float.isFinite(z[c]))
            {
                assertEquals(z[c], actual.logit(c), 1e-4 * (1 + Math.abs(z[c])), where + " logit " + c);
            }
            else
            {
                assertEquals(z[c], actual.logit(c), where + " logit " + c); // the same infinity, or NaN
            }
        }
        if (!nearTie(z, config, expected.finalClass()))
        {
            assertEquals(expected.finalClass(), actual.finalClass(), where);
        }
    }

    /** @return whether a candidate other than {@code best} is within 2e-4 (1 + |z_best|) of it. */
    public static boolean nearTie(final float[] z, final RefocusConfig config, final int best)
    {
        final int[] candidates = config.hasCandidates() ? config.candidates() : null;
        for (int c = 0; c < z.length; c++)
        {
            final boolean candidate = candidates == null || contains(candidates, c);
            if (candidate && c != best && z[best] - z[c] <= 2e-4 * (1 + Math.abs(z[best])))
            {
                return true;
            }
        }
        return false;
    }

    private static boolean contains(final int[] values, final int c)
    {
        for (final int v : values)
        {
            if (v == c)
            {
                return true;
            }
        }
        return false;
    }
}
