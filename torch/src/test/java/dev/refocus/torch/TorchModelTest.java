package dev.refocus.torch;

import dev.refocus.ModelFormatException;
import dev.refocus.ParameterSubset;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;

import static dev.refocus.torch.TestModels.CNN_INPUT;
import static dev.refocus.torch.TestModels.path;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading TorchScript files: shapes, layers, parameters, and clear exceptions for bad inputs. */
class TorchModelTest
{
    @TempDir
    Path temp;

    @Test
    void shouldLoadAnMlpWithTheDefaultInputShape() throws IOException
    {
        final TorchModel model = TorchModel.load(path("mlp-relu.pt"), 6);
        assertEquals(6, model.inputSize());
        assertArrayEquals(new long[] {1, 6}, model.inputShape());
        assertEquals(5, model.classes());
        assertEquals(3, model.layers());
        assertEquals(List.of("0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"),
            model.parameterNames());
        assertEquals(2, model.layerOf("4.bias"));
        assertEquals(8 * 10, model.parameterValues("2.weight").length);
    }

    @Test
    void shouldGroupTheParametersOfEachSubmoduleIntoALayer() throws IOException
    {
        final TorchModel model = TorchModel.load(path("cnn.pt"), CNN_INPUT);
        assertEquals(64, model.inputSize());
        assertEquals(7, model.classes());
        assertEquals(4, model.layers());
        assertEquals(0, model.layerOf("conv1.bias"));
        assertEquals(1, model.layerOf("bn1.weight"));
        assertEquals(3, model.layerOf("fc.weight"));
        // biases only: every '*.bias', BatchNorm's included
        assertEquals(List.of("conv1.bias", "bn1.bias", "conv2.bias", "fc.bias"),
            selected(model, ParameterSubset.biases(), null));
        assertEquals(List.of("conv2.weight", "conv2.bias", "fc.weight", "fc.bias"),
            selected(model, ParameterSubset.lastLayers(2), null));
        assertEquals(List.of("fc.weight", "fc.bias"), selected(model, ParameterSubset.head(), null));
        assertEquals(List.of("conv1.weight", "fc.weight", "fc.bias"),
            selected(model, ParameterSubset.all(), Pattern.compile("conv1\\.weight|fc\\..*")));
        assertEquals(List.of("fc.bias"),
            selected(model, ParameterSubset.biases(), Pattern.compile("conv1\\.weight|fc\\..*")));
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> model.select(ParameterSubset.head(), Pattern.compile("conv.*")));
        assertTrue(e.getMessage().contains("no parameter adapts"), e.getMessage());
    }

    private static List<String> selected(final TorchModel model, final ParameterSubset subset, final Pattern names)
    {
        final boolean[] flags = model.select(subset, names);
        final List<String> result = new java.util.ArrayList<>();
        for (int i = 0; i < flags.length; i++)
        {
            if (flags[i])
            {
                result.add(model.parameterNames().get(i));
            }
        }
        return result;
    }

    @Test
    @SuppressWarnings("try") // the caller's scope is opened for its effect
    void shouldOutliveAPointerScopeOfTheCaller() throws IOException
    {
        final TorchModel model;
        final float[] weight;
        try (PointerScope callers = new PointerScope())
        {
            model = TorchModel.load(path("mlp-relu.pt"), 6);
            weight = model.parameterValues("0.weight");
        }
        System.gc();
        assertArrayEquals(weight, model.parameterValues("0.weight"));
        assertEquals(5, model.classes());
    }

    @Test
    void shouldRejectAMissingFile()
    {
        final NoSuchFileException e = assertThrows(NoSuchFileException.class,
            () -> TorchModel.load(temp.resolve("missing.pt"), 4));
        assertTrue(e.getMessage().contains("missing.pt"), e.getMessage());
    }

    @Test
    void shouldRejectFilesThatAreNotTorchScript() throws IOException
    {
        final Path garbage = temp.resolve("garbage.pt");
        final byte[] bytes = new byte[1000];
        new Random(0).nextBytes(bytes);
        Files.write(garbage, bytes);
        final Path truncated = temp.resolve("truncated.pt");
        final byte[] cnn = Files.readAllBytes(path("cnn.pt"));
        Files.write(truncated, Arrays.copyOf(cnn, cnn.length / 2));
        for (final Path file : new Path[] {garbage, truncated, path("state-dict.pt"), path("make_models.py")})
        {
            final ModelFormatException e = assertThrows(ModelFormatException.class, () -> TorchModel.load(file, 4));
            assertTrue(e.getMessage().contains("is not a TorchScript file"), e.getMessage());
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
            assertTrue(!e.getMessage().contains("frame #"), "no C++ stack trace: " + e.getMessage());
        }
        assertTrue(assertThrows(ModelFormatException.class, () -> TorchModel.load(temp, 4)).getMessage()
            .contains("not a regular file"));
    }

    @Test
    void shouldRejectAnInputShapeTheModelDoesNotTake()
    {
        final IllegalArgumentException mlp = assertThrows(IllegalArgumentException.class,
            () -> TorchModel.load(path("mlp-relu.pt"), 7));
        assertTrue(mlp.getMessage().contains("fails on an input of shape [1, 7]"), mlp.getMessage());
        assertTrue(mlp.getMessage().contains("cannot be multiplied"), mlp.getMessage());
        final IllegalArgumentException cnn = assertThrows(IllegalArgumentException.class,
            () -> TorchModel.load(path("cnn.pt"), 64));
        assertTrue(cnn.getMessage().contains("fails on an input of shape [1, 64]"), cnn.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TorchModel.load(path("cnn.pt"), new long[0]))
            .getMessage().contains("no dimension"));
        assertTrue(assertThrows(IllegalArgumentException.class,
            () -> TorchModel.load(path("cnn.pt"), new long[] {1, 0, 8})).getMessage().contains("dimension < 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TorchModel.load(path("cnn.pt"), 0))
            .getMessage().contains("input size must be >= 1"));
    }

    @Test
    void shouldRejectOutputsThatAreNotTheLogitsOfOneSample()
    {
        final ModelFormatException tuple = assertThrows(ModelFormatException.class,
            () -> TorchModel.load(path("tuple-output.pt"), 4));
        assertTrue(tuple.getMessage().contains("forward returns a Tuple"), tuple.getMessage());
        final ModelFormatException batch = assertThrows(ModelFormatException.class,
            () -> TorchModel.load(path("batch-output.pt"), 4));
        assertTrue(batch.getMessage().contains("shape [1, 1, 3]"), batch.getMessage());
        final ModelFormatException batchInput = assertThrows(ModelFormatException.class,
            () -> TorchModel.load(path("mlp-relu.pt"), new long[] {2, 6}));
        assertTrue(batchInput.getMessage().contains("shape [2, 5]"), batchInput.getMessage());
        final ModelFormatException float64 = assertThrows(ModelFormatException.class,
            () -> TorchModel.load(path("float64.pt"), 4));
        assertTrue(float64.getMessage().contains("is Double"), float64.getMessage());
    }

    @Test
    void shouldRejectUnknownParameterNames() throws IOException
    {
        final TorchModel model = TorchModel.load(path("mlp-relu.pt"), 6);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> model.parameterValues("1.weight"))
            .getMessage().contains("no parameter '1.weight'"));
    }
}
