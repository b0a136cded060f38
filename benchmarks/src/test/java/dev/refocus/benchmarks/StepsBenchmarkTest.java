package dev.refocus.benchmarks;

import dev.refocus.cpu.NativePredictor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Both benchmarks adapt the sample with T steps and give the same answer, up to the cap of implicit mode. */
class StepsBenchmarkTest
{
    @ParameterizedTest
    @CsvSource({"S, 1", "S, 64", "M, 8"})
    void shouldTimeTheSameStepsInBothModes(final String model, final int steps)
    {
        final StepsBenchmark b = new StepsBenchmark();
        b.model = model;
        b.steps = steps;
        b.setUp();
        try
        {
            assertEquals(steps, b.implicit.config().steps());
            final int implicit = b.implicit();
            assertTrue(b.out.adapted());
            final float[] logits = b.out.logits().clone();
            b.samples.restart(); // the shadow row on the same sample
            assertEquals(implicit, b.shadow());
            assertTrue(b.out.adapted());
            assertArrayEquals(logits, b.out.logits(), 1e-4f);
            assertEquals(NativePredictor.Mode.SHADOW, b.shadow.mode());
        }
        finally
        {
            b.tearDown();
        }
    }
}
