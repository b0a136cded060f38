package dev.refocus.cli;

/**
 * The statistics of an honest tuning report, all exact: the binomial distribution, McNemar's exact test on paired
 * answers, the Clopper-Pearson interval, and the interval for an accuracy change that follows from them.
 *
 * <p>Paired answers (plain and with refocus, on the same samples) differ only on the <i>discordant</i> samples:
 * {@code fixed} ones (wrong to right) and {@code broken} ones (right to wrong). Under "refocus changes nothing on
 * average" each discordant sample is fixed with probability 1/2, which is McNemar's exact test. The accuracy change
 * is {@code (fixed - broken) / samples}; given the number of discordant samples {@code n = fixed + broken}, it is
 * {@code n / samples * (2 pi - 1)} with {@code pi} the probability that a discordant sample is fixed, so the
 * Clopper-Pearson interval of {@code pi} gives an exact interval for the change, conditional on {@code n}. That
 * interval excludes 0 exactly when the test's p-value is below its level: the verdict and the interval never
 * disagree.
 */
final class Stats
{
    private Stats()
    {
    }

    /**
     * @param k successes, any int (below 0 gives 0, from n on gives 1).
     * @param n trials, &ge; 0.
     * @param p success probability in [0, 1].
     * @return P(X &le; k) for X ~ Binomial(n, p), summed term by term in log space (exact to double rounding).
     */
    static double binomialCdf(final int k, final int n, final double p)
    {
        if (k < 0)
        {
            return 0.0;
        }
        if (k >= n)
        {
            return 1.0;
        }
        if (p <= 0.0)
        {
            return 1.0;
        }
        if (p >= 1.0)
        {
            return 0.0;
        }
        final double logP = Math.log(p);
        final double logQ = Math.log1p(-p);
        double logChoose = 0.0; // log C(n, i), updated by C(n, i) = C(n, i - 1) (n - i + 1) / i
        double sum = 0.0;
        for (int i = 0; i <= k; i++)
        {
            if (i > 0)
            {
                logChoose += Math.log(n - i + 1) - Math.log(i);
            }
            sum += Math.exp(logChoose + i * logP + (n - i) * logQ);
        }
        return Math.min(1.0, sum);
    }

    /**
     * McNemar's exact test, two-sided: twice the smaller binomial tail of the discordant pairs at 1/2, at most 1.
     *
     * @param fixed  samples wrong before and right after (b).
     * @param broken samples right before and wrong after (c).
     * @return the p-value; 1 when no answer changed.
     */
    static double mcNemar(final int fixed, final int broken)
    {
        final int n = fixed + broken;
        return n == 0 ? 1.0 : Math.min(1.0, 2.0 * binomialCdf(Math.min(fixed, broken), n, 0.5));
    }

    /**
     * The Clopper-Pearson ("exact") interval of a binomial proportion: the probabilities whose one-sided tails at
     * {@code x} are both at least {@code alpha / 2}, found by bisection on the binomial tails.
     *
     * @param x     successes, 0 to n.
     * @param n     trials, &ge; 1.
     * @param alpha 1 - the confidence level, e.g. 0.05.
     * @return {lower, upper}.
     */
    static double[] clopperPearson(final int x, final int n, final double alpha)
    {
        if (n < 1 || x < 0 || x > n)
        {
            throw new IllegalArgumentException("need 0 <= x <= n and n >= 1, got x = " + x + ", n = " + n);
        }
        // P(X >= x | p) grows with p: the lower bound is where it reaches alpha / 2
        final double lower = x == 0 ? 0.0 : solve(p -> 1.0 - binomialCdf(x - 1, n, p), alpha / 2, true);
        // P(X <= x | p) falls with p: the upper bound is where it falls to alpha / 2
        final double upper = x == n ? 1.0 : solve(p -> binomialCdf(x, n, p), alpha / 2, false);
        return new double[] {lower, upper};
    }

    /**
     * The exact interval of an accuracy change from paired answers, conditional on the number of discordant
     * samples (see the class comment), in the same unit as {@code (fixed - broken) / samples}.
     *
     * @param fixed   wrong to right.
     * @param broken  right to wrong.
     * @param samples the samples the change is relative to (all, or the uncertain ones), &ge; 1.
     * @param alpha   1 - the confidence level.
     * @return {lower, upper}: {0, 0} when no answer changed.
     */
    static double[] deltaInterval(final int fixed, final int broken, final int samples, final double alpha)
    {
        final int n = fixed + broken;
        if (n == 0)
        {
            return new double[] {0.0, 0.0};
        }
        final double[] pi = clopperPearson(fixed, n, alpha);
        final double share = (double)n / samples;
        return new double[] {share * (2 * pi[0] - 1), share * (2 * pi[1] - 1)};
    }

    /**
     * @param n trials, &ge; 0.
     * @param p success probability in [0, 1].
     * @param q a probability in (0, 1).
     * @return the smallest k with P(X &le; k) &ge; q for X ~ Binomial(n, p).
     */
    static int binomialQuantile(final int n, final double p, final double q)
    {
        if (p <= 0.0)
        {
            return 0;
        }
        if (p >= 1.0)
        {
            return n;
        }
        final double logP = Math.log(p);
        final double logQ = Math.log1p(-p);
        double logChoose = 0.0;
        double sum = 0.0;
        for (int k = 0; k < n; k++) // one pass over the terms, as binomialCdf sums them
        {
            if (k > 0)
            {
                logChoose += Math.log(n - k + 1) - Math.log(k);
            }
            sum += Math.exp(logChoose + k * logP + (n - k) * logQ);
            if (sum >= q)
            {
                return k;
            }
        }
        return n;
    }

    private interface Function
    {
        double at(double p);
    }

    /** @return p in [0, 1] with f(p) = target, for f monotone (increasing or not) on [0, 1], to double precision. */
    private static double solve(final Function f, final double target, final boolean increasing)
    {
        double lo = 0.0;
        double hi = 1.0;
        for (int i = 0; i < 100 && hi - lo > 1e-15; i++)
        {
            final double mid = 0.5 * (lo + hi);
            if ((f.at(mid) < target) == increasing)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }
        return 0.5 * (lo + hi);
    }
}
