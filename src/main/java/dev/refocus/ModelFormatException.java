package dev.refocus;

import java.io.IOException;

/**
 * A model file that cannot be used: truncated, malformed, of an unsupported dtype, or whose tensors
 * do not describe a network refocus can run. The message names the file and the problem.
 */
public final class ModelFormatException extends IOException
{
    private static final long serialVersionUID = 1L;

    public ModelFormatException(final String message)
    {
        super(message);
    }
}
