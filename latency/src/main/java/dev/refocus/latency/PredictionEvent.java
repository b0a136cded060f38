package dev.refocus.latency;

import dev.refocus.Prediction;

/**
 * One slot of the ring: the sample's features and the result, both allocated once with the ring and reused by every
 * event that passes through the slot, so publishing and predicting allocate nothing.
 *
 * <p><b>Note:</b> Not thread-safe by itself: the Disruptor hands a slot from the publisher to the handlers (the
 * publish is a release, the handlers' read of the cursor an acquire).
 */
public final class PredictionEvent
{
    /** The features, written by the publisher; exactly the model's input size. */
    public final float[] features;
    /** The result, written by the handler that owns the event's sequence. */
    public final Prediction result;
    /** When the event was meant to be sent ({@link System#nanoTime()}): latency is measured from here. */
    public long intendedNanos;
    /** The publisher's tag for the sample (an index into its pool), passed through untouched. */
    public int sample;
    /** The exception the prediction threw (a bad sample), else {@code null}. */
    public RuntimeException failure;

    /**
     * @param inputSize the model's input features.
     * @param classes   the model's classes.
     */
    public PredictionEvent(final int inputSize, final int classes)
    {
        this.features = new float[inputSize];
        this.result = new Prediction(classes);
    }
}
