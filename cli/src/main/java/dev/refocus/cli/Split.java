package dev.refocus.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * How tune keeps selection and report apart: seeded, stratified splits of the labelled samples into a part that
 * selects the setting and a part that reports on it, never sharing a sample. Stratified: each class is shuffled
 * on its own (seeded) and dealt out, so every part holds each class in the proportion of the whole, to within one
 * sample.
 */
final class Split
{
    /**
     * One round: select on {@code tuning}, report on {@code heldOut}. Both sorted, disjoint.
     *
     * @param tuning  indices of the samples that select the setting.
     * @param heldOut indices of the samples it is reported on.
     */
    record Fold(int[] tuning, int[] heldOut)
    {
    }

    private Split()
    {
    }

    /**
     * @param labels   the samples' classes.
     * @param fraction the share held out, in (0, 1).
     * @param seed     the shuffle's seed.
     * @return one fold: {@code round(fraction * n_c)} samples of each class c held out, the others tuning.
     */
    static Fold holdout(final int[] labels, final double fraction, final long seed)
    {
        if (!(fraction > 0.0 && fraction < 1.0))
        {
            throw new IllegalArgumentException("the held-out share must be in (0, 1), got " + fraction);
        }
        final boolean[] held = new boolean[labels.length];
        for (final int[] members : shuffledClasses(labels, seed))
        {
            final int take = (int)Math.round(fraction * members.length);
            for (int i = 0; i < take; i++)
            {
                held[members[i]] = true;
            }
        }
        return fold(held);
    }

    /**
     * @param labels the samples' classes.
     * @param k      the number of folds, 2 to the number of samples.
     * @param seed   the shuffle's seed.
     * @return k folds whose held-out parts partition the samples: each sample is held out exactly once, and each
     * class is dealt round the folds in turn (continuing where the class before stopped, so the folds' sizes
     * differ by at most one).
     */
    static List<Fold> kFold(final int[] labels, final int k, final long seed)
    {
        if (k < 2 || k > labels.length)
        {
            throw new IllegalArgumentException("k-fold needs 2 to " + labels.length + " folds, got " + k);
        }
        final int[] foldOf = new int[labels.length];
        int next = 0;
        for (final int[] members : shuffledClasses(labels, seed))
        {
            for (final int sample : members)
            {
                foldOf[sample] = next;
                next = (next + 1) % k;
            }
        }
        final List<Fold> folds = new ArrayList<>(k);
        for (int f = 0; f < k; f++)
        {
            final boolean[] held = new boolean[labels.length];
            for (int i = 0; i < labels.length; i++)
            {
                held[i] = foldOf[i] == f;
            }
            folds.add(fold(held));
        }
        return folds;
    }

    /** @return each class's sample indices (classes in increasing order), shuffled with one seeded generator. */
    private static List<int[]> shuffledClasses(final int[] labels, final long seed)
    {
        final int classes = Arrays.stream(labels).max().orElse(-1) + 1;
        final int[] counts = new int[classes];
        for (final int y : labels)
        {
            counts[y]++;
        }
        final int[][] members = new int[classes][];
        for (int c = 0; c < classes; c++)
        {
            members[c] = new int[counts[c]];
        }
        final int[] filled = new int[classes];
        for (int i = 0; i < labels.length; i++)
        {
            members[labels[i]][filled[labels[i]]++] = i;
        }
        final Random random = new Random(seed);
        final List<int[]> shuffled = new ArrayList<>(classes);
        for (final int[] m : members)
        {
            for (int i = m.length - 1; i > 0; i--) // Fisher-Yates
            {
                final int j = random.nextInt(i + 1);
                final int t = m[i];
                m[i] = m[j];
                m[j] = t;
            }
            shuffled.add(m);
        }
        return shuffled;
    }

    private static Fold fold(final boolean[] held)
    {
        int count = 0;
        for (final boolean h : held)
        {
            count += h ? 1 : 0;
        }
        final int[] heldOut = new int[count];
        final int[] tuning = new int[held.length - count];
        int h = 0;
        int t = 0;
        for (int i = 0; i < held.length; i++)
        {
            if (held[i])
            {
                heldOut[h++] = i;
            }
            else
            {
                tuning[t++] = i;
            }
        }
        return new Fold(tuning, heldOut);
    }
}
