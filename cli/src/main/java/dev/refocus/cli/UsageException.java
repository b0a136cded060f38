package dev.refocus.cli;

/** Data that does not fit the model or the command (exit code 3), with a message for the user. */
final class UsageException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    UsageException(final String message)
    {
        super(message);
    }

    /** @throws UsageException if the samples' width, the labels' count or a label's range does not fit. */
    static void checkData(final int inputSize, final int classes, final float[][] inputs, final int[] labels)
    {
        if (inputs.length == 0)
        {
            throw new UsageException("the inputs hold no sample");
        }
        if (inputs[0].length != inputSize)
        {
            throw new UsageException("the inputs have " + inputs[0].length + " features, the model takes " + inputSize);
        }
        if (labels == null)
        {
            return;
        }
        if (labels.length != inputs.length)
        {
            throw new UsageException(labels.length + " labels for " + inputs.length + " samples");
        }
        for (int i = 0; i < labels.length; i++)
        {
            if (labels[i] < 0 || labels[i] >= classes)
            {
                throw new UsageException("label " + i + " is " + labels[i] + ", outside the model's " + classes
                    + " classes");
            }
        }
    }
}
