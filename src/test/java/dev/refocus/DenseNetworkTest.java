package dev.refocus;

import dev.refocus.cpu.NativePredictor;
import dev.refocus.testing.RandomNetworks;
import dev.refocus.testing.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static dev.refocus.testing.Messages.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

    /** One copy of the parameters: the views read the very memory the native backends read. */
    @Test
    void shouldHoldTheParametersOnceAndViewThem() throws IOException
    {
        for (final DenseNetwork net : new DenseNetwork[] {DenseNetwork.load(write(sequential())),
            RandomNetworks.network(3, Activation.TANH, 1.0f, 5, 7, 3)})
        {
            final long block = dev.refocus.internal.DenseNetworkAccess.parameterBlock(net).address();
            long offset = 0;
            for (int l = 0; l < net.layers(); l++)
            {
                for (final FloatBuffer view : new FloatBuffer[] {net.weight(l), net.bias(l)})
                {
                    assertTrue(view.isDirect() && view.isReadOnly(), net + ": layer " + l);
                    assertEquals(block + offset * Float.BYTES, new org.bytedeco.javacpp.FloatPointer(view).address(),
                        net + ": layer " + l + " is not a view of the parameter block at float " + offset);
                    offset += view.remaining();
                }
            }
            assertEquals(net.parameterCount(), offset);
        }
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
        unknown.metadata("refocus.hidden_activation", "elu");
        assertFormat("unknown activation 'elu'", unknown);
        final SafetensorsWriter newer = sequential();
        newer.metadata("refocus.activations", "gelu_tanh,sigmoid");
        final DenseNetwork read = DenseNetwork.load(write(newer));
        assertEquals(List.of(Activation.GELU_TANH, Activation.SIGMOID), List.of(read.activation(0), read.activation(1)));
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
    void shouldRefuseTwoSpellingsOfOneLayerIndex() throws IOException
    {
        // 0 and 00 are one number: loading both would silently drop one of the layers
        final SafetensorsWriter zeros = sequential();
        zeros.add("00.weight", new int[] {4, 3}, range(12, 1));
        zeros.add("00.bias", new int[] {4}, range(4, 1));
        assertFormat("tensors '0.weight' and '00.weight' both name layer 0", zeros);

        final SafetensorsWriter twos = new SafetensorsWriter();
        twos.add("net.02.bias", new int[] {2}, range(2, 1));
        twos.add("net.0.weight", new int[] {4, 3}, range(12, 1));
        twos.add("net.0.bias", new int[] {4}, range(4, 1));
        twos.add("net.2.weight", new int[] {2, 4}, range(8, 1));
        twos.add("net.2.bias", new int[] {2}, range(2, 1));
        assertFormat("tensors 'net.02.bias' and 'net.2.weight' both name layer 2", twos);
    }

    @Test
    void shouldLoadTheSameNetworkFromAFileBytesOrAStream() throws IOException
    {
        final DenseNetwork random = RandomNetworks.network(21, Activation.TANH, 1.0f, 7, 9, 6, 4);
        final SafetensorsWriter w = new SafetensorsWriter();
        for (int l = 0; l < random.layers(); l++)
        {
            w.add(2 * l + ".weight", new int[] {random.outputSize(l), random.inputSize(l)}, array(random.weight(l)));
            w.add(2 * l + ".bias", new int[] {random.outputSize(l)}, array(random.bias(l)));
        }
        w.metadata("refocus.activations", "tanh,tanh,identity"); // not the default relu
        final Path file = write(w);
        final byte[] bytes = w.toBytes();

        final DenseNetwork fromFile = DenseNetwork.load(file);
        assertEquals("DenseNetwork[7 -> 9 tanh -> 6 tanh -> 4]", fromFile.toString());
        assertSameNetwork(random, fromFile); // weights as written, activations from the metadata
        assertSameNetwork(fromFile, DenseNetwork.load(bytes));
        assertSameNetwork(fromFile, DenseNetwork.load(new ByteArrayInputStream(bytes)));

        final DenseNetwork identity = DenseNetwork.load(file, Activation.IDENTITY);
        assertEquals(Activation.IDENTITY, identity.activation(1));
        assertSameNetwork(identity, DenseNetwork.load(bytes, Activation.IDENTITY));
        assertSameNetwork(identity, DenseNetwork.load(new ByteArrayInputStream(bytes), Activation.IDENTITY));
    }

    @Test
    void shouldNameTheBytesInEveryProblem() throws IOException
    {
        final byte[] good = sequential().toBytes();
        final byte[] garbage = new byte[200];
        new Random(22).nextBytes(garbage);
        final byte[] shortHeader = Arrays.copyOf(garbage, 40);
        ByteBuffer.wrap(shortHeader).order(ByteOrder.LITTLE_ENDIAN).putLong(16); // a plausible length, then noise

        assertBytesProblem("only 0 bytes, too few for the 8-byte header length", new byte[0]);
        assertBytesProblem("only 7 bytes, too few", Arrays.copyOf(good, 7));
        assertBytesProblem("bytes that follow it (truncated?)", Arrays.copyOf(good, 20));
        assertBytesProblem("but the data section has only", Arrays.copyOf(good, good.length - 1));
        assertBytesProblem("(not a safetensors file?)", garbage);
        assertBytesProblem("the header is not valid", shortHeader);
        final SafetensorsWriter missing = new SafetensorsWriter();
        missing.add("0.weight", new int[] {4, 3}, range(12, 1));
        assertBytesProblem("missing tensor '0.bias'", missing.toBytes());
    }

    @Test
    void shouldNameTheArgumentThatIsNull()
    {
        assertNull("file", () -> DenseNetwork.load((Path)null));
        assertNull("file", () -> DenseNetwork.load((Path)null, Activation.RELU));
        assertNull("hidden", () -> DenseNetwork.load(dir.resolve("never-read"), null));
        assertNull("safetensors", () -> DenseNetwork.load((byte[])null));
        assertNull("safetensors", () -> DenseNetwork.load((byte[])null, Activation.RELU));
        assertNull("hidden", () -> DenseNetwork.load(new byte[0], null));
        assertNull("in", () -> DenseNetwork.load((InputStream)null));
        assertNull("in", () -> DenseNetwork.load((InputStream)null, Activation.RELU));
        assertNull("hidden", () -> DenseNetwork.load(new ByteArrayInputStream(new byte[0]), null));
    }

    @Test
    void shouldRefuseADirectory()
    {
        final ModelFormatException e = assertThrows(ModelFormatException.class, () -> DenseNetwork.load(dir));
        assertEquals("safetensors file " + dir + ": is a directory, not a file", e.getMessage());
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

    /** Same shape and activations, and every weight and bias the same bits. */
    private static void assertSameNetwork(final DenseNetwork expected, final DenseNetwork actual)
    {
        assertEquals(expected.layers(), actual.layers());
        assertEquals(expected.inputSize(), actual.inputSize());
        for (int l = 0; l < expected.layers(); l++)
        {
            assertEquals(expected.outputSize(l), actual.outputSize(l), "outputs of layer " + l);
            assertEquals(expected.activation(l), actual.activation(l), "activation of layer " + l);
            assertArrayEquals(bits(expected.weight(l)), bits(actual.weight(l)), "weight of layer " + l);
            assertArrayEquals(bits(expected.bias(l)), bits(actual.bias(l)), "bias of layer " + l);
        }
    }

    private static float[] array(final FloatBuffer buffer)
    {
        final float[] values = new float[buffer.remaining()];
        buffer.get(values);
        return values;
    }

    private static int[] bits(final FloatBuffer buffer)
    {
        return bits(array(buffer));
    }

    private static int[] bits(final float[] values)
    {
        final int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++)
        {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }

    /**
     * A file whose weight matrices are all BF16 (a model saved after .to(torch.bfloat16)) loads as a bf16 network of
     * exactly its values, F32 and BF16 biases widened; the native step gives it the bits it gives the same network
     * made by rounding; with one F32 weight matrix the network is float32, BF16 values widened exactly.
     */
    @Test
    void shouldKeepAFilesBf16WeightsAsABf16Network() throws IOException
    {
        final Random random = new Random(5);
        final int[] sizes = {5, 4, 3};
        final SafetensorsWriter bf16File = new SafetensorsWriter();
        final SafetensorsWriter mixedFile = new SafetensorsWriter();
        final DenseNetwork.Builder widenedNetwork = DenseNetwork.builder(sizes[0]);
        final float[][] widenedWeights = new float[2][];
        for (int l = 0; l < 2; l++)
        {
            final short[] weight = new short[sizes[l] * sizes[l + 1]];
            widenedWeights[l] = new float[weight.length];
            for (int i = 0; i < weight.length; i++)
            {
                weight[i] = Bfloat16.round((float)random.nextGaussian());
                widenedWeights[l][i] = Bfloat16.widen(weight[i]);
            }
            final short[] bias = new short[sizes[l + 1]];
            final float[] widenedBias = new float[bias.length];
            for (int i = 0; i < bias.length; i++)
            {
                bias[i] = Bfloat16.round((float)random.nextGaussian());
                widenedBias[i] = Bfloat16.widen(bias[i]);
            }
            final int[] shape = {sizes[l + 1], sizes[l]};
            bf16File.addBf16(l + ".weight", shape, weight);
            if (l == 0)
            {
                bf16File.add(l + ".bias", new int[] {bias.length}, widenedBias);  // an F32 bias beside BF16 weights
                mixedFile.add(l + ".weight", shape, widenedWeights[l])
                    .addBf16(l + ".bias", new int[] {bias.length}, bias);
            }
            else
            {
                bf16File.addBf16(l + ".bias", new int[] {bias.length}, bias);
                mixedFile.addBf16(l + ".weight", shape, weight).addBf16(l + ".bias", new int[] {bias.length}, bias);
            }
            widenedNetwork.layer(widenedWeights[l], widenedBias, l == 0 ? Activation.RELU : Activation.IDENTITY);
        }

        final DenseNetwork loaded = DenseNetwork.load(bf16File.toBytes());
        final DenseNetwork mixed = DenseNetwork.load(mixedFile.toBytes());
        final DenseNetwork rounded = widenedNetwork.build().toWeightFormat(DenseNetwork.WeightFormat.BFLOAT16);

        assertEquals(DenseNetwork.WeightFormat.BFLOAT16, loaded.weightFormat());
        assertEquals(DenseNetwork.WeightFormat.FLOAT32, mixed.weightFormat());
        assertEquals(rounded.parameterBytes(), loaded.parameterBytes());
        for (int l = 0; l < 2; l++)
        {
            assertArrayEquals(bits(widenedWeights[l]), bits(loaded.weight(l)), "weight " + l);
            assertArrayEquals(bits(rounded.bias(l)), bits(loaded.bias(l)), "bias " + l);
            assertArrayEquals(bits(widenedWeights[l]), bits(mixed.weight(l)), "mixed weight " + l);
            assertArrayEquals(bits(rounded.bias(l)), bits(mixed.bias(l)), "mixed bias " + l);
        }
        final RefocusConfig config = RefocusConfig.builder(0.5f).build();
        try (NativePredictor fromFile = NativePredictor.create(loaded, config);
             NativePredictor fromRounding = NativePredictor.create(rounded, config))
        {
            final Prediction a = fromFile.newPrediction();
            final Prediction b = fromRounding.newPrediction();
            for (int k = 0; k < 20; k++)
            {
                final float[] input = new float[sizes[0]];
                for (int i = 0; i < input.length; i++)
                {
                    input[i] = (float)random.nextGaussian();
                }
                fromFile.predict(input, 0.5f, 1.0f, a);
                fromRounding.predict(input, 0.5f, 1.0f, b);
                assertTrue(a.adapted(), "an uncertain sample adapts");
                assertArrayEquals(bits(b.logits()), bits(a.logits()), "sample " + k);
            }
        }
    }

    @Test
    void shouldRefuseOtherFloatDtypesNamingThem() throws IOException
    {
        final String header = "{\"0.weight\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[0,4]},"
            + "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
        final ModelFormatException e = assertThrows(ModelFormatException.class,
            () -> DenseNetwork.load(SafetensorsWriter.file(header, new byte[8])));
        assertTrue(e.getMessage().contains("tensor '0.weight' has dtype F16; refocus reads F32 (float32) and BF16"),
            e.getMessage());
    }

    /** The same problem from the array and from a stream of it, named as "safetensors bytes". */
    private static void assertBytesProblem(final String fragment, final byte[] bytes)
    {
        for (final Executable load : new Executable[] {
            () -> DenseNetwork.load(bytes), () -> DenseNetwork.load(new ByteArrayInputStream(bytes))})
        {
            final ModelFormatException e = assertThrows(ModelFormatException.class, load);
            assertTrue(e.getMessage().startsWith("safetensors bytes: ") && e.getMessage().contains(fragment),
                () -> "message '" + e.getMessage() + "' lacks 'safetensors bytes: ..." + fragment + "'");
        }
    }

    private static void assertNull(final String parameter, final Executable call)
    {
        assertEquals(parameter, assertThrows(NullPointerException.class, call).getMessage());
    }

    private void assertFormat(final String fragment, final SafetensorsWriter w) throws IOException
    {
        final Path file = write(w);
        final ModelFormatException e = assertThrows(ModelFormatException.class, () -> DenseNetwork.load(file));
        assertTrue(e.getMessage().contains(fragment), () -> "message '" + e.getMessage() + "' lacks '" + fragment + "'");
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }
}
