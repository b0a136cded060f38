package dev.refocus.cli;

import dev.refocus.Method;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * Tune's held-out report: the selection sees only the tuning samples and the report only the held-out ones,
 * checked by changing the outcomes of one part and watching the other's result stay put.
 */
class HeldOutTest
{
    private static final float[] ETAS = {0.01f, 0.1f, 1.0f};
    private static final float[] THRESHOLDS = {0.05f, 0.16f};

    /** Random outcomes of two methods on n samples of 3 classes; about half of them uncertain. */
    private static Tune.Outcomes outcomes(final int n, final long seed)
    {
        final Random random = new Random(seed);
        final int[] labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = random.nextInt(3);
        }
        final List<Tune.MethodOutcomes> methods = List.of(method(Method.IFO_WEIGHTED, labels, random),
            method(Method.DOFO, labels, random));
        return new Tune.Outcomes(methods, ETAS, THRESHOLDS, labels);
    }

    private static Tune.MethodOutcomes method(final Method method, final int[] labels, final Random random)
    {
        final int n = labels.length;
        final Tune.MethodOutcomes m = new Tune.MethodOutcomes(method, new int[n], new float[n], new boolean[n],
            new int[n][ETAS.length]);
        for (int i = 0; i < n; i++)
        {
            m.initial()[i] = random.nextInt(4) == 0 ? random.nextInt(3) : labels[i];
            m.margin()[i] = random.nextFloat() * 0.3f;
            m.adapted()[i] = m.margin()[i] < 0.16f;
            for (int k = 0; k < ETAS.length; k++)
            {
                m.finals()[i][k] = m.adapted()[i] && random.nextInt(3) == 0 ? random.nextInt(3) : m.initial()[i];
            }
        }
        return m;
    }

    /** Makes every answer of the given samples right with refocus at the largest rate, for every method. */
    private static void favourLargestRate(final Tune.Outcomes o, final int[] samples)
    {
        for (final Tune.MethodOutcomes m : o.methods())
        {
            for (final int i : samples)
            {
                m.adapted()[i] = true;
                m.margin()[i] = 0.01f;
                m.finals()[i][ETAS.length - 1] = o.labels()[i];
            }
        }
    }

    @Test
    void shouldSelectOnTheTuningPartOnlyAndReportOnTheHeldOutPartOnly()
    {
        final Tune.Outcomes o = outcomes(400, 1);
        final HeldOut.Report before = HeldOut.holdout(o, 0.5, 5);
        final Split.Fold fold = Split.holdout(o.labels(), 0.5, 5);
        assertEquals(Tune.best(Tune.rows(o, fold.tuning())), before.selected());
        assertEquals(HeldOut.Tally.of(Tune.find(Tune.rows(o, fold.heldOut()), before.selected())), before.tally());
        assertEquals(200, before.tally().samples());

        // the held-out samples now favour the largest rate: the selection must not move
        final Tune.Outcomes heldChanged = outcomes(400, 1);
        favourLargestRate(heldChanged, fold.heldOut());
        final HeldOut.Report afterHeld = HeldOut.holdout(heldChanged, 0.5, 5);
        assertEquals(before.selected(), afterHeld.selected());
        assertNotEquals(before.tally(), afterHeld.tally(), "the change shows in the report");

        // the tuning samples now favour the largest rate: the selection moves, but what the held-out samples
        // say about any one setting does not
        final Tune.Outcomes tuningChanged = outcomes(400, 1);
        favourLargestRate(tuningChanged, fold.tuning());
        final HeldOut.Report afterTuning = HeldOut.holdout(tuningChanged, 0.5, 5);
        assertEquals(ETAS[ETAS.length - 1], afterTuning.selected().eta());
        assertEquals(Tune.rows(o, fold.heldOut()), afterTuning.heldOutRows());
    }

    @Test
    void shouldReportEachFoldOnTheSettingTheOtherFoldsSelected()
    {
        final Tune.Outcomes o = outcomes(300, 2);
        final HeldOut.Report report = HeldOut.kFold(o, 3, 9);
        final List<Split.Fold> folds = Split.kFold(o.labels(), 3, 9);
        HeldOut.Tally pooled = new HeldOut.Tally(0, 0, 0, 0, 0, 0, 0);
        for (int f = 0; f < 3; f++)
        {
            final Tune.Row choice = Tune.best(Tune.rows(o, folds.get(f).tuning()));
            assertEquals(choice, report.foldChoices().get(f));
            pooled = pooled.plus(HeldOut.Tally.of(Tune.find(Tune.rows(o, folds.get(f).heldOut()), choice)));
        }
        assertEquals(pooled, report.tally());
        assertEquals(300, report.tally().samples(), "every sample reports once");
        assertEquals(Tune.best(Tune.rows(o, o.all())), report.selected(), "the file's setting: selected on all");
    }

    @Test
    void shouldGiveTheVerdictOfTheHeldOutTest()
    {
        final Tune.Outcomes o = outcomes(400, 3);
        final Split.Fold fold = Split.holdout(o.labels(), 0.5, 5);
        // every held-out sample wrong before, right with refocus at every setting: many fixed, none broken
        for (final Tune.MethodOutcomes m : o.methods())
        {
            for (final int i : fold.heldOut())
            {
                m.initial()[i] = (o.labels()[i] + 1) % 3;
                m.adapted()[i] = true;
                m.margin()[i] = 0.01f;
                java.util.Arrays.fill(m.finals()[i], o.labels()[i]);
            }
        }
        final HeldOut.Report gain = HeldOut.holdout(o, 0.5, 5);
        assertEquals(HeldOut.Verdict.GAIN, gain.verdict());
        assertEquals(200, gain.tally().fixed());
        assertEquals(Stats.mcNemar(200, 0), gain.p());
        // the reverse: every held-out sample right before, wrong after
        for (final Tune.MethodOutcomes m : o.methods())
        {
            for (final int i : fold.heldOut())
            {
                m.initial()[i] = o.labels()[i];
                java.util.Arrays.fill(m.finals()[i], (o.labels()[i] + 1) % 3);
            }
        }
        assertEquals(HeldOut.Verdict.LOSS, HeldOut.holdout(o, 0.5, 5).verdict());
        // nothing changes on the held-out samples: no evidence either way
        for (final Tune.MethodOutcomes m : o.methods())
        {
            for (final int i : fold.heldOut())
            {
                java.util.Arrays.fill(m.finals()[i], m.initial()[i]);
            }
        }
        final HeldOut.Report none = HeldOut.holdout(o, 0.5, 5);
        assertEquals(HeldOut.Verdict.NO_GAIN, none.verdict());
        assertEquals(1.0, none.p());
    }
}
