package dev.refocus;

import java.io.Serializable;
import java.util.Locale;

/**
 * The range a predictor's behaviour must stay in, as tuned on labelled data: over each window of {@link #window()}
 * consecutive predictions, the share of samples that adapted and the share whose answer refocus changed. A window
 * outside it trips the predictor's {@link Guard}: from its next call the predictor answers with plain predictions
 * until {@link Guard#resetBand()}. {@code refocus tune} writes a band into the configuration file it makes.
 * Immutable and thread-safe.
 */
public final class Band implements Serializable
{
    private static final long serialVersionUID = 1L;
    private final int window;
    private final double minAdaptedShare;
    private final double maxAdaptedShare;
    private final double minChangedRate;
    private final double maxChangedRate;

    private Band(final int window, final double minAdaptedShare, final double maxAdaptedShare,
        final double minChangedRate, final double maxChangedRate)
    {
        this.window = window;
        this.minAdaptedShare = minAdaptedShare;
        this.maxAdaptedShare = maxAdaptedShare;
        this.minChangedRate = minChangedRate;
        this.maxChangedRate = maxChangedRate;
    }

    /**
     * @param window          predictions per window, &ge; 1.
     * @param minAdaptedShare the least share of a window's samples that adapt, in [0, 1].
     * @param maxAdaptedShare the most, in [min, 1].
     * @param minChangedRate  the least share of a window's samples whose answer refocus changes, in [0, 1].
     * @param maxChangedRate  the most, in [min, 1].
     * @return the band: a window is in it when both shares are within their bounds (bounds included).
     * @throws IllegalArgumentException for a window below 1 or bounds that are not finite, outside [0, 1] or
     *                                  crossed.
     */
    public static Band of(final int window, final double minAdaptedShare, final double maxAdaptedShare,
        final double minChangedRate, final double maxChangedRate)
    {
        if (window < 1)
        {
            throw new IllegalArgumentException("a band's window must be >= 1 prediction, got " + window);
        }
        checkRange("adapted share", minAdaptedShare, maxAdaptedShare);
        checkRange("changed-answer rate", minChangedRate, maxChangedRate);
        return new Band(window, minAdaptedShare, maxAdaptedShare, minChangedRate, maxChangedRate);
    }

    private static void checkRange(final String what, final double min, final double max)
    {
        if (!(min >= 0.0 && min <= max && max <= 1.0))
        {
            throw new IllegalArgumentException("a band's " + what + " must be a range within [0, 1], got " + min
                + ".." + max);
        }
    }

    /** @return predictions per window. */
    public int window()
    {
        return window;
    }

    /** @return the least share of a window's samples that adapt. */
    public double minAdaptedShare()
    {
        return minAdaptedShare;
    }

    /** @return the most share of a window's samples that adapt. */
    public double maxAdaptedShare()
    {
        return maxAdaptedShare;
    }

    /** @return the least share of a window's samples whose answer changes. */
    public double minChangedRate()
    {
        return minChangedRate;
    }

    /** @return the most share of a window's samples whose answer changes. */
    public double maxChangedRate()
    {
        return maxChangedRate;
    }

    /**
     * @param adapted samples of a full window that adapted.
     * @param changed samples of it whose answer changed.
     * @return whether the window is in the band.
     */
    boolean contains(final int adapted, final int changed)
    {
        final double share = (double)adapted / window;
        final double rate = (double)changed / window;
        return share >= minAdaptedShare && share <= maxAdaptedShare && rate >= minChangedRate
            && rate <= maxChangedRate;
    }

    /** @return the text form of {@link RefocusConfig}'s range keys, {@code min..max}. */
    static String range(final double min, final double max)
    {
        return Double.toString(min) + ".." + Double.toString(max);
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof Band that && window == that.window
            && Double.compare(minAdaptedShare, that.minAdaptedShare) == 0
            && Double.compare(maxAdaptedShare, that.maxAdaptedShare) == 0
            && Double.compare(minChangedRate, that.minChangedRate) == 0
            && Double.compare(maxChangedRate, that.maxChangedRate) == 0;
    }

    @Override
    public int hashCode()
    {
        int h = window;
        h = 31 * h + Double.hashCode(minAdaptedShare);
        h = 31 * h + Double.hashCode(maxAdaptedShare);
        h = 31 * h + Double.hashCode(minChangedRate);
        return 31 * h + Double.hashCode(maxChangedRate);
    }

    /** @return e.g. {@code Band[window=1000, adapted 0.03..0.08, changed 0.0..0.01]}. */
    @Override
    public String toString()
    {
        return String.format(Locale.ROOT, "Band[window=%d, adapted %s, changed %s]", window,
            range(minAdaptedShare, maxAdaptedShare), range(minChangedRate, maxChangedRate));
    }
}
