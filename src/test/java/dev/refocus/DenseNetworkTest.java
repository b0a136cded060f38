package dev.refocus;

import dev.refocus.testing.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;

import static dev.refocus.testing.Messages.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DenseNetworkTest
{
    @TempDir
    Path dir;

    private static float[] range(final int n, final float scale)
    {
        final float[] v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = i * scale;
        }
        return v;
    }

    /** An nn.Sequential(Linear(3, 4), ReLU(), Linear(4, 2)) state dict. */
    private static SafetensorsWriter sequential()
    {
        final SafetensorsWriter w = new SafetensorsWriter();
        w.add("0.weight", new int[] {4, 3}, range(12, 0.1f));
        w.add("0.bias", new int[] {4}, range(4, 0.01f));
        w.add("2.weight", new int[] {2, 4}, range(8, -0.1f));
        w.add("2.bias", new int[] {2}, range(2, 1.0f));
        return w;
    }

    private Path write(final SafetensorsWriter w) throws IOException
    {
        final Path file = dir.resolve("model.safetensors");
        w.write(file);
        return file;
    }

    @Test
    void shouldLoadASequentialStateDict() throws IOException
    {
        final DenseNetwork net = DenseNetwork.load(write(sequential()));
        assertEquals(2, net.layers());
        assertEquals(3, net.inputSize());
        assertEquals(2, net.classes());
        assertEquals(4, net.outputSize(0));
        assertEquals(Activation.RELU, net.activation(0));
        assertEquals(Activation.IDENTITY, net.activation(1));
        assertEquals(12 + 4 + 8 + 2, net.parameterCount());
        final FloatBuffer w0 = net.weight(0);
        assertEquals(12, w0.remaining());
        assertEquals(0.5f, w0.get(5), 1e-7f); // row 1, column 2 of [out, in]
        assertTrue(w0.isReadOnly());
        assertEquals("DenseNetwork[3 -> 4 relu -> 2]", net.toString());
    }

    @Test
    void shouldTakeActivationsFromMetadataOrTheCaller() throws IOException
    {
        final SafetensorsWriter w = sequential();
        w.metadata("refocus.activations", "tanh,identity");
        assertEquals(Activation.TANH, DenseNetwork.load(write(w)).activation(0));
        final SafetensorsWriter hidden = sequential();
        hidden.metadata("refocus.hidden_activation", "tanh");
        assertEquals(Activation.TANH, DenseNetwork.load(write(hidden)).activation(0));
        assertEquals(Activation.IDENTITY, DenseNetwork.load(write(sequential()), Activation.IDENTITY).activation(0));
        final SafetensorsWriter bad = sequential();
        bad.metadata("refocus.activations", "relu");
        assertFormat("names 1 activations for 2 layers", bad);
        final SafetensorsWriter unknown = sequential();
        unknown.metadata("refocus.hidden_activation", "gelu");
        assertFormat("unknown activation 'gelu'", unknown);
    }

    @Test
    void shouldAcceptOneCommonPrefix() throws IOException
    {
        final SafetensorsWriter w = new SafetensorsWriter();
        w.add("net.10.weight", new int[] {2, 3}, range(6, 1));
        w.add("net.10.bias", new int[] {2}, range(2, 1));
        w.add("net.2.weight", new int[] {3, 5}, range(15, 1));
        w.add("net.2.bias", new int[] {3}, range(3, 1));
        final DenseNetwork net = DenseNetwork.load(write(w));
        assertEquals(5, net.inputSize()); // layer 2 comes before layer 10: numeric order
        assertEquals(2, net.classes());
    }

    @Test
    void shouldNameWhatIsWrongWithTheTensors() throws IOException
    {
        final SafetensorsWriter missing = new SafetensorsWriter();
        missing.add("0.weight", new int[] {4, 3}, range(12, 1));
        assertFormat("missing tensor '0.bias'", missing);

        final SafetensorsWriter chain = sequential();
        chain.add("4.weight", new int[] {2, 3}, range(6, 1));
        chain.add("4.bias", new int[] {2}, range(2, 1));
        assertFormat("shapes do not chain: '4.weight' is [2, 3] but the previous layer has 2 outputs", chain);

        final SafetensorsWriter cube = new SafetensorsWriter();
        cube.add("0.weight", new int[] {2, 2, 2}, range(8, 1));
        cube.add("0.bias", new int[] {2}, range(2, 1));
        assertFormat("has 3 dimensions", cube);

        final SafetensorsWriter bias = new SafetensorsWriter();
        bias.add("0.weight", new int[] {2, 3}, range(6, 1));
        bias.add("0.bias", new int[] {3}, range(3, 1));
        assertFormat("'0.bias' has shape [3]", bias);

        final SafetensorsWriter stray = sequential();
        stray.add("running_mean", new int[] {2}, range(2, 1));
        assertFormat("'running_mean' does not follow the dense naming convention", stray);

        final SafetensorsWriter prefixes = sequential();
        prefixes.add("head.4.weight", new int[] {2, 2}, range(4, 1));
        assertFormat("do not share one prefix", prefixes);

        assertFormat("holds no tensor", new SafetensorsWriter());
    }

    @Test
    void shouldRejectInconsistentArrays()
    {
        final DenseNetwork.Builder b = DenseNetwork.builder(3);
        assertMessage("weight has 5 values, expected out * in = 2 * 3",
            () -> b.layer(new float[5], new float[2], Activation.RELU));
        assertMessage("weight row 1 has 2 values, expected 3",
            () -> b.layer(new float[][] {{1, 2, 3}, {1, 2}}, new float[2], Activation.RELU));
        assertThrows(IllegalStateException.class, b::build);
        assertMessage("input size", () -> DenseNetwork.builder(0));
    }

    @Test
    void shouldCopyTheArraysItIsBuiltFrom()
    {
        final float[] w = {1, 2, 3, 4, 5, 6};
        final DenseNetwork net = DenseNetwork.builder(3).layer(w, new float[2], Activation.IDENTITY).build();
        w[0] = 100;
        assertEquals(1.0f, net.weight(0).get(0));
    }

    private void assertFormat(final String fragment, final SafetensorsWriter w) throws IOException
    {
        final Path file = write(w);
        final ModelFormatException e = assertThrows(ModelFormatException.class, () -> DenseNetwork.load(file));
        assertTrue(e.getMessage().contains(fragment), () -> "message '" + e.getMessage() + "' lacks '" + fragment + "'");
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }
}
