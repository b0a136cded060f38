package dev.refocus;

import dev.refocus.cpu.NativePredictor;
import dev.refocus.reference.ReferencePredictor;
import dev.refocus.testing.RandomNetworks;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fallback rule on the dense backends: when a forward pass with the adapted parameters gives a non-finite
 * candidate logit, the prediction is the plain one ({@link Prediction#fellBack()}); a NaN logit of the plain pass is an
 * {@link ArithmeticException}.
 *
 * <p>The network is small enough to follow by hand: 2 inputs, 2 ReLU units (W1 = I, b1 = 0), 3 classes with
 * W2 = [[1, 0], [0, 1], [0, 0]] and b2 = [0, 0, 1.01]. With IFO_WEIGHTED, no clipping and &eta; = 1e30:
 * <ul>
 * <li>x = [1, 1]: plain logits [1, 1, 1.01], initial class 2, focus {2, 0}. The step lifts unit 0 to about 1e30
 *     and rows 0 and 2 of W2 by about 3e29, so the adapted logits are [+&infin;, 1, +&infin;] in float (about 3e59
 *     in double): without the rule the answer would be class 0, from infinite logits.</li>
 * <li>x = [1e5, 1e5]: plain logits [1e5, 1e5, 1.01]. Both units reach about 1e40, +&infin; in float, and class 2's
 *     logit is 0 &times; &infin; = NaN in float (1.01 in double, next to logits of about 1e75).</li>
 * <li>x = [-1, -1]: both units are off, only b2 moves: adapted logits about [3.3e29, 0, 3.4e29], large but finite,
 *     so the step's answer (class 2) stands.</li>
 * <li>x = [3, 0]: certain at d = 0.5.</li>
 * </ul>
 */
class NonFiniteStepTest
{
    private static final DenseNetwork NETWORK = DenseNetwork.builder(2)
        .layer(new float[] {1, 0, 0, 1}, new float[] {0, 0}, Activation.RELU)
        .layer(new float[] {1, 0, 0, 1, 0, 0}, new float[] {0, 0, 1.01f}, Activation.IDENTITY)
        .build();
    private static final float HUGE_ETA = 1e30f;
    private static final float D = 0.5f;
    private static final float[] OVERFLOW = {1, 1};
    private static final float[] NAN = {1e5f, 1e5f};
    private static final float[] DEAD = {-1, -1};
    private static final float[] CERTAIN = {3, 0};

    /** The dense backends, each as its own factory. */
    enum Backend
    {
        IMPLICIT, SHADOW, REFERENCE;

        Predictor create(final DenseNetwork network, final RefocusConfig config)
        {
            switch (this)
            {
                case IMPLICIT:
                    return NativePredictor.create(network, config, NativePredictor.Mode.IMPLICIT, 4);
                case SHADOW:
                    return NativePredictor.create(network, config, NativePredictor.Mode.SHADOW, 4);
                default:
                    return ReferencePredictor.create(network, config);
            }
        }
    }

    private static RefocusConfig config(final int steps)
    {
        return RefocusConfig.builder(HUGE_ETA).clipNorm(0).steps(steps).marginThreshold(D).build();
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void shouldFallBackToThePlainPredictionWhenTheStepOverflows(final Backend backend)
    {
        for (int steps = 1; steps <= 3; steps++)
        {
            try (Predictor predictor = backend.create(NETWORK, config(steps)))
            {
                final Prediction out = predictor.newPrediction();
                predictor.predict(OVERFLOW, out);
                assertFellBack(out, 2, new float[] {1, 1, 1.01f}, "T = " + steps);
                predictor.predict(NAN, out);
                assertFellBack(out, 0, new float[] {1e5f, 1e5f, 1.01f}, "T = " + steps);
            }
        }
    }

    private static void assertFellBack(final Prediction out, final int initial, final float[] plainLogits,
        final String where)
    {
        assertTrue(out.adapted(), where);
        assertTrue(out.fellBack(), where);
        assertEquals(initial, out.initialClass(), where);
        assertEquals(initial, out.finalClass(), where);
        assertFalse(out.changed(), where);
        assertArrayEquals(plainLogits, out.logits(), 1e-6f, where);
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void shouldKeepTheAnswerOfAHugeButFiniteStep(final Backend backend)
    {
        try (Predictor predictor = backend.create(NETWORK, config(1)))
        {
            final Prediction out = predictor.newPrediction();
            predictor.predict(DEAD, out);
            assertTrue(out.adapted());
            assertFalse(out.fellBack());
            assertEquals(2, out.finalClass());
            assertTrue(out.logit(2) > 1e29f && Float.isFinite(out.logit(2)), out.toString());
        }
    }

    @Test
    void shouldFallBackSampleBySampleInABatch()
    {
        final float[][] samples = {DEAD, OVERFLOW, CERTAIN, NAN};
        final float[] batch = new float[8];
        for (int i = 0; i < samples.length; i++)
        {
            System.arraycopy(samples[i], 0, batch, 2 * i, 2);
        }
        for (final NativePredictor.Mode mode : NativePredictor.Mode.values())
        {
            for (int steps = 1; steps <= 2; steps++)
            {
                try (NativePredictor batched = NativePredictor.create(NETWORK, config(steps), mode, 4);
                    NativePredictor single = NativePredictor.create(NETWORK, config(steps), mode, 1))
                {
                    final Prediction[] out = {batched.newPrediction(), batched.newPrediction(),
                        batched.newPrediction(), batched.newPrediction()};
                    batched.predict(batch, 4, out);
                    final boolean[] fellBack = {false, true, false, true};
                    final boolean[] adapted = {true, true, false, true};
                    final Prediction one = single.newPrediction();
                    for (int i = 0; i < samples.length; i++)
                    {
                        final String where = mode + " T = " + steps + " sample " + i;
                        assertEquals(adapted[i], out[i].adapted(), where);
                        assertEquals(fellBack[i], out[i].fellBack(), where);
                        single.predict(samples[i], one);
                        assertEquals(one.toString(), out[i].toString(), where); // bit for bit, flags included
                    }
                }
            }
        }
    }

    @Test
    void shouldFallBackAtTheRatesOfASweepThatOverflow()
    {
        for (final NativePredictor.Mode mode : NativePredictor.Mode.values())
        {
            try (NativePredictor predictor = NativePredictor.create(NETWORK, config(1), mode, 1))
            {
                final Prediction out = predictor.newPrediction();
                final int[] finals = new int[3];
                predictor.sweep(OVERFLOW, new float[] {0.1f, HUGE_ETA, 0.2f}, D, out, finals);
                assertFalse(out.fellBack(), mode + ": the last rate's result");
                assertEquals(2, finals[1], mode + ": the initial class at the rate that falls back");
                predictor.sweep(OVERFLOW, new float[] {0.1f, HUGE_ETA}, D, out, finals);
                assertFellBack(out, 2, new float[] {1, 1, 1.01f}, mode + " sweep");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void shouldNeverFallBackOnOrdinarySamples(final Backend backend)
    {
        final DenseNetwork network = RandomNetworks.network(21, Activation.RELU, 0.1f, 12, 20, 16, 6);
        final Random random = new Random(22);
        int adapted = 0;
        for (final float clip : new float[] {0.0f, 1.0f})
        {
            final RefocusConfig config = RefocusConfig.builder(2.0f).clipNorm(clip).steps(2).marginThreshold(0.3f)
                .build();
            try (Predictor predictor = backend.create(network, config))
            {
                final Prediction out = predictor.newPrediction();
                for (int i = 0; i < 200; i++)
                {
                    predictor.predict(RandomNetworks.gaussian(random, 12), out);
                    assertFalse(out.fellBack(), out.toString());
                    adapted += out.adapted() ? 1 : 0;
                }
            }
        }
        assertTrue(adapted > 100, adapted + " of 400 adapted");
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void shouldThrowWhenThePlainLogitsAreNaN(final Backend backend)
    {
        // NaN in class 1's bias: NaN plain logits, whatever the step would do
        final DenseNetwork network = DenseNetwork.builder(2)
            .layer(new float[] {1, 0, 0, 1, 0, 0}, new float[] {0, Float.NaN, 0}, Activation.IDENTITY).build();
        try (Predictor predictor = backend.create(network, config(1)))
        {
            final Prediction out = predictor.newPrediction();
            assertThrows(ArithmeticException.class, () -> predictor.predict(OVERFLOW, out));
            if (predictor instanceof NativePredictor)
            {
                assertThrows(ArithmeticException.class, () -> ((NativePredictor)predictor).forward(OVERFLOW, out));
            }
        }
        // a NaN hidden unit: ReLU keeps it, as PyTorch's does, instead of answering from a 0
        final DenseNetwork nanHidden = DenseNetwork.builder(2)
            .layer(new float[] {1, 0, 0, 1}, new float[] {Float.NaN, 0}, Activation.RELU)
            .layer(new float[] {1, 0, 0, 1, 1, 1}, new float[] {0, 0, 0}, Activation.IDENTITY).build();
        try (Predictor predictor = backend.create(nanHidden, config(1)))
        {
            assertThrows(ArithmeticException.class, () -> predictor.predict(OVERFLOW, predictor.newPrediction()));
        }
        // overflowing weights: class 0's logit is 1e30 * 1e30 - 1e30 * 1e30, inf - inf = NaN in float (0 in the
        // reference's double, so only the float backend is asked)
        final DenseNetwork overflowing = DenseNetwork.builder(2)
            .layer(new float[] {1e30f, 0, 0, 1e30f}, new float[] {0, 0}, Activation.IDENTITY)
            .layer(new float[] {1e30f, -1e30f, 1, 0, 0, 1}, new float[] {0, 0, 0}, Activation.IDENTITY).build();
        try (NativePredictor predictor = NativePredictor.create(overflowing, config(1)))
        {
            final Prediction out = predictor.newPrediction();
            assertThrows(ArithmeticException.class, () -> predictor.forward(OVERFLOW, out));
            assertThrows(ArithmeticException.class, () -> predictor.predict(OVERFLOW, out));
        }
    }
}
