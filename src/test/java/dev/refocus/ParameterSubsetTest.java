package dev.refocus;

import org.junit.jupiter.api.Test;

import java.io.InvalidObjectException;
import java.util.Arrays;

import static dev.refocus.RefocusConfigTest.deserialize;
import static dev.refocus.RefocusConfigTest.serialize;
import static dev.refocus.testing.Messages.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ParameterSubsetTest
{
    @Test
    void shouldWriteAndReadTheTextForm()
    {
        assertEquals("all", ParameterSubset.all().toString());
        assertEquals("biases", ParameterSubset.biases().toString());
        assertEquals("head", ParameterSubset.head().toString());
        assertEquals("lastLayers(3)", ParameterSubset.lastLayers(3).toString());
        for (final ParameterSubset subset : new ParameterSubset[] {ParameterSubset.all(), ParameterSubset.biases(),
            ParameterSubset.head(), ParameterSubset.lastLayers(2), ParameterSubset.lastLayers(Integer.MAX_VALUE - 1)})
        {
            assertEquals(subset, ParameterSubset.parse(subset.toString()));
        }
        assertSame(ParameterSubset.all(), ParameterSubset.parse(" all "));
        assertEquals(ParameterSubset.head(), ParameterSubset.parse("lastLayers( 1 )"));
    }

    @Test
    void shouldRefuseAnythingElse()
    {
        assertMessage("'ALL' is not a parameter subset: all, head, biases or lastLayers(k)",
            () -> ParameterSubset.parse("ALL"));
        assertMessage("is not a parameter subset", () -> ParameterSubset.parse("lastLayers(2"));
        assertMessage("is not a parameter subset", () -> ParameterSubset.parse("lastLayers(1.5)"));
        assertMessage("is not a parameter subset", () -> ParameterSubset.parse(""));
        assertMessage("lastLayers needs k >= 1, got -2", () -> ParameterSubset.parse("lastLayers(-2)"));
        assertMessage("needs k to be an int, got 2147483648", () -> ParameterSubset.parse("lastLayers(2147483648)"));
        assertThrows(NullPointerException.class, () -> ParameterSubset.parse(null));
    }

    @Test
    void shouldBeEqualWhenTheSameParametersAdapt()
    {
        assertEquals(ParameterSubset.head(), ParameterSubset.lastLayers(1));
        assertEquals(ParameterSubset.head().hashCode(), ParameterSubset.lastLayers(1).hashCode());
        assertEquals(ParameterSubset.lastLayers(3), ParameterSubset.lastLayers(3));
        assertNotEquals(ParameterSubset.lastLayers(3), ParameterSubset.lastLayers(2));
        assertNotEquals(ParameterSubset.all(), ParameterSubset.biases());
        assertNotEquals(ParameterSubset.all(), ParameterSubset.head());
    }

    @Test
    void shouldSerializeToTheSameSubsetAndKeepTheSingletons() throws Exception
    {
        assertSame(ParameterSubset.all(), deserialize(serialize(ParameterSubset.all())));
        assertSame(ParameterSubset.biases(), deserialize(serialize(ParameterSubset.biases())));
        assertEquals(ParameterSubset.lastLayers(4), deserialize(serialize(ParameterSubset.lastLayers(4))));
    }

    @Test
    void shouldRefuseATamperedSerializedSubset() throws Exception
    {
        // the object's fields end the stream, in the serialization order: boolean biasesOnly, int lastLayers
        final byte[] good = serialize(ParameterSubset.lastLayers(2));
        final int end = good.length;
        assertArrayEquals(new byte[] {0, 0, 0, 0, 2}, Arrays.copyOfRange(good, end - 5, end));

        final byte[] zero = good.clone();
        zero[end - 1] = 0;
        assertEquals("a ParameterSubset with lastLayers 0 and biasesOnly false is not one the factories make",
            assertThrows(InvalidObjectException.class, () -> deserialize(zero)).getMessage());
        final byte[] biasesOfTwo = good.clone();
        biasesOfTwo[end - 5] = 1;
        assertEquals("a ParameterSubset with lastLayers 2 and biasesOnly true is not one the factories make",
            assertThrows(InvalidObjectException.class, () -> deserialize(biasesOfTwo)).getMessage());
    }
}
