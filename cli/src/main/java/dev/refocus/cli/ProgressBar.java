package dev.refocus.cli;

import java.io.PrintStream;
import java.util.Locale;

/** A one-line progress bar on stderr, redrawn in place every percent. */
final class ProgressBar
{
    private static final int WIDTH = 40;
    private final PrintStream err;
    private final long total;
    private final boolean enabled;
    private final long start = System.nanoTime();
    private int lastPercent = -1;

    ProgressBar(final PrintStream err, final long total, final boolean enabled)
    {
        this.err = err;
        this.total = Math.max(1, total);
        this.enabled = enabled;
    }

    void update(final long done)
    {
        final int percent = (int)(100 * done / total);
        if (!enabled || percent == lastPercent)
        {
            return;
        }
        lastPercent = percent;
        final int filled = percent * WIDTH / 100;
        final double seconds = (System.nanoTime() - start) / 1e9;
        err.printf(Locale.ROOT, "\r[%s%s] %3d%%  %d/%d samples  %.0f s", "=".repeat(filled), " ".repeat(WIDTH - filled),
            percent, done, total, seconds);
        err.flush();
    }

    void finish()
    {
        if (enabled && lastPercent >= 0)
        {
            err.println();
        }
    }
}
