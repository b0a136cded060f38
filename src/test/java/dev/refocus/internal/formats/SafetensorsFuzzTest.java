package dev.refocus.internal.formats;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.refocus.DenseNetwork;
import dev.refocus.ModelFormatException;
import dev.refocus.testing.FuzzWatchdog;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.FloatBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Fuzzes the safetensors reader with untrusted bytes, as a model shipped as bytes arrives: {@link SafetensorsFile}
 * and {@link DenseNetwork#load(byte[])}. The contract: a {@link ModelFormatException} and nothing else (no other
 * exception, no {@link OutOfMemoryError}, no hang); an array and a stream of the same bytes give the same answer;
 * what loads is a consistent network.
 * <p>
 * {@code mvn verify} fuzzes it for the time the build gives it (see the README's testing part); the seeds in
 * {@code SafetensorsFuzzTestInputs/denseNetworkFromBytes} are small files written by
 * {@link dev.refocus.testing.SafetensorsWriter}: two layers with activations metadata, one layer, a scalar and an
 * I64 tensor. Without {@code JAZZER_FUZZ} the test replays them (and any crash Jazzer saved there).
 */
@ExtendWith(FuzzWatchdog.class)
class SafetensorsFuzzTest
{
    @FuzzTest(maxDuration = "30s")
    void denseNetworkFromBytes(final byte[] bytes)
    {
        checkFile(bytes);
        final Object fromArray = loadOrProblem(bytes, false);
        final Object fromStream = loadOrProblem(bytes, true);
        if (fromArray instanceof DenseNetwork network)
        {
            checkNetwork(network);
            assertTrue(fromStream instanceof DenseNetwork, () -> "the stream gave " + fromStream);
            assertSameNetwork(network, (DenseNetwork)fromStream);
        }
        else
        {
            assertEquals(fromArray, fromStream, "an array and a stream of the same bytes");
        }
    }

    /** The reader alone: every tensor it accepts is readable as its dtype says. */
    private static void checkFile(final byte[] bytes)
    {
        final SafetensorsFile file;
        try
        {
            file = SafetensorsFile.read(bytes);
        }
        catch (final ModelFormatException expected)
        {
            assertTrue(expected.getMessage().startsWith("safetensors bytes: "), expected::getMessage);
            return;
        }
        for (final String name : file.tensorNames())
        {
            long count = 1;
            for (final int dim : file.shape(name))
            {
                assertTrue(dim >= 0, name);
                count *= dim;
            }
            try
            {
                assertEquals(count, file.floats(name).length, name);
                assertEquals("F32", file.dtype(name), name);
            }
            catch (final ModelFormatException notF32)
            {
                assertTrue(!"F32".equals(file.dtype(name)), notF32::getMessage);
            }
        }
    }

    /** @return the network, or the message of the {@link ModelFormatException}; anything else fails the test. */
    private static Object loadOrProblem(final byte[] bytes, final boolean stream)
    {
        try
        {
            return stream ? DenseNetwork.load(new ByteArrayInputStream(bytes)) : DenseNetwork.load(bytes);
        }
        catch (final ModelFormatException expected)
        {
            return expected.getMessage();
        }
        catch (final IOException unexpected)
        {
            return fail("a stream of bytes cannot fail to read, only to parse", unexpected);
        }
    }

    private static void checkNetwork(final DenseNetwork network)
    {
        assertTrue(network.layers() >= 1);
        for (int l = 0; l < network.layers(); l++)
        {
            final int in = network.inputSize(l);
            final int out = network.outputSize(l);
            assertTrue(in >= 1 && out >= 1, network::toString);
            assertEquals((long)in * out, network.weight(l).remaining(), network::toString);
            assertEquals(out, network.bias(l).remaining(), network::toString);
            if (l > 0)
            {
                assertEquals(network.outputSize(l - 1), in, network::toString);
            }
            assertTrue(network.activation(l) != null);
        }
        assertEquals(network.outputSize(network.layers() - 1), network.classes());
    }

    private static void assertSameNetwork(final DenseNetwork expected, final DenseNetwork actual)
    {
        assertEquals(expected.toString(), actual.toString());
        for (int l = 0; l < expected.layers(); l++)
        {
            assertEquals(expected.activation(l), actual.activation(l));
            assertSameBits(expected.weight(l), actual.weight(l));
            assertSameBits(expected.bias(l), actual.bias(l));
        }
    }

    private static void assertSameBits(final FloatBuffer expected, final FloatBuffer actual)
    {
        assertEquals(expected.remaining(), actual.remaining());
        for (int i = 0; i < expected.remaining(); i++)
        {
            assertEquals(Float.floatToRawIntBits(expected.get(i)), Float.floatToRawIntBits(actual.get(i)));
        }
    }
}
