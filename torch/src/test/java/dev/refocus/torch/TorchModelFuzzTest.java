package dev.refocus.torch;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.refocus.ModelFormatException;
import dev.refocus.testing.FuzzWatchdog;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes {@link TorchModel#load(Path, int)} with any bytes as a TorchScript file: libtorch's zip reader, unpickler
 * and TorchScript compiler, then the probe's forward pass, all inside this JVM. The contract is what the method
 * declares: a {@link ModelFormatException}, an {@link IllegalArgumentException} (the forward pass fails on the
 * input shape) or another {@link IOException}; anything else, an {@link OutOfMemoryError} or a hang is a finding,
 * and a crash of the JVM fails the build too. Libtorch is slow to load and its code is not instrumented, so this
 * target gets the smallest budget.
 * <p>
 * Seeds in {@code TorchModelFuzzTestInputs/load}: {@code tuple-output.pt} whole (a valid TorchScript file of a
 * module taking [1, 4], 3.3 KB) and the first 512 bytes of {@code mlp-relu.pt}.
 */
@ExtendWith(FuzzWatchdog.class)
class TorchModelFuzzTest
{
    private static Path file;

    @BeforeAll
    static void loadLibtorch() throws IOException
    {
        // libtorch loads in seconds: not inside the first input's timeout
        TorchModel.load(TestModels.path("mlp-relu.pt"), 6);
        file = Files.createTempFile("refocus-fuzz-", ".pt");
    }

    @AfterAll
    static void deleteFile() throws IOException
    {
        Files.deleteIfExists(file);
    }

    @FuzzTest(maxDuration = "10s")
    void load(final byte[] bytes) throws IOException
    {
        Files.write(file, bytes);
        final TorchModel model;
        try
        {
            model = TorchModel.load(file, 4);
        }
        catch (final ModelFormatException | IllegalArgumentException expected)
        {
            assertTrue(expected.getMessage().startsWith(file.toString()), expected::getMessage);
            return;
        }
        assertEquals(4, model.inputSize());
        assertTrue(model.classes() >= 1, model::toString);
        assertEquals(model.parameterNames().size(), model.parameterNames().stream().distinct().count());
    }
}
