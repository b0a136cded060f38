package dev.refocus.cli;

import dev.refocus.torch.Libtorch;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.SourceLocation;
import org.bytedeco.pytorch.Warning;
import org.bytedeco.pytorch.WarningVariant;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * libtorch writes its warnings to the process's stderr, past {@code System.err}: these tests run the command line in
 * a JVM of its own and read that stderr. On a CPU that NNPACK does not take, every convolution printed
 * {@code [W NNPACK.cpp:56] Could not initialize NNPACK! Reason: Unsupported hardware.} before refocus's own output.
 */
class LibtorchWarningsTest
{
    private static final String CNN = "torch/src/test/resources/dev/refocus/torch/cnn.pt";

    @TempDir
    Path dir;

    /** What a JVM of its own gave: exit code, stdout, stderr. */
    private record Run(int code, String out, String err)
    {
    }

    /** A JVM of its own: raises a libtorch warning at the given log level ("-" leaves libtorch's default). */
    public static final class Probe
    {
        public static void main(final String[] args)
        {
            if (args[0].equals("-"))
            {
                Libtorch.load();
            }
            else
            {
                Libtorch.logLevel(Integer.parseInt(args[0]));
            }
            final SourceLocation where = new SourceLocation().function(new BytePointer("probe"))
                .file(new BytePointer("Probe.java")).line(1);
            torch.warn(new Warning(new WarningVariant(), where, "a probe warning", false));
            System.out.println("done");
        }
    }

    @Test
    void shouldDropLibtorchWarningsBelowTheLogLevel() throws Exception
    {
        final Run warn = java(Map.of(), List.of(), Probe.class.getName(), "-");
        assertEquals(0, warn.code, warn.err);
        assertTrue(warn.err.contains("a probe warning"), "libtorch's default shows warnings: " + warn.err);
        final Run error = java(Map.of(), List.of(), Probe.class.getName(), "2");
        assertEquals(0, error.code, error.err);
        assertFalse(error.err.contains("a probe warning"), error.err);
        assertTrue(error.out.contains("done"), error.out);
    }

    @Test
    void shouldPrintNoLibtorchWarningWhenTheCommandLineLoadsTorchScript() throws Exception
    {
        final Run r = java(Map.of(), List.of(), RefocusCli.class.getName(), "predict", "-m", CNN, "-i", cnnInputs(),
            "--eta", "0.5", "--input-shape", "1,1,8,8");
        assertEquals(0, r.code, r.err);
        assertFalse(r.err.contains("[W"), r.err);
        assertEquals(4, r.out.lines().count(), r.out);
    }

    /**
     * Where NNPACK cannot initialise, as on the reporter's CPU: here cpuinfo is made to fail by hiding
     * {@code /proc/cpuinfo} and {@code /sys/devices/system/cpu} in a mount namespace of the command's own, which
     * needs root and unshare (else the test is skipped). {@code TORCH_CPP_LOG_LEVEL=WARNING} brings the warning
     * back: that shows the namespace does make NNPACK warn. A libtorch without its CPU's cache sizes sometimes
     * crashes in there (cpuinfo_compute_max_cache_size), whatever the log level: such runs are tried again.
     */
    @Test
    void shouldSilenceNnpackWhereItCannotInitialise() throws Exception
    {
        final Path emptyFile = Files.createFile(dir.resolve("cpuinfo"));
        final Path emptyDir = Files.createDirectory(dir.resolve("cpu"));
        final List<String> namespace = List.of("unshare", "-m", "sh", "-c", "mount --bind " + emptyFile
            + " /proc/cpuinfo && mount --bind " + emptyDir + " /sys/devices/system/cpu && exec \"$@\"", "sh");
        assumeTrue(canRun(List.of("unshare", "-m", "sh", "-c", "mount --bind " + emptyFile + " /proc/cpuinfo")),
            "needs root and unshare");
        final String[] args = {RefocusCli.class.getName(), "predict", "-m", CNN, "-i", cnnInputs(), "--eta", "0.5",
            "--input-shape", "1,1,8,8"};
        final Run loud = javaUntilNoCrash(Map.of("TORCH_CPP_LOG_LEVEL", "WARNING"), namespace, args);
        assertEquals(0, loud.code, loud.err);
        assertTrue(loud.err.contains("Could not initialize NNPACK"), "NNPACK initialises here after all: "
            + loud.err);
        final Run quiet = javaUntilNoCrash(Map.of(), namespace, args);
        assertEquals(0, quiet.code, quiet.err);
        assertFalse(quiet.err.contains("NNPACK") || quiet.err.contains("[W"), quiet.err);
        assertEquals(4, quiet.out.lines().count(), quiet.out);
    }

    /** @return the first of a few runs in which the JVM did not crash (it then writes a crash report). */
    private Run javaUntilNoCrash(final Map<String, String> env, final List<String> prefix, final String... args)
        throws IOException, InterruptedException
    {
        for (int attempt = 0; attempt < 5; attempt++)
        {
            final Path crashes = Files.createTempDirectory(dir, "crash");
            final Run r = java(env, prefix, crashes, args);
            try (var reports = Files.list(crashes))
            {
                if (reports.findAny().isEmpty())
                {
                    return r;
                }
            }
        }
        assumeTrue(false, "libtorch crashed in the namespace without CPU information 5 times");
        return null;
    }

    private String cnnInputs() throws IOException
    {
        final StringBuilder s = new StringBuilder();
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 64; j++)
            {
                s.append(j > 0 ? "," : "").append(((i + j) % 9) * 0.25 - 1);
            }
            s.append('\n');
        }
        return Files.writeString(dir.resolve("x64.csv"), s.toString()).toString();
    }

    private static boolean canRun(final List<String> command) throws InterruptedException
    {
        try
        {
            final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        }
        catch (final IOException e)
        {
            return false;
        }
    }

    /** Runs a main class of this class path in a JVM of its own, behind the given command prefix. */
    private Run java(final Map<String, String> env, final List<String> prefix, final String... mainAndArgs)
        throws IOException, InterruptedException
    {
        return java(env, prefix, dir, mainAndArgs);
    }

    /** Runs a main class of this class path in a JVM of its own; a crash report would go to {@code crashes}. */
    private static Run java(final Map<String, String> env, final List<String> prefix, final Path crashes,
        final String... mainAndArgs) throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>(prefix);
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        final String cache = System.getProperty("org.bytedeco.javacpp.cachedir");
        if (cache != null)
        {
            command.add("-Dorg.bytedeco.javacpp.cachedir=" + cache);
        }
        // a crash report goes to a temporary folder, not into the working tree
        command.add("-XX:ErrorFile=" + crashes.resolve("hs_err_%p.log"));
        command.add("-XX:-CreateCoredumpOnCrash");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.addAll(List.of(mainAndArgs));
        final ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().remove("TORCH_CPP_LOG_LEVEL");
        builder.environment().putAll(env);
        final File out = Files.createTempFile("refocus-out", ".txt").toFile();
        final File err = Files.createTempFile("refocus-err", ".txt").toFile();
        try
        {
            final Process p = builder.redirectOutput(out).redirectError(err).start();
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the JVM did not finish: " + command);
            return new Run(p.exitValue(), Files.readString(out.toPath(), StandardCharsets.UTF_8),
                Files.readString(err.toPath(), StandardCharsets.UTF_8));
        }
        finally
        {
            Files.deleteIfExists(out.toPath());
            Files.deleteIfExists(err.toPath());
        }
    }
}
