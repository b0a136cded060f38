package dev.refocus.reference;

import dev.refocus.Activation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reference's activations: each derivative against central finite differences of the function, NaN kept, and
 * its own erfc (Java has none) against C's libm (Python's math.erfc printed these values: an oracle that shares no
 * code with it).
 */
class ReferenceActivationsTest
{
    @ParameterizedTest
    @EnumSource(Activation.class)
    void shouldMatchFiniteDifferencesOfTheFunction(final Activation activation)
    {
        final double step = 1e-6;
        for (double h = -6.0; h <= 6.0; h += 0.0625 + 1e-3) // never exactly 0, where ReLU has a kink
        {
            final double expected = (ReferencePredictor.activate(activation, h + step)
                - ReferencePredictor.activate(activation, h - step)) / (2 * step);
            final double actual = ReferencePredictor.derivative(activation, h, ReferencePredictor.activate(activation, h));
            assertEquals(expected, actual, 1e-8 + 1e-7 * Math.abs(expected), activation + " at h = " + h);
        }
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void shouldKeepNaN(final Activation activation)
    {
        assertTrue(Double.isNaN(ReferencePredictor.activate(activation, Double.NaN)), activation.name());
    }

    @Test
    void shouldTakeThePyTorchDerivativeAtZero()
    {
        assertEquals(0.0, ReferencePredictor.derivative(Activation.RELU, 0.0, 0.0));
        assertEquals(Activation.LEAKY_RELU_SLOPE, ReferencePredictor.derivative(Activation.LEAKY_RELU, 0.0, 0.0), 0.0);
        assertEquals(0.5, ReferencePredictor.derivative(Activation.GELU, 0.0, 0.0), 1e-15);
    }

    @Test
    void shouldComputeErfcLikeLibm()
    {
        final double[][] libm = {
            {-3.5, 1.9999992569016276}, {-1.0, 1.842700792949715}, {-0.3, 1.3286267594591274}, {0.0, 1.0},
            {0.1, 0.8875370839817152}, {1.0, 0.15729920705028513}, {2.4999, 0.0004071699003334514},
            {2.5, 0.0004069520174449589}, {4.0, 1.541725790028002e-08}, {6.0, 2.1519736712498916e-17},
            {10.0, 2.088487583762545e-45}};
        for (final double[] pair : libm)
        {
            final double actual = ReferencePredictor.erfc(pair[0]);
            assertEquals(pair[1], actual, 1e-14 + 1e-10 * pair[1], "erfc(" + pair[0] + ")");
        }
    }
}
