package dev.refocus.flink;

import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.NativePredictor;
import java.util.Objects;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * refocus as a Flink operator: {@code samples.process(new RefocusFunction(model, config, BadRecords.SIDE_OUTPUT))}.
 * Each parallel subtask owns one {@link NativePredictor}, created in {@link #open(OpenContext)} and closed in
 * {@link #close()}, over a network its JVM shares read-only between subtasks ({@link SharedNetworks}). Works alike in
 * streaming and batch (bounded) execution; it keeps no state, so it needs no checkpoint.
 *
 * <p>A bad record (no features, the wrong number, a non-finite value) goes where the job said: to the side output
 * {@link #BAD_RECORDS} with the reason, or it fails the task (and, with no restart strategy, the job) with the
 * reason. It is never dropped silently.
 *
 * <p><b>Note:</b> Flink calls a function instance from its task's thread alone; the predictor serves that thread.
 * The predictor computes on the calling thread (one core per slot): size the task manager's slots to its cores.
 */
public class RefocusFunction extends ProcessFunction<Sample, Scored>
{
    private static final long serialVersionUID = 1L;

    /** The side output of bad records, when {@link BadRecords#SIDE_OUTPUT} is chosen. */
    public static final OutputTag<BadRecord> BAD_RECORDS = new OutputTag<>("refocus-bad-records",
        TypeInformation.of(BadRecord.class));

    /** Where a record that cannot be predicted goes. */
    public enum BadRecords
    {
        /** To {@link #BAD_RECORDS}, with the reason; the job goes on. */
        SIDE_OUTPUT,
        /** It fails the task with an {@link IllegalArgumentException} naming the record and the reason. */
        FAIL
    }

    private final RefocusModel model;
    private final RefocusConfig config;
    private final BadRecords badRecords;
    private transient SharedNetworks.Lease lease;
    private transient NativePredictor predictor;
    private transient Prediction result;

    /**
     * @param model      the model, shipped with the job.
     * @param config     the refocus configuration (serializable, checked against the model in {@code open}).
     * @param badRecords where bad records go.
     */
    public RefocusFunction(final RefocusModel model, final RefocusConfig config, final BadRecords badRecords)
    {
        this.model = Objects.requireNonNull(model, "model");
        this.config = Objects.requireNonNull(config, "config");
        this.badRecords = Objects.requireNonNull(badRecords, "badRecords");
    }

    @Override
    public void open(final OpenContext openContext) throws Exception
    {
        lease = SharedNetworks.acquire(model);
        try
        {
            predictor = NativePredictor.create(lease.network(), config);
        }
        catch (final RuntimeException e)
        {
            lease.close();
            lease = null;
            throw e;
        }
        result = predictor.newPrediction();
    }

    @Override
    public void processElement(final Sample sample, final Context ctx, final Collector<Scored> out)
    {
        final String reason;
        if (sample.features == null)
        {
            reason = "the sample has no features";
        }
        else
        {
            String failure = null;
            try
            {
                predictor.predict(sample.features, result);
            }
            catch (final IllegalArgumentException e) // the sample's fault: its length or a non-finite value
            {
                failure = e.getMessage();
            }
            if (failure == null)
            {
                out.collect(new Scored(sample.id, result));
                return;
            }
            reason = failure;
        }
        if (badRecords == BadRecords.FAIL)
        {
            throw new IllegalArgumentException("refocus: bad record " + sample.id + ": " + reason);
        }
        ctx.output(BAD_RECORDS, new BadRecord(sample.id, reason));
    }

    /** Closes the predictor and releases the network. Safe after a failed {@code open} and when called twice. */
    @Override
    public void close() throws Exception
    {
        try
        {
            if (predictor != null)
            {
                predictor.close();
            }
        }
        finally
        {
            predictor = null;
            if (lease != null)
            {
                lease.close();
                lease = null;
            }
        }
    }

    /** @return the subtask's predictor while open, else {@code null} (for subclasses that watch the life cycle). */
    protected final NativePredictor predictor()
    {
        return predictor;
    }
}
