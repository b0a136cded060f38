package dev.refocus.benchmarks;

import ai.onnxruntime.OrtException;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.NativePredictor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** ONNX Runtime runs the benchmark's very network: its logits are the native plain forward pass's. */
class OnnxRuntimeBenchmarkTest
{
    @ParameterizedTest
    @ValueSource(strings = {"S", "M"})
    void shouldRunTheSameNetworkAsTheNativeRows(final String model) throws OrtException
    {
        final OnnxRuntimeBenchmark b = new OnnxRuntimeBenchmark();
        b.model = model;
        b.setUp();
        try (NativePredictor predictor = NativePredictor.create(BenchmarkModels.network(model),
            RefocusConfig.builder(NativeBenchmark.ETA).build(), NativePredictor.Mode.IMPLICIT, OnnxRuntimeBenchmark.BATCH))
        {
            final int classes = BenchmarkModels.sizes(model)[3];
            final Prediction[] out = new Prediction[OnnxRuntimeBenchmark.BATCH];
            for (int i = 0; i < out.length; i++)
            {
                out[i] = predictor.newPrediction();
            }
            predictor.predict(BenchmarkModels.inputs(model, OnnxRuntimeBenchmark.BATCH), OnnxRuntimeBenchmark.BATCH,
                NativeBenchmark.ETA, 0.0f, out);

            assertEquals(classes, b.forward());
            for (int c = 0; c < classes; c++)
            {
                assertEquals(out[0].logits()[c], b.logits[c], 1e-4f, model + ": logit " + c + " of sample 0");
            }
            assertEquals(classes * OnnxRuntimeBenchmark.BATCH, b.forwardBatch64());
            for (int s = 0; s < OnnxRuntimeBenchmark.BATCH; s++)
            {
                for (int c = 0; c < classes; c++)
                {
                    assertEquals(out[s].logits()[c], b.logits[s * classes + c], 1e-4f,
                        model + ": logit " + c + " of sample " + s);
                }
            }
        }
        finally
        {
            b.tearDown();
        }
    }
}
