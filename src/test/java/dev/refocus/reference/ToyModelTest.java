package dev.refocus.reference;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.Method;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The 3-class toy model of the paper's Section 3, worked by hand: y0 = c0 x0 + c4 x3, y1 = c1 x1 + c5 x3,
 * y2 = c2 x2 + c6 x3, with x3 the feature shared by all classes. As one linear layer, every one of its 12
 * weights and 3 biases adapts, and a single step changes the logits by -&eta; dz<sub>c</sub> (|x|<sup>2</sup> + 1).
 */
class ToyModelTest
{
    // c0 = c1 = c2 = 1, c4 = c5 = 0.5, c6 = -0.5; zero elsewhere and zero biases
    private static final float[] W = {
        1, 0, 0, 0.5f,
        0, 1, 0, 0.5f,
        0, 0, 1, -0.5f};
    // y = (1.5, 1.3, -0.3); |x|^2 + 1 = 1 + 0.64 + 0.04 + 1 + 1 = 3.68
    private static final float[] X = {1.0f, 0.8f, 0.2f, 1.0f};
    private static final DenseNetwork TOY = DenseNetwork.builder(4).layer(W, new float[3], Activation.IDENTITY).build();

    private static Prediction predict(final RefocusConfig config)
    {
        final ReferencePredictor predictor = ReferencePredictor.create(TOY, config);
        final Prediction out = predictor.newPrediction();
        predictor.predict(X, out);
        return out;
    }

    @Test
    void shouldFindTheSampleUncertainWithTheTopTwoInFocus()
    {
        // p = softmax(1.5, 1.3, -0.3) = (0.504025, 0.412662, 0.083315): margin 0.091364 < 0.16
        final Prediction out = predict(RefocusConfig.builder(0.0f).build());
        assertTrue(out.adapted());
        assertEquals(0.091364, out.margin(), 1e-6);
        assertEquals(0, out.initialClass());
        assertArrayEquals(new float[] {1.5f, 1.3f, -0.3f}, out.logits(), 1e-6f);
    }

    @Test
    void shouldRaiseBothFocusLogitsEquallyWithIfo()
    {
        // dz = (-1/2, -1/2, 0): each focus logit rises by 0.1 * 0.5 * 3.68 = 0.184, so the shared x3 weights
        // c4, c5 rise by eta * x3 / 2 = 0.05 each and c6 does not move
        final ReferencePredictor predictor = ReferencePredictor.create(TOY,
            RefocusConfig.builder(0.1f).method(Method.IFO).clipNorm(0.0f).build());
        final Prediction out = predictor.newPrediction();
        predictor.predict(X, out);
        assertArrayEquals(new float[] {1.684f, 1.484f, -0.3f}, out.logits(), 1e-6f);
        assertEquals(0.55, predictor.parameterWeights()[0][3], 1e-7);
        assertEquals(0.55, predictor.parameterWeights()[0][7], 1e-7);
        assertEquals(-0.5, predictor.parameterWeights()[0][11], 1e-7);
        assertEquals(0, out.finalClass());
    }

    @Test
    void shouldLowerOnlyTheOutOfFocusLogitWithDofo()
    {
        // dz = (0, 0, 1): y2 falls by 0.1 * 3.68; c2 falls by eta * x2 = 0.02, c6 by eta * x3 = 0.1
        final ReferencePredictor predictor = ReferencePredictor.create(TOY,
            RefocusConfig.builder(0.1f).method(Method.DOFO).clipNorm(0.0f).build());
        final Prediction out = predictor.newPrediction();
        predictor.predict(X, out);
        assertArrayEquals(new float[] {1.5f, 1.3f, -0.668f}, out.logits(), 1e-6f);
        assertEquals(0.98, predictor.parameterWeights()[0][10], 1e-7);
        assertEquals(-0.6, predictor.parameterWeights()[0][11], 1e-7);
    }

    @Test
    void shouldWeightTheFocusLogitsByTheirProbability()
    {
        // dz = (-p0, -p1, 0): y0 rises by 0.1 * 0.504025 * 3.68 = 0.185481, y1 by 0.1 * 0.412664 * 3.68
        final Prediction out = predict(RefocusConfig.builder(0.1f).clipNorm(0.0f).build());
        final double p0 = Math.exp(1.5) / (Math.exp(1.5) + Math.exp(1.3) + Math.exp(-0.3));
        final double p1 = Math.exp(1.3) / (Math.exp(1.5) + Math.exp(1.3) + Math.exp(-0.3));
        assertEquals(0.504025, p0, 1e-6);
        assertEquals(1.5 + 0.1 * p0 * 3.68, out.logit(0), 1e-6);
        assertEquals(1.3 + 0.1 * p1 * 3.68, out.logit(1), 1e-6);
        assertEquals(-0.3, out.logit(2), 1e-6);
    }

    @Test
    void shouldClipTheWholeGradientToNormOne()
    {
        // IFO: |grad|^2 = |dz|^2 (|x|^2 + 1) = 0.5 * 3.68 = 1.84, so the step is scaled by 1 / (sqrt(1.84) + 1e-6)
        final Prediction out = predict(RefocusConfig.builder(0.1f).method(Method.IFO).build());
        final double scale = 1.0 / (Math.sqrt(1.84) + 1e-6);
        assertEquals(1.5 + 0.184 * scale, out.logit(0), 1e-6);
        assertEquals(1.3 + 0.184 * scale, out.logit(1), 1e-6);
    }

    @Test
    void shouldNotAdaptACertainSample()
    {
        final Prediction out = predict(RefocusConfig.builder(0.1f).marginThreshold(0.05f).build());
        assertFalse(out.adapted());
        assertEquals(0, out.finalClass());
        assertArrayEquals(new float[] {1.5f, 1.3f, -0.3f}, out.logits(), 1e-6f);
    }
}
