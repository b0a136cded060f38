package dev.refocus.flink;

import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Parses lines {@code id,v1,v2,...,vn} into samples (the example job's input). A line that does not parse goes to
 * {@link RefocusFunction#BAD_RECORDS} with the reason, as a sample refocus refuses does; empty lines are skipped.
 *
 * <p><b>Note:</b> Stateless.
 */
public class CsvSamples extends ProcessFunction<String, Sample>
{
    private static final long serialVersionUID = 1L;

    @Override
    public void processElement(final String line, final Context ctx, final Collector<Sample> out)
    {
        if (line.isBlank())
        {
            return;
        }
        final String[] cells = line.split(",", -1);
        final float[] features = new float[cells.length - 1];
        for (int i = 0; i < features.length; i++)
        {
            try
            {
                features[i] = Float.parseFloat(cells[i + 1].trim());
            }
            catch (final NumberFormatException e)
            {
                ctx.output(RefocusFunction.BAD_RECORDS, new BadRecord(cells[0], "value " + (i + 1) + " is not a "
                    + "number: '" + cells[i + 1] + "'"));
                return;
            }
        }
        out.collect(new Sample(cells[0], features));
    }
}
