package dev.refocus.testing;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Ends a fuzzing JVM that hangs where Jazzer's timeout does not reach. While Jazzer fuzzes, libFuzzer's
 * {@code -timeout} ends an input that runs too long (and saves it as {@code timeout-*}); but before that, the inputs
 * directory (seeds and saved findings) replays as plain JUnit invocations with no timeout, and surefire's
 * {@code forkedProcessTimeoutInSeconds} cannot end the test JVM (it ends the shell that started it, and waits for the
 * JVM). So a seed or a saved {@code timeout-*} input that hangs would hang the build: with this extension on a fuzz
 * test class, once the class has run for its {@link FuzzTest#maxDuration()} (or {@code -Dfuzz.seconds}, passed on
 * as the system property {@code refocus.fuzz.seconds}) plus {@value #GRACE_SECONDS} s, the JVM prints its threads
 * and halts, and surefire fails the build ("The forked VM terminated without properly saying goodbye").
 * <p>
 * Armed only when fuzzing ({@code JAZZER_FUZZ} set); without it the class runs as a regression test, untouched.
 * <pre>{@code
 * @ExtendWith(FuzzWatchdog.class)
 * class JsonFuzzTest { @FuzzTest(maxDuration = "15s") void parse(byte[] bytes) { ... } }
 * }</pre>
 */
public final class FuzzWatchdog implements BeforeAllCallback, AfterAllCallback
{
    /** Time for the JVM, Jazzer and the class's own set-up (libtorch loads in seconds), and for the seeds. */
    public static final int GRACE_SECONDS = 120;

    private static final Pattern DURATION_PART = Pattern.compile("(\\d+)\\s*(h|hr|m|min|s|sec)");

    private Thread watchdog;

    @Override
    public void beforeAll(final ExtensionContext context)
    {
        final String fuzz = System.getenv("JAZZER_FUZZ");
        if (fuzz == null || fuzz.isEmpty())
        {
            return;
        }
        final Class<?> testClass = context.getRequiredTestClass();
        final long budget = budgetSeconds(testClass);
        if (budget <= 0)
        {
            return; // fuzzing without a time limit: nothing to watch
        }
        final long deadline = System.nanoTime() + (budget + GRACE_SECONDS) * 1_000_000_000L;
        watchdog = new Thread(() -> watch(testClass, budget, deadline), "fuzz watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    @Override
    public void afterAll(final ExtensionContext context)
    {
        if (watchdog != null)
        {
            watchdog.interrupt();
        }
    }

    private static void watch(final Class<?> testClass, final long budget, final long deadline)
    {
        try
        {
            long left;
            while ((left = deadline - System.nanoTime()) > 0)
            {
                Thread.sleep(left / 1_000_000 + 1);
            }
        }
        catch (final InterruptedException done)
        {
            return;
        }
        final StringBuilder report = new StringBuilder(String.format(Locale.ROOT,
            "%n== %s ran past its fuzzing budget of %d s plus %d s: a hang outside Jazzer's timeout (a seed or a " +
                "saved input of its inputs directory?). Halting the JVM. Threads:%n",
            testClass.getName(), budget, GRACE_SECONDS));
        for (final ThreadInfo thread : ManagementFactory.getThreadMXBean().dumpAllThreads(false, false))
        {
            report.append(thread.getThreadName()).append(" (").append(thread.getThreadState()).append(')')
                .append(System.lineSeparator());
            for (final StackTraceElement frame : thread.getStackTrace())
            {
                report.append("\tat ").append(frame).append(System.lineSeparator());
            }
        }
        // straight to file descriptor 2: surefire's System.err is a buffered channel that halt() would cut
        final PrintStream stderr = new PrintStream(new FileOutputStream(FileDescriptor.err), true,
            StandardCharsets.UTF_8);
        stderr.println(report);
        stderr.flush();
        Runtime.getRuntime().halt(3);
    }

    /** @return {@code -Dfuzz.seconds} if given, else the longest maxDuration of the class's fuzz tests; 0: none. */
    static long budgetSeconds(final Class<?> testClass)
    {
        final String override = System.getProperty("refocus.fuzz.seconds");
        if (override != null && !override.isBlank())
        {
            return Long.parseLong(override.trim());
        }
        long budget = 0;
        for (final Method method : testClass.getDeclaredMethods())
        {
            final FuzzTest fuzzTest = method.getAnnotation(FuzzTest.class);
            if (fuzzTest != null)
            {
                budget = Math.max(budget, seconds(fuzzTest.maxDuration()));
            }
        }
        return budget;
    }

    /** @return the seconds of a duration as Jazzer writes them ("30s", "1m 30s", "2h"); "" is no limit, 0. */
    static long seconds(final String duration)
    {
        long seconds = 0;
        final Matcher part = DURATION_PART.matcher(duration.toLowerCase(Locale.ROOT));
        while (part.find())
        {
            final long n = Long.parseLong(part.group(1));
            seconds += switch (part.group(2))
            {
                case "h", "hr" -> n * 3600;
                case "m", "min" -> n * 60;
                default -> n;
            };
        }
        return seconds;
    }
}
