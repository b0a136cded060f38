package dev.refocus.cli;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tune's splits: disjoint, complete, stratified and seeded. */
class SplitTest
{
    /** Unbalanced classes: 0 has 500 samples, 1 has 37, 2 has 3, 3 has 1, shuffled together. */
    private static int[] labels()
    {
        final int[] labels = new int[541];
        Arrays.fill(labels, 0, 500, 0);
        Arrays.fill(labels, 500, 537, 1);
        Arrays.fill(labels, 537, 540, 2);
        labels[540] = 3;
        final Random random = new Random(7);
        for (int i = labels.length - 1; i > 0; i--)
        {
            final int j = random.nextInt(i + 1);
            final int t = labels[i];
            labels[i] = labels[j];
            labels[j] = t;
        }
        return labels;
    }

    @Test
    void shouldNeverUseASampleForBothSelectionAndReport()
    {
        final int[] labels = labels();
        assertPartition(Split.holdout(labels, 0.5, 1), labels.length);
        assertPartition(Split.holdout(labels, 0.2, 99), labels.length);
        final boolean[] heldOnce = new boolean[labels.length];
        for (final Split.Fold fold : Split.kFold(labels, 5, 3))
        {
            assertPartition(fold, labels.length);
            for (final int i : fold.heldOut())
            {
                assertFalse(heldOnce[i], "sample " + i + " held out by two folds");
                heldOnce[i] = true;
            }
        }
        for (int i = 0; i < labels.length; i++)
        {
            assertTrue(heldOnce[i], "sample " + i + " never held out");
        }
    }

    /** Tuning and held-out indices: sorted, within range, disjoint, together every sample. */
    private static void assertPartition(final Split.Fold fold, final int n)
    {
        final int[] seen = new int[n];
        for (final int[] part : List.of(fold.tuning(), fold.heldOut()))
        {
            for (int k = 0; k < part.length; k++)
            {
                assertTrue(k == 0 || part[k - 1] < part[k], "indices sorted and distinct");
                seen[part[k]]++;
            }
        }
        for (int i = 0; i < n; i++)
        {
            assertEquals(1, seen[i], "sample " + i + " in both parts or in none");
        }
    }

    @Test
    void shouldHoldOutEachClassInProportion()
    {
        final int[] labels = labels();
        final Split.Fold fold = Split.holdout(labels, 0.3, 1);
        // round(0.3 * count) of each class: 150 of 500, 11 of 37, 1 of 3, 0 of 1
        assertArrayEquals(new int[] {150, 11, 1, 0}, count(labels, fold.heldOut()));
        assertArrayEquals(new int[] {350, 26, 2, 1}, count(labels, fold.tuning()));
        for (final Split.Fold f : Split.kFold(labels, 4, 1))
        {
            final int[] held = count(labels, f.heldOut());
            // each class dealt round the folds: 500 / 4 = 125 each; 37 / 4 = 9 or 10
            assertEquals(125, held[0]);
            assertTrue(held[1] == 9 || held[1] == 10, Arrays.toString(held));
            assertTrue(f.heldOut().length == 135 || f.heldOut().length == 136, "fold sizes differ by at most one");
        }
    }

    private static int[] count(final int[] labels, final int[] indices)
    {
        final int[] counts = new int[4];
        for (final int i : indices)
        {
            counts[labels[i]]++;
        }
        return counts;
    }

    @Test
    void shouldSplitTheSameWayForTheSameSeedOnly()
    {
        final int[] labels = labels();
        assertArrayEquals(Split.holdout(labels, 0.5, 1).heldOut(), Split.holdout(labels, 0.5, 1).heldOut());
        assertNotEquals(Arrays.toString(Split.holdout(labels, 0.5, 1).heldOut()),
            Arrays.toString(Split.holdout(labels, 0.5, 2).heldOut()));
    }

    @Test
    void shouldRefuseSharesAndFoldsOutOfRange()
    {
        assertThrows(IllegalArgumentException.class, () -> Split.holdout(labels(), 1.0, 1));
        assertThrows(IllegalArgumentException.class, () -> Split.holdout(labels(), 0.0, 1));
        assertThrows(IllegalArgumentException.class, () -> Split.kFold(labels(), 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Split.kFold(new int[] {0, 1}, 3, 1));
    }
}
