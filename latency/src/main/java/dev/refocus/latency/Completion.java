package dev.refocus.latency;

/**
 * What a handler does with an event it has predicted: record its latency, pass its result on. Called on the
 * handler's thread; it must not keep the event, which the ring reuses.
 */
@FunctionalInterface
public interface Completion
{
    /**
     * @param event     the event, with its result (or {@link PredictionEvent#failure}).
     * @param sequence  the event's sequence in the ring.
     * @param doneNanos {@link System#nanoTime()} when the prediction ended.
     */
    void completed(PredictionEvent event, long sequence, long doneNanos);
}
