package dev.refocus.cli;

import dev.refocus.Band;
import dev.refocus.Method;
import dev.refocus.ParameterSubset;
import dev.refocus.RefocusConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.time.Instant;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The configuration file tune writes: it reads back as what was selected, evidence and all. */
class TunedConfigTest
{
    private static Tune.Outcomes outcomes(final long seed)
    {
        final Random random = new Random(seed);
        final int n = 500;
        final int[] labels = random.ints(n, 0, 4).toArray();
        final float[] etas = {0.05f, 0.5f};
        final Tune.MethodOutcomes m = new Tune.MethodOutcomes(Method.DOFO, new int[n], new float[n], new boolean[n],
            new int[n][etas.length]);
        for (int i = 0; i < n; i++)
        {
            m.initial()[i] = random.nextInt(5) == 0 ? random.nextInt(4) : labels[i];
            m.margin()[i] = random.nextFloat();
            m.adapted()[i] = m.margin()[i] < 0.16f;
            for (int k = 0; k < etas.length; k++)
            {
                m.finals()[i][k] = m.adapted()[i] && random.nextBoolean() ? labels[i] : m.initial()[i];
            }
        }
        return new Tune.Outcomes(List.of(m), etas, new float[] {0.16f}, labels);
    }

    private static Options.Step step(final String... args)
    {
        final Options.Step step = new Options.Step();
        new CommandLine(step).parseArgs(args);
        return step;
    }

    @Test
    void shouldReadBackAsTheSelectedSettingWithTheStepOptionsAndTheGuardrails()
    {
        final HeldOut.Report report = HeldOut.holdout(outcomes(1), 0.5, 3);
        final Options.Step step = step("--focus", "3", "--steps", "2", "--clip", "0.5", "--adapt", "last:2",
            "--candidates", "3,0,1,2");
        final RefocusConfig config = TunedConfig.config(report, step, 200);
        final Tune.Row s = report.selected();
        assertEquals(RefocusConfig.builder(s.eta()).method(Method.DOFO).marginThreshold(s.threshold()).focusClasses(3)
            .steps(2).clipNorm(0.5f).parameters(ParameterSubset.lastLayers(2)).candidates(3, 0, 1, 2)
            .observeOnly(!report.verdict().switchOn()).band(TunedConfig.band(report.selectedOnAll(), 200)).build(),
            config);
        final String text = TunedConfig.text(config, report, List.of("m.safetensors", "x.npy", "y.npy"),
            Instant.parse("2026-12-01T18:00:00.5Z"));
        assertEquals(config, RefocusConfig.parse(text), text);
        assertTrue(text.startsWith("# refocus configuration, written by refocus tune on 2026-12-01T18:00:00Z\n"), text);
        assertTrue(text.contains("\n[evidence]\nmodel=m.safetensors\ninputs=x.npy\nlabels=y.npy\nsamples=500\n"), text);
        assertTrue(text.contains("\nverdict=" + report.verdict() + "\n"), text);
        assertEquals(report.verdict().toString(), TunedConfig.verdict(text));
        assertTrue(text.contains("\nmcNemarP="), text);
        assertTrue(text.contains("\nseed=3\n"), text);
    }

    @Test
    void shouldWriteNoBandForWindowZeroAndRoundTripKFoldEvidence()
    {
        final HeldOut.Report report = HeldOut.kFold(outcomes(2), 4, 5);
        final RefocusConfig config = TunedConfig.config(report, step(), 0);
        assertEquals(null, config.band());
        final String text = TunedConfig.text(config, report, List.of("a", "b", "c"), Instant.EPOCH);
        assertEquals(config, RefocusConfig.parse(text));
        assertTrue(text.contains("\nfold4=DOFO d=0.16 eta="), text);
    }

    @Test
    void shouldBandTheRatesTuningSawWithRoomForChance()
    {
        // 150 of 3000 adapted (5 %), 30 changed (1 %); windows of 1000
        final Tune.Row all = new Tune.Row(Method.IFO_WEIGHTED, 0.16f, 0.5f, 3000, 150, 2600, 2610, 100, 110, 10, 20,
            30);
        final Band band = TunedConfig.band(all, 1000);
        assertEquals(1000, band.window());
        // the 95 % interval of 5 % on 3000 is about [4.2 %, 5.8 %]; the 0.05 % and 99.95 % counts of a window of
        // 1000 at its ends are about 42 - 3.3 sqrt(42) = 21 and 58 + 3.3 sqrt(58) = 83
        assertTrue(band.minAdaptedShare() > 0.015 && band.minAdaptedShare() < 0.03, band.toString());
        assertTrue(band.maxAdaptedShare() > 0.075 && band.maxAdaptedShare() < 0.09, band.toString());
        assertTrue(band.minChangedRate() <= 0.003 && band.maxChangedRate() > 0.02 && band.maxChangedRate() < 0.035,
            band.toString());
        // a window like the tuning data is in the band; one adapting twice as often is not
        assertTrue(band.minAdaptedShare() <= 0.05 && 0.05 <= band.maxAdaptedShare());
        assertFalse(0.10 <= band.maxAdaptedShare());
    }
}
