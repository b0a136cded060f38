package dev.refocus.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The statistics of tune's report against cases worked by hand. */
class StatsTest
{
    @Test
    void shouldSumBinomialTermsExactly()
    {
        // Bin(4, 0.3): P(X <= 1) = 0.7^4 + 4 * 0.3 * 0.7^3 = 0.2401 + 0.4116 = 0.6517
        assertEquals(0.6517, Stats.binomialCdf(1, 4, 0.3), 1e-15);
        // Bin(15, 1/2): P(X <= 6) = (1 + 15 + 105 + 455 + 1365 + 3003 + 5005) / 2^15 = 9949 / 32768
        assertEquals(9949.0 / 32768, Stats.binomialCdf(6, 15, 0.5), 1e-15);
        assertEquals(0.0, Stats.binomialCdf(-1, 5, 0.5));
        assertEquals(1.0, Stats.binomialCdf(5, 5, 0.5));
    }

    @Test
    void shouldTestDiscordantPairsLikeMcNemarsExactTest()
    {
        // 9 fixed, 6 broken (the old main job's "best"): p = 2 * P(X <= 6 | 15, 1/2) = 9949 / 16384 = 0.6072
        assertEquals(9949.0 / 16384, Stats.mcNemar(9, 6), 1e-15);
        assertEquals(9949.0 / 16384, Stats.mcNemar(6, 9), 1e-15); // two-sided: symmetric
        // 5 fixed, 0 broken: p = 2 * (1/2)^5 = 1/16 = 0.0625, not significant at 5 %
        assertEquals(0.0625, Stats.mcNemar(5, 0), 1e-15);
        // 6 fixed, 0 broken: p = 2 * (1/2)^6 = 1/32 = 0.03125, significant
        assertEquals(0.03125, Stats.mcNemar(6, 0), 1e-15);
        // 3 and 3: 2 * P(X <= 3 | 6, 1/2) = 2 * 42/64 > 1, so 1
        assertEquals(1.0, Stats.mcNemar(3, 3));
        assertEquals(1.0, Stats.mcNemar(0, 0)); // nothing changed: no evidence
    }

    @Test
    void shouldBoundAProportionLikeClopperPearson()
    {
        // x = 1 of n = 2: 1 - (1 - p)^2 = 0.025 gives p = 1 - sqrt(0.975); p^2 = 0.975 gives p = sqrt(0.975)
        assertArrayEquals(new double[] {1 - Math.sqrt(0.975), Math.sqrt(0.975)}, Stats.clopperPearson(1, 2, 0.05),
            1e-12);
        // x = n = 9: lower p^9 = 0.025, p = 0.025^(1/9) = 0.66373; upper 1
        assertArrayEquals(new double[] {Math.pow(0.025, 1.0 / 9), 1.0}, Stats.clopperPearson(9, 9, 0.05), 1e-12);
        // x = 0 of 10: lower 0; upper (1 - p)^10 = 0.025, p = 1 - 0.025^(1/10) = 0.30850
        assertArrayEquals(new double[] {0.0, 1 - Math.pow(0.025, 0.1)}, Stats.clopperPearson(0, 10, 0.05), 1e-12);
    }

    @Test
    void shouldScaleTheIntervalOfTheFixedShareToTheAccuracyChange()
    {
        // 9 fixed, 0 broken of 1500 samples: n = 9 discordant, pi in [0.025^(1/9), 1], so the change is in
        // 9/1500 * [2 * 0.66373 - 1, 1] = [0.0019648, 0.006]
        final double low = 9.0 / 1500 * (2 * Math.pow(0.025, 1.0 / 9) - 1);
        assertArrayEquals(new double[] {low, 0.006}, Stats.deltaInterval(9, 0, 1500, 0.05), 1e-12);
        assertEquals(0.0019648, low, 1e-7);
        // 1 fixed, 1 broken of 10: pi in [1 - sqrt(0.975), sqrt(0.975)], so 2/10 * (2 pi - 1) is within
        // +-0.2 * (2 sqrt(0.975) - 1)
        final double half = 0.2 * (2 * Math.sqrt(0.975) - 1);
        assertArrayEquals(new double[] {-half, half}, Stats.deltaInterval(1, 1, 10, 0.05), 1e-12);
        assertArrayEquals(new double[] {0.0, 0.0}, Stats.deltaInterval(0, 0, 10, 0.05));
    }

    @Test
    void shouldNeverLetTheIntervalAndTheTestDisagree()
    {
        for (int fixed = 0; fixed <= 40; fixed++)
        {
            for (int broken = 0; broken <= 40; broken++)
            {
                final double[] ci = Stats.deltaInterval(fixed, broken, 1000, 0.05);
                final boolean excludesZero = ci[0] > 0 || ci[1] < 0;
                assertEquals(Stats.mcNemar(fixed, broken) < 0.05, excludesZero, fixed + " fixed, " + broken
                    + " broken: p = " + Stats.mcNemar(fixed, broken) + ", interval [" + ci[0] + ", " + ci[1] + "]");
            }
        }
    }

    @Test
    void shouldFindBinomialQuantiles()
    {
        // Bin(4, 1/2): CDF 1/16, 5/16, 11/16, 15/16, 1
        assertEquals(0, Stats.binomialQuantile(4, 0.5, 0.0625));
        assertEquals(1, Stats.binomialQuantile(4, 0.5, 0.07));
        assertEquals(3, Stats.binomialQuantile(4, 0.5, 0.9));
        assertEquals(4, Stats.binomialQuantile(4, 0.5, 0.95));
        assertTrue(Stats.binomialQuantile(1000, 0.05, 0.5) == 50);
    }
}
