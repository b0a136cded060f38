package dev.refocus.torch;

import dev.refocus.DenseNetwork;
import dev.refocus.Method;
import dev.refocus.ParameterSubset;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.reference.ReferencePredictor;
import dev.refocus.testing.Thresholds;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.refocus.testing.Messages.assertMessage;
import static dev.refocus.torch.TestModels.CNN_INPUT;
import static dev.refocus.torch.TestModels.assertSamePrediction;
import static dev.refocus.torch.TestModels.path;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The libtorch predictors against two oracles: the plain-Java reference (Algorithm 1 with a hand-written backward
 * pass, in double precision) on MLPs, and the clone-per-sample libtorch predictor, whose loss libtorch computes, on
 * a CNN. Tolerances: float32 against double, 2e-5 + 2e-4 relative on logits; no-clone against clone, both float32,
 * 1e-5 + 1e-4 relative (the no-clone step folds the clipping coefficient into the learning rate, one rounding fewer).
 */
class TorchPredictorTest
{
    private static final Method[] METHODS = Method.values();
    private static final ParameterSubset[] SUBSETS = {
        ParameterSubset.all(), ParameterSubset.lastLayers(2), ParameterSubset.head(), ParameterSubset.biases()};

    private static TorchModel mlp;
    private static DenseNetwork mlpNetwork;
    private static TorchModel tanh;
    private static DenseNetwork tanhNetwork;
    private static TorchModel cnn;

    @BeforeAll
    static void load() throws IOException
    {
        mlp = TorchModel.load(path("mlp-relu.pt"), 6);
        mlpNetwork = TorchScriptImport.denseNetwork(path("mlp-relu.pt"));
        tanh = TorchModel.load(path("mlp-tanh.pt"), 5);
        tanhNetwork = TorchScriptImport.denseNetwork(path("mlp-tanh.pt"));
        cnn = TorchModel.load(path("cnn.pt"), CNN_INPUT);
    }

    @Test
    void shouldAgreeWithTheReferenceForEveryMethodStepCountAndSubset()
    {
        for (final Method method : METHODS)
        {
            for (int steps = 1; steps <= 2; steps++)
            {
                for (final ParameterSubset subset : SUBSETS)
                {
                    final RefocusConfig config = RefocusConfig.builder(0.5f).method(method).steps(steps)
                        .parameters(subset).marginThreshold(1.0f).build();
                    assertAgreesWithReference(mlp, mlpNetwork, config, 12);
                    assertAgreesWithReference(tanh, tanhNetwork, config, 6);
                }
            }
        }
    }

    @Test
    void shouldAgreeWithTheReferenceWithCandidatesFocusClassesAndClipping()
    {
        final RefocusConfig base = RefocusConfig.builder(0.5f).marginThreshold(1.0f).build();
        final List<RefocusConfig> configs = List.of(
            base.toBuilder().candidates(4, 1, 2).build(),
            base.toBuilder().candidates(0, 3, 2, 4).method(Method.DOFO).steps(2).build(),
            base.toBuilder().candidates(0, 3, 2, 4).method(Method.ENTROPY).build(),
            base.toBuilder().candidates(1, 2, 3).method(Method.CROSS_ENTROPY).parameters(ParameterSubset.head())
                .build(),
            base.toBuilder().focusClasses(3).build(),
            base.toBuilder().focusClasses(4).method(Method.IFO).steps(2).build(),
            base.toBuilder().clipNorm(0.0f).build(), // no clipping: the raw gradient
            base.toBuilder().clipNorm(0.0f).learningRate(3.0f).method(Method.DOFO).build(),
            base.toBuilder().clipNorm(0.05f).steps(2).build(),
            base.toBuilder().learningRate(0.0f).build());
        for (final RefocusConfig config : configs)
        {
            assertAgreesWithReference(mlp, mlpNetwork, config, 12);
        }
    }

    private static void assertAgreesWithReference(final TorchModel model, final DenseNetwork network,
        final RefocusConfig config, final int samples)
    {
        final Random random = new Random(7);
        try (Predictor torch = TorchPredictor.create(model, config, TorchOptions.defaults());
            Predictor reference = ReferencePredictor.create(network, config))
        {
            final Prediction expected = reference.newPrediction();
            final Prediction actual = torch.newPrediction();
            int adapted = 0;
            for (int i = 0; i < samples; i++)
            {
                final float[] x = TestModels.gaussian(random, network.inputSize());
                reference.predict(x, expected);
                torch.predict(x, actual);
                assertSamePrediction(expected, actual, 2e-5f, 2e-4f, config + " input " + i);
                adapted += actual.adapted() ? 1 : 0;
            }
            assertTrue(adapted > samples / 2, config + ": adapted " + adapted + " of " + samples);
        }
    }

    @Test
    void shouldTakeThePerCallLearningRateAndMarginThreshold()
    {
        final RefocusConfig config = RefocusConfig.builder(0.01f).build();
        final float[][] inputs = gaussians(new Random(8), 40, 6);
        try (Predictor torch = TorchPredictor.create(mlp, config, TorchOptions.defaults());
            Predictor reference = ReferencePredictor.create(mlpNetwork, config))
        {
            // the call's d lies between real margins, and is not the configured 0.16
            final float d = Thresholds.split(reference, inputs);
            final Prediction expected = reference.newPrediction();
            final Prediction actual = torch.newPrediction();
            int certain = 0;
            int decidedByTheCall = 0;
            for (int i = 0; i < inputs.length; i++)
            {
                final String where = "input " + i + ", d = " + d;
                reference.predict(inputs[i], 2.0f, d, expected);
                torch.predict(inputs[i], 2.0f, d, actual);
                assertSamePrediction(expected, actual, 2e-5f, 2e-4f, where);
                assertEquals(actual.margin() < d, actual.adapted(), where);
                certain += actual.adapted() ? 0 : 1;
                decidedByTheCall += actual.adapted() != actual.margin() < config.marginThreshold() ? 1 : 0;
            }
            assertTrue(certain >= inputs.length / 3 && inputs.length - certain >= inputs.length / 3,
                certain + " certain samples of " + inputs.length);
            assertTrue(decidedByTheCall > 0, "no sample where the call's d and the configured one disagree");
        }
    }

    @Test
    void shouldEqualTheClonePredictorOnACnn()
    {
        final TorchOptions all = TorchOptions.defaults();
        final TorchOptions named = TorchOptions.builder().parameterNames("conv1\\.weight|bn1\\..*|fc\\.bias").build();
        for (final Method method : METHODS)
        {
            for (int steps = 1; steps <= 2; steps++)
            {
                for (final ParameterSubset subset : SUBSETS)
                {
                    final RefocusConfig config = RefocusConfig.builder(0.5f).method(method).steps(steps)
                        .parameters(subset).marginThreshold(1.0f).build();
                    assertEqualsClone(cnn, config, all, 6);
                }
                final RefocusConfig config = RefocusConfig.builder(0.5f).method(method).steps(steps)
                    .marginThreshold(1.0f).build();
                assertEqualsClone(cnn, config, named, 6);
                assertEqualsClone(cnn, config.toBuilder().candidates(6, 0, 2, 5).build(), all, 6);
                assertEqualsClone(cnn, config.toBuilder().clipNorm(0.0f).learningRate(0.05f).build(), all, 6);
            }
        }
    }

    @Test
    void shouldEqualTheClonePredictorOnAnMlp()
    {
        for (final Method method : METHODS)
        {
            final RefocusConfig config = RefocusConfig.builder(0.5f).method(method).steps(2).marginThreshold(1.0f)
                .build();
            assertEqualsClone(mlp, config, TorchOptions.defaults(), 12);
        }
    }

    private static void assertEqualsClone(final TorchModel model, final RefocusConfig config,
        final TorchOptions options, final int samples)
    {
        final Random random = new Random(9);
        try (Predictor noClone = TorchPredictor.create(model, config, options);
            Predictor clone = TorchClonePredictor.create(model, config, options))
        {
            final Prediction expected = clone.newPrediction();
            final Prediction actual = noClone.newPrediction();
            final Prediction plain = noClone.newPrediction();
            int moved = 0;
            for (int i = 0; i < samples; i++)
            {
                final float[] x = TestModels.gaussian(random, model.inputSize());
                clone.predict(x, expected);
                noClone.predict(x, actual);
                assertSamePrediction(expected, actual, 1e-5f, 1e-4f, config + " " + options + " input " + i);
                noClone.predict(x, 0.0f, 0.0f, plain);
                moved += maxDifference(plain.logits(), actual.logits()) > 1e-6f ? 1 : 0;
            }
            assertTrue(moved > samples / 2, config + " " + options + ": the step moved the logits of " + moved);
        }
    }

    private static float maxDifference(final float[] a, final float[] b)
    {
        float max = 0.0f;
        for (int i = 0; i < a.length; i++)
        {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    @Test
    void shouldLeaveTheModelParametersBitIdentical()
    {
        final float[][] before = parameterValues(cnn);
        final RefocusConfig config = RefocusConfig.builder(1.0f).steps(2).marginThreshold(1.0f).build();
        final Random random = new Random(10);
        final float[] probe = TestModels.gaussian(random, 64);
        try (Predictor used = TorchPredictor.create(cnn, config, TorchOptions.defaults()))
        {
            final Prediction out = used.newPrediction();
            final Prediction plainBefore = used.newPrediction();
            used.predict(probe, 0.0f, 0.0f, plainBefore);
            int adapted = 0;
            for (int i = 0; i < 50; i++)
            {
                used.predict(TestModels.gaussian(random, 64), out);
                adapted += out.adapted() ? 1 : 0;
            }
            assertEquals(50, adapted);
            final Prediction plainAfter = used.newPrediction();
            used.predict(probe, 0.0f, 0.0f, plainAfter);
            assertArrayEquals(plainBefore.logits(), plainAfter.logits(), 0.0f, "the predictor's own parameters");
        }
        final float[][] after = parameterValues(cnn);
        for (int i = 0; i < before.length; i++)
        {
            assertArrayEquals(bits(before[i]), bits(after[i]), cnn.parameterNames().get(i));
        }
    }

    private static float[][] parameterValues(final TorchModel model)
    {
        final float[][] values = new float[model.parameterNames().size()][];
        for (int i = 0; i < values.length; i++)
        {
            values[i] = model.parameterValues(model.parameterNames().get(i));
        }
        return values;
    }

    private static int[] bits(final float[] values)
    {
        final int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++)
        {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }

    @Test
    void shouldPredictOnManyThreadsWithOnePredictorEach() throws Exception
    {
        final RefocusConfig config = RefocusConfig.builder(1.0f).marginThreshold(1.0f).build();
        final float[][] inputs = new float[40][];
        final Random random = new Random(12);
        for (int i = 0; i < inputs.length; i++)
        {
            inputs[i] = TestModels.gaussian(random, 64);
        }
        final Callable<float[][]> task = () ->
        {
            try (Predictor predictor = TorchPredictor.create(cnn, config, TorchOptions.defaults()))
            {
                final Prediction out = predictor.newPrediction();
                final float[][] logits = new float[inputs.length][];
                for (int round = 0; round < 5; round++)
                {
                    for (int i = 0; i < inputs.length; i++)
                    {
                        predictor.predict(inputs[i], out);
                        logits[i] = out.logits().clone();
                    }
                }
                return logits;
            }
        };
        final float[][] alone = task.call();
        final ExecutorService pool = Executors.newFixedThreadPool(3);
        try
        {
            final List<Future<float[][]>> results = new ArrayList<>();
            for (int t = 0; t < 3; t++)
            {
                results.add(pool.submit(task));
            }
            for (final Future<float[][]> result : results)
            {
                final float[][] together = result.get();
                for (int i = 0; i < inputs.length; i++)
                {
                    assertArrayEquals(alone[i], together[i], 0.0f, "input " + i);
                }
            }
        }
        finally
        {
            pool.shutdown();
        }
    }

    @Test
    void shouldReadArraysAndBuffersAlike()
    {
        final RefocusConfig config = RefocusConfig.builder(0.5f).build();
        final Random random = new Random(13);
        try (Predictor predictor = TorchPredictor.create(cnn, config, TorchOptions.defaults()))
        {
            final Prediction fromArray = predictor.newPrediction();
            final Prediction fromBuffer = predictor.newPrediction();
            final FloatBuffer direct = ByteBuffer.allocateDirect(4 * 70).order(ByteOrder.nativeOrder()).asFloatBuffer();
            final FloatBuffer heap = FloatBuffer.allocate(64);
            for (int i = 0; i < 10; i++)
            {
                final float[] x = TestModels.gaussian(random, 64);
                predictor.predict(x, fromArray);
                direct.clear().position(3);
                direct.put(x).flip().position(3);
                predictor.predict(direct, fromBuffer);
                assertEquals(3, direct.position());
                assertArrayEquals(fromArray.logits(), fromBuffer.logits(), 0.0f);
                heap.clear();
                heap.put(x).flip();
                predictor.predict(heap, fromBuffer);
                assertArrayEquals(fromArray.logits(), fromBuffer.logits(), 0.0f);
            }
        }
    }

    @Test
    void shouldComputeWithTheConfiguredNumberOfThreads()
    {
        final Prediction out = new Prediction(7);
        for (final int threads : new int[] {2, 1})
        {
            try (Predictor predictor = TorchPredictor.create(cnn, RefocusConfig.builder(0.5f).build(),
                TorchOptions.builder().threads(threads).build()))
            {
                predictor.predict(new float[64], out);
                assertEquals(threads, torch.get_num_threads());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> TorchOptions.builder().threads(0));
    }

    @Test
    void shouldRejectBadConfigurationsAndCallsBeforeAnyWork()
    {
        final RefocusConfig config = RefocusConfig.builder(0.5f).build();
        assertMessage("focus classes (7) must be fewer",
            () -> TorchPredictor.create(cnn, config.toBuilder().focusClasses(7).build(), TorchOptions.defaults()));
        assertMessage("candidate class 9 is out of range",
            () -> TorchClonePredictor.create(cnn, config.toBuilder().candidates(1, 9, 2).build(),
                TorchOptions.defaults()));
        assertMessage("cannot adapt the last 5 layers",
            () -> TorchPredictor.create(cnn, config.toBuilder().parameters(ParameterSubset.lastLayers(5)).build(),
                TorchOptions.defaults()));
        assertMessage("no parameter adapts", () -> TorchPredictor.create(cnn, config,
            TorchOptions.builder().parameterNames("nothing\\..*").build()));
        assertThrows(NullPointerException.class, () -> TorchPredictor.create(cnn, config, null));
        final Predictor predictor = TorchPredictor.create(cnn, config, TorchOptions.defaults());
        final Prediction out = predictor.newPrediction();
        assertMessage("input has 63 features, the model takes 64", () -> predictor.predict(new float[63], out));
        final float[] nan = new float[64];
        nan[5] = Float.NaN;
        assertMessage("input[5] is NaN", () -> predictor.predict(nan, out));
        assertMessage("learning rate", () -> predictor.predict(new float[64], -1.0f, 0.16f, out));
        assertMessage("margin threshold", () -> predictor.predict(new float[64], 0.1f, 1.5f, out));
        assertMessage("result holds 3 classes", () -> predictor.predict(new float[64], new Prediction(3)));
        predictor.close();
        assertTrue(assertThrows(IllegalStateException.class, () -> predictor.predict(new float[64], out))
            .getMessage().contains("closed"));
        predictor.close();
    }

    private static void assertMessage(final String fragment, final org.junit.jupiter.api.function.Executable call)
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), () -> "'" + e.getMessage() + "' lacks '" + fragment + "'");
    }

    @Test
    void shouldAdaptOnlyTheSamplesBelowTheThreshold()
    {
        final RefocusConfig config = RefocusConfig.builder(5.0f).build();
        final float[][] inputs = gaussians(new Random(14), 20, 64);
        try (Predictor noClone = TorchPredictor.create(cnn, config, TorchOptions.defaults());
            Predictor clone = TorchClonePredictor.create(cnn, config, TorchOptions.defaults()))
        {
            // d between real margins: a third of the samples or more are certain, as many uncertain
            final float d = Thresholds.split(clone, inputs);
            final Prediction a = noClone.newPrediction();
            final Prediction b = clone.newPrediction();
            final Prediction slower = noClone.newPrediction();
            int certain = 0;
            for (int i = 0; i < inputs.length; i++)
            {
                final String where = "input " + i + ", d = " + d;
                noClone.predict(inputs[i], 5.0f, d, a);
                clone.predict(inputs[i], 5.0f, d, b);
                noClone.predict(inputs[i], 0.5f, d, slower);
                assertEquals(b.margin() < d, b.adapted(), where);
                assertEquals(b.adapted(), a.adapted(), where);
                assertEquals(a.adapted(), slower.adapted(), where);
                if (a.adapted())
                {
                    assertSamePrediction(b, a, 1e-5f, 1e-4f, where);
                    assertTrue(maxDifference(a.logits(), slower.logits()) > 1e-4f, where + ": eta changed nothing");
                }
                else
                {
                    certain++;
                    assertEquals(a.initialClass(), a.finalClass(), where);
                    assertArrayEquals(b.logits(), a.logits(), 0.0f, where);
                    assertArrayEquals(a.logits(), slower.logits(), 0.0f, where); // no learning rate reaches it
                }
            }
            assertTrue(certain >= inputs.length / 3 && inputs.length - certain >= inputs.length / 3,
                certain + " certain samples of " + inputs.length);
        }
    }

    private static float[][] gaussians(final Random random, final int n, final int features)
    {
        final float[][] inputs = new float[n][];
        for (int i = 0; i < n; i++)
        {
            inputs[i] = TestModels.gaussian(random, features);
        }
        return inputs;
    }
}
