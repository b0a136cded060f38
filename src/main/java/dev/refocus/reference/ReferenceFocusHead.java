package dev.refocus.reference;

import dev.refocus.Method;
import dev.refocus.RefocusConfig;

import java.util.Arrays;

/**
 * The focus head in plain Java, written for clarity: the oracle that the native
 * {@code native/src/focus_head.cpp} is tested against. Semantics are those of {@code refocus/focus_head.h}:
 * classes ranked by logit, ties to the lower index; softmax over the candidates K; +&infin; logits share the
 * probability, all -&infin; gives a uniform p; a NaN logit is an error. Double precision.
 *
 * <p><b>Note:</b> This class is not thread-safe: it holds a workspace.
 */
public final class ReferenceFocusHead
{
    private final Method method;
    private final int[] candidates;
    private final int[] focus;
    private final double[] p;

    /**
     * @param classes number of classes.
     * @param config  method, number of focus classes and candidates (checked against {@code classes}).
     */
    public ReferenceFocusHead(final int classes, final RefocusConfig config)
    {
        config.checkFits(classes, Integer.MAX_VALUE);
        this.method = config.method();
        this.candidates = config.hasCandidates() ? config.candidates() : allClasses(classes);
        this.focus = new int[config.focusClasses()];
        this.p = new double[classes];
    }

    private static int[] allClasses(final int classes)
    {
        final int[] all = new int[classes];
        for (int c = 0; c < classes; c++)
        {
            all[c] = c;
        }
        return all;
    }

    /**
     * Ranks the candidates: the focus classes, most likely first, and the margin.
     *
     * @param z logits.
     * @return the margin p<sub>(1)</sub> - p<sub>(2)</sub>.
     * @throws ArithmeticException if a candidate's logit is NaN.
     */
    public double rank(final double[] z)
    {
        int found = 0;
        for (final int c : candidates)
        {
            if (Double.isNaN(z[c]))
            {
                throw new ArithmeticException("logit " + c + " is NaN");
            }
            // insertion into the sorted top list
            int j = found < focus.length ? found++ : focus.length;
            while (j > 0 && ranksBefore(z, c, focus[j - 1]))
            {
                if (j < focus.length)
                {
                    focus[j] = focus[j - 1];
                }
                j--;
            }
            if (j < focus.length)
            {
                focus[j] = c;
            }
        }
        softmax(z);
        return p[focus[0]] - p[focus[1]];
    }

    /**
     * @param z logits.
     * @return the most likely candidate, without touching the focus classes.
     */
    public int best(final double[] z)
    {
        int best = candidates[0];
        for (final int c : candidates)
        {
            best = ranksBefore(z, c, best) ? c : best;
        }
        return best;
    }

    /** @return the focus classes of the last {@link #rank}, most likely first (the array itself). */
    public int[] focus()
    {
        return focus;
    }

    /** @return the most likely candidate of the last {@link #rank}. */
    public int top()
    {
        return focus[0];
    }

    /**
     * @param z  logits of the current parameters.
     * @param dz receives dL/dz for the focus classes of the last {@link #rank}; 0 outside the candidates.
     */
    public void logitGrad(final double[] z, final double[] dz)
    {
        softmax(z);
        Arrays.fill(dz, 0.0);
        final int nf = focus.length;
        switch (method)
        {
            case IFO_WEIGHTED:
                for (final int c : focus)
                {
                    dz[c] = -p[c];
                }
                break;
            case IFO:
                for (final int c : focus)
                {
                    dz[c] = -1.0 / nf;
                }
                break;
            case DOFO:
                for (final int c : candidates)
                {
                    dz[c] = isFocus(c) ? 0.0 : 1.0 / (candidates.length - nf);
                }
                break;
            case CROSS_ENTROPY:
                for (final int c : candidates)
                {
                    dz[c] = p[c] - (isFocus(c) ? 1.0 / nf : 0.0);
                }
                break;
            case ENTROPY:
                final double h = entropy();
                for (final int c : candidates)
                {
                    dz[c] = p[c] > 0.0 ? -p[c] * (Math.log(p[c]) + h) : 0.0;
                }
                break;
            default:
                throw new AssertionError(method);
        }
    }

    /**
     * The loss itself, for the finite-difference check of the gradient.
     *
     * @param z      logits.
     * @param pTilde for IFO_WEIGHTED, the weights p&#771; held constant (the softmax of the unperturbed logits).
     * @return L(z).
     */
    public double loss(final double[] z, final double[] pTilde)
    {
        softmax(z);
        final int nf = focus.length;
        double sumFocus = 0.0;
        for (final int c : focus)
        {
            sumFocus += method == Method.IFO_WEIGHTED ? pTilde[c] * z[c] : z[c];
        }
        switch (method)
        {
            case IFO_WEIGHTED:
                return -sumFocus;
            case IFO:
                return -sumFocus / nf;
            case DOFO:
                double others = 0.0;
                for (final int c : candidates)
                {
                    others += isFocus(c) ? 0.0 : z[c];
                }
                return others / (candidates.length - nf);
            case CROSS_ENTROPY:
                double max = Double.NEGATIVE_INFINITY;
                for (final int c : candidates)
                {
                    max = Math.max(max, z[c]);
                }
                double sum = 0.0;
                for (final int c : candidates)
                {
                    sum += Math.exp(z[c] - max);
                }
                return max + Math.log(sum) - sumFocus / nf;
            case ENTROPY:
                return entropy();
            default:
                throw new AssertionError(method);
        }
    }

    /** @return softmax(z) over the candidates, as computed by the last call (the array itself). */
    public double[] probabilities()
    {
        return p;
    }

    /** The one ranking: larger logit first, equal logits by lower index. */
    private static boolean ranksBefore(final double[] z, final int a, final int b)
    {
        return z[a] > z[b] || (z[a] == z[b] && a < b);
    }

    private boolean isFocus(final int c)
    {
        for (final int f : focus)
        {
            if (f == c)
            {
                return true;
            }
        }
        return false;
    }

    private double entropy()
    {
        double h = 0.0;
        for (final int c : candidates)
        {
            h -= p[c] > 0.0 ? p[c] * Math.log(p[c]) : 0.0;
        }
        return h;
    }

    private void softmax(final double[] z)
    {
        Arrays.fill(p, 0.0);
        double max = Double.NEGATIVE_INFINITY;
        for (final int c : candidates)
        {
            max = Math.max(max, z[c]);
        }
        if (Double.isInfinite(max))
        {
            // the limits: +inf logits share all the mass; all -inf is uniform
            int sharing = 0;
            for (final int c : candidates)
            {
                sharing += z[c] == max ? 1 : 0;
            }
            for (final int c : candidates)
            {
                p[c] = z[c] == max ? 1.0 / sharing : 0.0;
            }
            return;
        }
        double sum = 0.0;
        for (final int c : candidates)
        {
            p[c] = Math.exp(z[c] - max);
            sum += p[c];
        }
        for (final int c : candidates)
        {
            p[c] /= sum;
        }
    }
}
