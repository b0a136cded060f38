package dev.refocus.onnx;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.refocus.DenseNetwork;
import dev.refocus.ModelFormatException;
import dev.refocus.testing.FuzzWatchdog;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the ONNX import with untrusted bytes: {@link OnnxImport#load(byte[])}. The contract: a
 * {@link ModelFormatException} whose message starts with "ONNX bytes: " and nothing else (no other exception, no
 * {@link OutOfMemoryError}, no hang); what loads is a consistent network.
 * <p>
 * {@code mvn verify} fuzzes it for the time the build gives it (see the README's testing part); the seeds in
 * {@code OnnxFuzzTestInputs/importFromBytes} are the test models of {@code make_onnx_models.py} (four MLPs and a
 * convolution). Without {@code JAZZER_FUZZ} the test replays them (and any crash Jazzer saved there).
 */
@ExtendWith(FuzzWatchdog.class)
class OnnxFuzzTest
{
    @FuzzTest(maxDuration = "30s")
    void importFromBytes(final byte[] bytes)
    {
        final DenseNetwork network;
        try
        {
            network = OnnxImport.load(bytes);
        }
        catch (final ModelFormatException expected)
        {
            assertTrue(expected.getMessage().startsWith("ONNX bytes: "), expected::getMessage);
            return;
        }
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
        }
    }
}
