package dev.refocus.testing;

import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Assertions on the messages of the API's exceptions: each must say what is wrong. */
public final class Messages
{
    private Messages()
    {
    }

    /**
     * @param fragment what the message must contain.
     * @param call     a call that must throw {@link IllegalArgumentException}.
     */
    public static void assertMessage(final String fragment, final Executable call)
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), () -> "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }
}
