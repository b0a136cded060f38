package dev.refocus;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The run-time guardrails of one predictor ({@link Predictor#guard()}): its counters, and the state of its optional
 * {@link Band}. Every backend has one, kept by {@link Predictor} itself, so the native, CUDA, reference and libtorch
 * predictors count and guard alike.
 *
 * <ul>
 * <li><b>Counters</b> of the predictions made by {@code predict} (single samples and batches; not {@code sweep}
 * or {@code forward}): {@link #samples()}, {@link #adapted()} (the step ran), {@link #changed()} (the adapted
 * answer differs from the plain one), {@link #fellBack()} (the adapted logits were not finite), {@link #bypassed()}
 * (answered plainly because the band tripped) and {@link #bandTrips()}. {@link GuardGroup} adds up the guards of
 * many predictors and publishes them through JMX.</li>
 * <li><b>Observe-only</b> ({@link RefocusConfig#observeOnly()}): the step runs and is counted, but the predictor
 * answers with the plain prediction, exactly as with refocus off. An uncertain sample costs one more forward pass
 * (the plain one, after the step).</li>
 * <li><b>Band</b> ({@link RefocusConfig#band()}): after each window of predictions, the window's adapted share and
 * changed-answer rate are checked against the band; outside it, the guard trips: it counts the trip, tells its
 * {@link BandListener}, and from the next call on the predictor answers with plain predictions (no step, counted
 * as {@link #bypassed()}) until {@link #resetBand()}.</li>
 * </ul>
 *
 * <p>Updating costs a few plain field writes per prediction and allocates nothing. <b>Note:</b> The counters are
 * written only by the call that holds the predictor (one at a time) and may be read from any thread at any time:
 * each is exact and never goes back, but counters read one after the other may come from different moments (a
 * prediction in progress may show in one and not yet in another). {@link #resetBand()} may be called from any
 * thread.
 */
public final class Guard
{
    private static final VarHandle SAMPLES;
    private static final VarHandle ADAPTED;
    private static final VarHandle CHANGED;
    private static final VarHandle FELL_BACK;
    private static final VarHandle BYPASSED;
    private static final VarHandle BAND_TRIPS;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            SAMPLES = lookup.findVarHandle(Guard.class, "samples", long.class);
            ADAPTED = lookup.findVarHandle(Guard.class, "adapted", long.class);
            CHANGED = lookup.findVarHandle(Guard.class, "changed", long.class);
            FELL_BACK = lookup.findVarHandle(Guard.class, "fellBack", long.class);
            BYPASSED = lookup.findVarHandle(Guard.class, "bypassed", long.class);
            BAND_TRIPS = lookup.findVarHandle(Guard.class, "bandTrips", long.class);
        }
        catch (final ReflectiveOperationException e)
        {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final boolean observeOnly;
    private final Band band; // null: none

    // single writer (the call holding the predictor), readers anywhere: written with release stores, read with
    // acquire loads, so a reader never sees a torn or stale-beyond-ordering value
    private long samples;
    private long adapted;
    private long changed;
    private long fellBack;
    private long bypassed;
    private long bandTrips;

    // the window in progress; touched only by the call holding the predictor
    private int windowSamples;
    private int windowAdapted;
    private int windowChanged;

    private volatile boolean tripped;
    private volatile BandListener listener;

    Guard(final RefocusConfig config)
    {
        this.observeOnly = config.observeOnly();
        this.band = config.band();
    }

    /** Told when a window leaves the band (see {@link #listen(BandListener)}). */
    @FunctionalInterface
    public interface BandListener
    {
        /**
         * Called on the predicting thread, inside the call whose prediction closed the window, after the guard has
         * tripped. Keep it short and never call the predictor from it (it is busy); a listener that throws does
         * not stop the prediction, which completes as if no listener were set.
         *
         * @param guard        the guard that tripped.
         * @param adaptedShare the window's share of samples that adapted.
         * @param changedRate  the window's share of samples whose answer changed.
         */
        void bandLeft(Guard guard, double adaptedShare, double changedRate);
    }

    /** @return predictions made (single samples and batch samples). */
    public long samples()
    {
        return (long)SAMPLES.getAcquire(this);
    }

    /** @return of them, those on which the refocus step ran (uncertain, and not bypassed). */
    public long adapted()
    {
        return (long)ADAPTED.getAcquire(this);
    }

    /** @return of them, those whose adapted answer differed from the plain one (returned or, observe-only, not). */
    public long changed()
    {
        return (long)CHANGED.getAcquire(this);
    }

    /** @return of the adapted ones, those that fell back to the plain prediction (non-finite adapted logits). */
    public long fellBack()
    {
        return (long)FELL_BACK.getAcquire(this);
    }

    /** @return predictions answered plainly, without the step, because the band had tripped. */
    public long bypassed()
    {
        return (long)BYPASSED.getAcquire(this);
    }

    /** @return how many times a window left the band. */
    public long bandTrips()
    {
        return (long)BAND_TRIPS.getAcquire(this);
    }

    /** @return whether the band has tripped and the predictor answers plainly until {@link #resetBand()}. */
    public boolean isTripped()
    {
        return tripped;
    }

    /** @return whether the predictor answers with plain predictions and only observes the step. */
    public boolean observeOnly()
    {
        return observeOnly;
    }

    /** @return the band, or null when there is none. */
    public Band band()
    {
        return band;
    }

    /**
     * Lets a tripped predictor adapt again from its next call, with a fresh window. Does nothing when it has not
     * tripped. Any thread.
     */
    public void resetBand()
    {
        tripped = false;
    }

    /** @param listener told of each trip; null for none. Replaces the one before. Any thread. */
    public void listen(final BandListener listener)
    {
        this.listener = listener;
    }

    /** @return whether the predictor should answer plainly, without the step, this call. */
    boolean bypass()
    {
        return tripped;
    }

    /** Counts a prediction answered plainly because the band tripped. */
    void countBypassed()
    {
        BYPASSED.setRelease(this, bypassed + 1);
        SAMPLES.setRelease(this, samples + 1);
    }

    /**
     * Counts a prediction that ran normally (or observed), and closes the window when it is full.
     *
     * @param didAdapt   the step ran.
     * @param didChange  the adapted answer differs from the plain one.
     * @param didFallBack the adapted logits were not finite.
     */
    void count(final boolean didAdapt, final boolean didChange, final boolean didFallBack)
    {
        if (didAdapt)
        {
            ADAPTED.setRelease(this, adapted + 1);
            if (didChange)
            {
                CHANGED.setRelease(this, changed + 1);
            }
            if (didFallBack)
            {
                FELL_BACK.setRelease(this, fellBack + 1);
            }
        }
        SAMPLES.setRelease(this, samples + 1);
        final Band b = band;
        if (b == null)
        {
            return;
        }
        windowAdapted += didAdapt ? 1 : 0;
        windowChanged += didChange ? 1 : 0;
        if (++windowSamples < b.window())
        {
            return;
        }
        final int a = windowAdapted;
        final int c = windowChanged;
        windowSamples = 0;
        windowAdapted = 0;
        windowChanged = 0;
        if (!b.contains(a, c))
        {
            trip(a, c, b.window());
        }
    }

    private void trip(final int adaptedInWindow, final int changedInWindow, final int window)
    {
        BAND_TRIPS.setRelease(this, bandTrips + 1);
        tripped = true;
        final BandListener l = listener;
        if (l != null)
        {
            try
            {
                l.bandLeft(this, (double)adaptedInWindow / window, (double)changedInWindow / window);
            }
            catch (final RuntimeException ignored)
            {
                // a listener's failure must not fail the prediction, which is already made
            }
        }
    }

    /** @return e.g. {@code Guard[samples=1000, adapted=52, changed=7, fellBack=0, bypassed=0, bandTrips=0]}. */
    @Override
    public String toString()
    {
        final long n = samples();
        return "Guard[samples=" + n + ", adapted=" + adapted() + ", changed=" + changed() + ", fellBack="
            + fellBack() + ", bypassed=" + bypassed() + ", bandTrips=" + bandTrips()
            + (observeOnly ? ", observeOnly" : "") + (band != null ? ", " + band : "")
            + (tripped ? ", TRIPPED" : "") + "]";
    }
}
