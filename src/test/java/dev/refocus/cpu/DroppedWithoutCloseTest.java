package dev.refocus.cpu;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.testing.NativeMemoryProbe;
import dev.refocus.testing.RandomNetworks;
import org.junit.jupiter.api.Test;

import java.util.Locale;
import java.util.Random;
import java.util.function.IntConsumer;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Native memory comes back when predictors, focus heads and networks are dropped without {@code close()}: a
 * predictor's {@code Cleaner} (its workspace), the JVM (a network's direct parameter buffer) and JavaCPP's
 * deallocator (a focus head's buffers) free it once the garbage collector finds them. Each test makes {@value #OBJECTS} of one kind in a loop,
 * keeps none, checks that their memory was counted, collects garbage and waits (at most
 * {@value #WAIT_MILLIS} ms, in short steps) for the count to return to where it was.
 */
class DroppedWithoutCloseTest
{
    private static final int OBJECTS = 200;
    private static final long WAIT_MILLIS = 10_000;
    private static final int[] SIZES = {64, 128, 10};
    private static final RefocusConfig CONFIG = RefocusConfig.builder(0.05f).marginThreshold(1.0f).build();

    private final float[] input = RandomNetworks.gaussian(new Random(3), SIZES[0]);

    @Test
    void shouldFreeNetworksAndPredictorsDroppedWithoutClose() throws InterruptedException
    {
        dropped("networks, each with an IMPLICIT predictor", i -> {
            final DenseNetwork network = RandomNetworks.network(i, Activation.RELU, 1.0f, SIZES);
            final NativePredictor predictor = NativePredictor.create(network, CONFIG);
            predictor.predict(input, predictor.newPrediction());
        });
    }

    @Test
    void shouldFreeShadowBatchPredictorsDroppedWithoutClose() throws InterruptedException
    {
        final DenseNetwork network = RandomNetworks.network(5, Activation.RELU, 1.0f, SIZES);
        NativePredictor.create(network, CONFIG).close(); // the network's parameters stay
        dropped("SHADOW predictors of batches of 8 on one network", i -> {
            final NativePredictor predictor = NativePredictor.create(network, CONFIG, NativePredictor.Mode.SHADOW, 8);
            predictor.predict(input, predictor.newPrediction());
        });
    }

    @Test
    void shouldFreeNetworksWhosePredictorsWereClosed() throws InterruptedException
    {
        dropped("networks whose predictor was closed", i -> {
            final DenseNetwork network = RandomNetworks.network(i, Activation.TANH, 1.0f, SIZES);
            NativePredictor.create(network, CONFIG).close(); // the parameters stay with the network
        });
    }

    @Test
    void shouldFreeFocusHeadsDroppedWithoutClose() throws InterruptedException
    {
        final float[] logits = RandomNetworks.gaussian(new Random(4), 1000);
        dropped("focus heads of 1000 classes", i -> new FocusHead(logits.length, CONFIG).evaluate(logits));
    }

    private static void dropped(final String what, final IntConsumer makeAndDrop) throws InterruptedException
    {
        NativeMemoryProbe.settle();
        final long baseline = NativeMemoryProbe.bytes();
        long peak = baseline;
        for (int i = 0; i < OBJECTS; i++)
        {
            makeAndDrop.accept(i);
            peak = Math.max(peak, NativeMemoryProbe.bytes());
        }
        final long held = peak;
        final long start = System.nanoTime();
        final long after = NativeMemoryProbe.awaitAtMost(NativeMemoryProbe::bytes, baseline, WAIT_MILLIS);
        final long millis = (System.nanoTime() - start) / 1_000_000;

        System.out.printf(Locale.ROOT, "dropped %d %s: native %d bytes before, %d at the peak, %d after %d ms%n",
            OBJECTS, what, baseline, held, after, millis);
        assertTrue(held > baseline, () -> what + ": none of their memory was counted");
        assertTrue(after <= baseline, () -> what + ": " + (after - baseline) + " bytes of native memory still held "
            + WAIT_MILLIS + " ms after the garbage collection (" + baseline + " before, " + held + " at the peak)");
    }

    /** The objects of the tests, once, so that a failure to make one is not mistaken for a leak. */
    @Test
    void shouldMakeWhatTheOtherTestsDrop()
    {
        final DenseNetwork network = RandomNetworks.network(1, Activation.RELU, 1.0f, SIZES);
        try (NativePredictor predictor = NativePredictor.create(network, CONFIG);
            FocusHead head = new FocusHead(SIZES[2], CONFIG))
        {
            final Prediction out = predictor.newPrediction();
            predictor.predict(input, out);
            assertTrue(out.adapted()); // d = 1: every sample adapts, so the step's workspace is used
            assertTrue(head.evaluate(out.logits()));
        }
    }
}
