package dev.refocus.flink;

/** A sample refocus could not predict, and why (the predictor's message). A Flink POJO. */
public class BadRecord
{
    /** The sample's identifier. */
    public String id;
    /** What is wrong: {@code input has 9 features, the model takes 10}, {@code input[4] is NaN; ...}. */
    public String reason;

    /** For Flink. */
    public BadRecord()
    {
    }

    /**
     * @param id     the sample's identifier.
     * @param reason what is wrong.
     */
    public BadRecord(final String id, final String reason)
    {
        this.id = id;
        this.reason = reason;
    }

    @Override
    public String toString()
    {
        return id + ": " + reason;
    }
}
