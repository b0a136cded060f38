package dev.refocus.cli;

/**
 * Bad usage found after parsing (exit code 2, as picocli's own): an option whose value does not fit the model or
 * the other options, or an output path that cannot be written. The message names the option or the path.
 */
final class UsageException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    UsageException(final String message)
    {
        super(message);
    }
}
