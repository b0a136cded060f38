package dev.refocus.flink;

/**
 * A record to predict: an identifier of the caller's and the features. A Flink POJO (public fields, no-argument
 * constructor), serialized by Flink's POJO serializer.
 */
public class Sample
{
    /** The caller's identifier, passed through to the result. */
    public String id;
    /** The model's input features; a sample of the wrong length or with a non-finite value is a bad record. */
    public float[] features;

    /** For Flink. */
    public Sample()
    {
    }

    /**
     * @param id       the caller's identifier.
     * @param features the features (kept, not copied).
     */
    public Sample(final String id, final float[] features)
    {
        this.id = id;
        this.features = features;
    }
}
