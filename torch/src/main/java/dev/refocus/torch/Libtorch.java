package dev.refocus.torch;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Loads libtorch from the bytedeco pytorch jars, once per process. Every class of this package calls
 * {@link #load()} before it touches a libtorch class; so should code of yours that uses bytedeco pytorch directly
 * before any refocus class has.
 *
 * <p>Why not simply let the first libtorch class load itself: on a cold JavaCPP cache the Loader extracts and
 * loads {@code libtorch.so} before {@code libtorch_cpu.so} is extracted next to it, so the dynamic linker resolves
 * {@code libtorch_cpu.so} from the system's library path instead. Where Debian's libtorch (1.13, pulled in by
 * {@code python3-torch}) is installed, two libtorch versions then end up in one process and it crashes. Extracting
 * every library of the jar first makes {@code $ORIGIN} resolve to the JavaCPP copy.
 *
 * <p><b>Note:</b> This class is thread-safe.
 */
public final class Libtorch
{
    private static volatile boolean loaded;

    private Libtorch()
    {
    }

    /**
     * Extracts and loads libtorch if this process has not done so yet.
     *
     * @throws UncheckedIOException if the libraries cannot be extracted into the JavaCPP cache.
     */
    public static void load()
    {
        if (!loaded)
        {
            synchronized (Libtorch.class)
            {
                if (!loaded)
                {
                    extract(Loader.getPlatform());
                    extract(Loader.getPlatform() + "-gpu"); // present only with -Ptorch-gpu
                    Loader.load(torch.class);
                    loaded = true;
                }
            }
        }
    }

    /**
     * Sets the level of libtorch's C++ log (c10's {@code caffe2_log_level}, one for the whole process), loading
     * libtorch first: messages below it are dropped. Among them are the warnings libtorch writes straight to the process's stderr, such as
     * {@code [W NNPACK.cpp:56] Could not initialize NNPACK! Reason: Unsupported hardware.} at every convolution on
     * a CPU that NNPACK does not take, and {@code TORCH_WARN}s. libtorch reads the environment variable
     * {@code TORCH_CPP_LOG_LEVEL} only when Python initialises it, so in a JVM the level is set this way.
     *
     * @param level 0 info, 1 warning (libtorch's default), 2 error, 3 fatal.
     * @throws IllegalArgumentException if the level is not 0 to 3.
     */
    public static void logLevel(final int level)
    {
        if (level < 0 || level > 3)
        {
            throw new IllegalArgumentException("libtorch log level must be 0 to 3, got " + level);
        }
        load();
        synchronized (Libtorch.class)
        {
            // JavaCPP maps no setter of the flag, but c10's flag parser, which sets it as from a command line (the
            // argument arrives as char***: JavaCPP passes the address of this char** array)
            try (PointerScope scope = new PointerScope())
            {
                final PointerPointer<BytePointer> argv = new PointerPointer<>("refocus", "--caffe2_log_level=" + level);
                if (!torch.ParseCommandLineFlags(new int[] {2}, argv))
                {
                    throw new IllegalStateException("libtorch refused the flag --caffe2_log_level=" + level);
                }
                torch.UpdateLoggingLevelsFromFlags();
            }
        }
    }

    /**
     * @param e an exception libtorch threw through JavaCPP.
     * @return its cause in one line: the last "...Error: ..." line of a TorchScript traceback, or the first line
     * (libtorch appends a C++ stack trace to its messages).
     */
    static String reason(final RuntimeException e)
    {
        final String message = e.getMessage() == null ? e.toString() : e.getMessage();
        final String[] lines = message.split("\n");
        for (int i = lines.length - 1; i >= 0; i--)
        {
            final int colon = lines[i].indexOf("Error: ");
            if (colon > 0 && lines[i].substring(0, colon).matches("\\w+"))
            {
                return lines[i].substring(colon + "Error: ".length()).trim();
            }
        }
        return lines[0].trim();
    }

    private static void extract(final String platform)
    {
        try
        {
            Loader.cacheResources("/org/bytedeco/pytorch/" + platform + "/");
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot extract libtorch (" + platform + ") into the JavaCPP cache "
                + "(system property org.bytedeco.javacpp.cachedir)", e);
        }
    }
}
