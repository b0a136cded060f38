package dev.refocus;

import org.junit.jupiter.api.Test;

import static dev.refocus.testing.Messages.assertMessage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RefocusConfigTest
{
    @Test
    void shouldUseThePapersDefaults()
    {
        final RefocusConfig config = RefocusConfig.builder(0.02f).build();
        assertEquals(Method.IFO_WEIGHTED, config.method());
        assertEquals(0.02f, config.learningRate());
        assertEquals(0.16f, config.marginThreshold());
        assertEquals(2, config.focusClasses());
        assertEquals(1, config.steps());
        assertEquals(1.0f, config.clipNorm());
        assertEquals("all", config.parameters().toString());
        assertFalse(config.hasCandidates());
        assertArrayEquals(new int[0], config.candidates());
    }

    @Test
    void shouldRejectInvalidValuesWithAMessage()
    {
        assertMessage("learning rate", () -> RefocusConfig.builder(Float.NaN));
        assertMessage("learning rate", () -> RefocusConfig.builder(-0.1f));
        assertMessage("learning rate", () -> RefocusConfig.builder(Float.POSITIVE_INFINITY));
        final RefocusConfig.Builder b = RefocusConfig.builder(0.1f);
        assertMessage("margin threshold", () -> b.marginThreshold(1.01f));
        assertMessage("margin threshold", () -> b.marginThreshold(-0.01f));
        assertMessage("margin threshold", () -> b.marginThreshold(Float.NaN));
        assertMessage("focus classes must be >= 2", () -> b.focusClasses(1));
        assertMessage("steps", () -> b.steps(0));
        assertMessage("clip norm", () -> b.clipNorm(-1));
        assertMessage("clip norm", () -> b.clipNorm(Float.NaN));
        assertMessage("empty", () -> b.candidates());
        assertMessage("negative", () -> b.candidates(0, -1, 2));
        assertMessage("appears twice", () -> b.candidates(0, 2, 2));
        assertMessage("k >= 1", () -> ParameterSubset.lastLayers(0));
        assertThrows(NullPointerException.class, () -> b.method(null));
    }

    @Test
    void shouldCheckTheConfigurationAgainstTheModel()
    {
        final RefocusConfig config = RefocusConfig.builder(0.1f).focusClasses(3).build();
        assertMessage("fewer than the model's classes (3)", () -> config.checkFits(3, 2));
        config.checkFits(4, 2);
        final RefocusConfig withCandidates = config.toBuilder().candidates(0, 5, 2).build();
        assertMessage("fewer than the candidate classes (3)", () -> withCandidates.checkFits(10, 2));
        assertMessage("candidate class 5 is out of range", () -> withCandidates.checkFits(5, 2));
        final RefocusConfig lastThree = config.toBuilder().parameters(ParameterSubset.lastLayers(3)).build();
        assertMessage("last 3 layers of a network with 2", () -> lastThree.checkFits(10, 2));
    }

    @Test
    void shouldKeepCandidatesImmutable()
    {
        final int[] k = {4, 1, 2};
        final RefocusConfig config = RefocusConfig.builder(0.1f).candidates(k).build();
        k[0] = 9;
        assertArrayEquals(new int[] {4, 1, 2}, config.candidates());
        config.candidates()[0] = 9;
        assertArrayEquals(new int[] {4, 1, 2}, config.candidates());
        assertTrue(config.toString().contains("candidates=[4, 1, 2]"));
    }
}
