package dev.refocus.testing;

import org.bytedeco.javacpp.Pointer;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The native memory a test holds, for soak and leak tests. Every native allocation of refocus's CPU backend is a
 * JavaCPP {@link Pointer} (a predictor's workspace, a {@code FocusHead}'s buffers: the C core allocates nothing) or
 * a direct buffer (a network's parameters), so {@link Pointer#totalBytes()} plus the JVM's direct buffer pool is the
 * native memory refocus holds; libtorch allocates behind its tensors, whose handles {@link Pointer#totalCount()}
 * counts.
 * {@link #rss()} (the process's resident set, {@code VmRSS}) is reported for people, not asserted on: it moves with
 * the Java heap, the JIT and the allocator's caches.
 * <p>
 * Freeing after garbage collection is asynchronous (JavaCPP's deallocator thread, each class's {@code Cleaner}), so
 * {@link #settle()} and {@link #awaitAtMost} collect and wait in short steps, for a bounded time.
 * <p>
 * {@link #predictions(int)}: the length of a soak, {@code -Drefocus.soak.predictions=1000000} for a long run.
 */
public final class NativeMemoryProbe
{
    /** The system property that sets the number of predictions of every soak test. */
    public static final String PREDICTIONS_PROPERTY = "refocus.soak.predictions";

    private static final long STEP_MILLIS = 10;
    private static final long SETTLE_TIMEOUT_MILLIS = 5_000;

    private NativeMemoryProbe()
    {
    }

    /**
     * @param ciDefault the number of predictions of the test in {@code mvn verify}.
     * @return {@code -Drefocus.soak.predictions} if set, else {@code ciDefault}.
     */
    public static int predictions(final int ciDefault)
    {
        final String value = System.getProperty(PREDICTIONS_PROPERTY);
        return value == null || value.isBlank() ? ciDefault : Integer.parseInt(value.trim());
    }

    /** @return the bytes of native memory JavaCPP's pointers and the JVM's direct buffers hold now. */
    public static long bytes()
    {
        long direct = 0;
        for (final BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class))
        {
            direct += "direct".equals(pool.getName()) ? pool.getMemoryUsed() : 0;
        }
        return Pointer.totalBytes() + direct;
    }

    /** @return the number of JavaCPP pointers with a deallocator alive now (native objects, e.g. tensors). */
    public static long count()
    {
        return Pointer.totalCount();
    }

    /** @return the process's resident set size in bytes, from {@code /proc/self/status} (VmRSS); -1 if unknown. */
    public static long rss()
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/self/status")))
            {
                if (line.startsWith("VmRSS:"))
                {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        }
        catch (final IOException | NumberFormatException e)
        {
            // not Linux: unknown
        }
        return -1;
    }

    /** @return JavaCPP's view of the physical memory of the process (its RSS), in bytes. */
    public static long physical()
    {
        return Pointer.physicalBytes();
    }

    /**
     * Collects garbage and waits until what earlier tests dropped is freed: {@link #bytes()} and {@link #count()}
     * stay unchanged for a few steps (at most a few seconds).
     */
    public static void settle() throws InterruptedException
    {
        final long end = System.nanoTime() + SETTLE_TIMEOUT_MILLIS * 1_000_000;
        long bytes = -1;
        long count = -1;
        int stable = 0;
        while (stable < 5 && System.nanoTime() < end)
        {
            System.gc();
            Thread.sleep(STEP_MILLIS);
            stable = bytes == bytes() && count == count() ? stable + 1 : 0;
            bytes = bytes();
            count = count();
        }
    }

    /**
     * Collects garbage until a measure drops to a bound, or the time is up.
     *
     * @param measure       e.g. {@code NativeMemoryProbe::bytes}.
     * @param bound         the value to reach.
     * @param timeoutMillis how long to try.
     * @return the last value measured: at most {@code bound} unless the time ran out.
     */
    public static long awaitAtMost(final LongSupplier measure, final long bound, final long timeoutMillis)
        throws InterruptedException
    {
        final long end = System.nanoTime() + timeoutMillis * 1_000_000;
        long value = measure.getAsLong();
        while (value > bound && System.nanoTime() < end)
        {
            System.gc();
            Thread.sleep(STEP_MILLIS);
            value = measure.getAsLong();
        }
        return value;
    }

    /** @return bytes as "12.3 MiB" (or "-" if unknown), for reports. */
    public static String mib(final long bytes)
    {
        return bytes < 0 ? "-" : String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }
}
