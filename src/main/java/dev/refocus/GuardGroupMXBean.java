package dev.refocus;

/**
 * What {@link GuardGroup#register()} publishes through JMX: the sums of a group's guard counters, how many of its
 * predictors have tripped their band, and an operation that resets them. Read with any JMX client (JConsole,
 * VisualVM, a Prometheus JMX exporter) under {@code dev.refocus:type=GuardGroup,name=<the group's name>}.
 */
public interface GuardGroupMXBean
{
    /** @return the group's name. */
    String getName();

    /** @return the number of guards (predictors) in the group. */
    int getPredictors();

    /** @return predictions made, summed. */
    long getSamples();

    /** @return predictions on which the step ran, summed. */
    long getAdapted();

    /** @return predictions whose adapted answer differed from the plain one, summed. */
    long getChanged();

    /** @return adapted predictions that fell back on non-finite logits, summed. */
    long getFellBack();

    /** @return predictions answered plainly because a band had tripped, summed. */
    long getBypassed();

    /** @return windows that left their band, summed. */
    long getBandTrips();

    /** @return predictors whose band has tripped and that answer plainly now. */
    int getTrippedPredictors();

    /** Resets every tripped band of the group ({@link Guard#resetBand()}). */
    void resetBands();
}
