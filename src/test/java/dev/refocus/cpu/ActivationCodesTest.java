package dev.refocus.cpu;

import dev.refocus.Activation;
import dev.refocus.internal.DenseStepConfig;
import dev.refocus.internal.bindings.DenseNative;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The native backend passes each activation as the code dense.h gives it, read from the header. */
class ActivationCodesTest
{
    @Test
    void shouldMapEveryActivationToTheHeadersCodeOfTheSameName() throws ReflectiveOperationException
    {
        final Set<Integer> codes = new HashSet<>();
        for (final Activation activation : Activation.values())
        {
            // an Activation without a REFOCUS_ACT_<NAME> in dense.h fails here with NoSuchMethodException
            final int header = (int)DenseNative.class.getMethod("REFOCUS_ACT_" + activation.name()).invoke(null);
            assertEquals(header, DenseStepConfig.activationCode(activation), activation.name());
            assertTrue(codes.add(header));
        }
        assertEquals(DenseNative.REFOCUS_ACT_COUNT, Activation.values().length,
            "dense.h declares another number of activations than dev.refocus.Activation");
    }

    @Test
    void shouldUseTheHeadersLeakyReluSlope()
    {
        assertEquals(DenseNative.REFOCUS_LEAKY_RELU_SLOPE, Activation.LEAKY_RELU_SLOPE, 0.0f);
    }

    @Test
    void shouldParseTheNameOfEveryActivationBack()
    {
        for (final Activation activation : Activation.values())
        {
            assertEquals(activation, Activation.parse(activation.lowerCaseName()));
            assertEquals(activation, Activation.parse(" " + activation.name() + " "));
        }
        assertEquals(Activation.SILU, Activation.parse("swish"));
        assertEquals(Activation.LEAKY_RELU, Activation.parse("LeakyReLU"));
    }
}
