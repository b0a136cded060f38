package dev.refocus.cpu;

import dev.refocus.DenseNetwork;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;

import java.nio.FloatBuffer;
import java.util.Objects;

/**
 * The native step for any model whose last layers are dense: a frozen <b>backbone</b>, run in the caller's runtime
 * (a TorchScript module through libtorch, an ONNX Runtime session, any Java code), maps an input to the penultimate
 * features, and the fused native step adapts the dense <b>head</b> on them. A convolutional or transformer model
 * whose adapted layers are its last dense ones gets the answers of the libtorch backend with
 * {@code ParameterSubset.lastLayers(k)} (the head being those k layers) at the cost of one backbone pass plus the
 * native step, instead of libtorch's backward and forward passes.
 *
 * <pre>{@code
 * DenseNetwork head = DenseNetwork.load(Path.of("head.safetensors"));        // the last k Linear layers
 * try (HeadPredictor predictor = HeadPredictor.create(784, (x, features) -> myBackbone.run(x, features), head, config)) {
 *     predictor.predict(image, out);
 * }
 * }</pre>
 *
 * <p>The configuration's parameter subset applies to the head network. The guardrails ({@link #guard()}) count
 * this predictor's answers. A call allocates nothing of its own; the backbone's allocations are the caller's.
 *
 * <p><b>Thread safety:</b> one call at a time, from any thread, as every predictor; the backbone is called on the
 * calling thread, one call at a time per predictor.
 */
public final class HeadPredictor extends Predictor
{
    /** The frozen part of a model: the caller's code, in the caller's runtime. */
    @FunctionalInterface
    public interface Backbone
    {
        /**
         * Computes one input's penultimate features, the head's input.
         *
         * @param input    the predictor's input ({@link #inputSize()} finite values); read it, do not keep it.
         * @param features where to write the head's {@link DenseNetwork#inputSize()} features; written in full.
         */
        void features(float[] input, float[] features);
    }

    private final Backbone backbone;
    private final NativePredictor head;
    private final float[] input;    // a FloatBuffer's sample, copied for the backbone
    private final float[] features;

    private HeadPredictor(final int inputSize, final Backbone backbone, final NativePredictor head,
        final RefocusConfig config)
    {
        super(inputSize, head.classes(), config);
        this.backbone = backbone;
        this.head = head;
        this.input = new float[inputSize];
        this.features = new float[head.inputSize()];
    }

    /**
     * @param inputSize the model's input size: what {@link #predict(float[], Prediction)} takes and the backbone
     *                  reads.
     * @param backbone  maps an input to the head's input features.
     * @param head      the model's last dense layers, with their trained weights.
     * @param config    the refocus configuration; checked against the head (its parameter subset is the head's).
     * @return the predictor.
     * @throws IllegalArgumentException if {@code inputSize < 1} or the configuration does not fit the head.
     */
    public static HeadPredictor create(final int inputSize, final Backbone backbone, final DenseNetwork head,
        final RefocusConfig config)
    {
        Objects.requireNonNull(backbone, "backbone");
        Objects.requireNonNull(head, "head");
        Objects.requireNonNull(config, "config");
        if (inputSize < 1)
        {
            throw new IllegalArgumentException("inputSize must be >= 1, got " + inputSize);
        }
        // the guardrails are this predictor's: the head's own would count and observe a second time
        final RefocusConfig unguarded = config.toBuilder().observeOnly(false).band(null).build();
        return new HeadPredictor(inputSize, backbone, NativePredictor.create(head, unguarded), config);
    }

    /**
     * @return the native predictor of the head. Its guard neither observes nor bands (this predictor's does) and
     * counts the head's own calls: two for an observed uncertain sample.
     */
    public NativePredictor head()
    {
        return head;
    }

    @Override
    protected void loadInput(final float[] in)
    {
        computeFeatures(in);
    }

    @Override
    protected void loadInput(final FloatBuffer in)
    {
        in.get(in.position(), input);
        computeFeatures(input);
    }

    private void computeFeatures(final float[] in)
    {
        backbone.features(in, features);
        for (int i = 0; i < features.length; i++)
        {
            if (!Float.isFinite(features[i]))
            {
                throw new ArithmeticException("the backbone's feature " + i + " is " + features[i]
                    + "; the head takes finite features");
            }
        }
    }

    @Override
    protected void run(final float learningRate, final float marginThreshold, final Prediction out)
    {
        head.predict(features, learningRate, marginThreshold, out);
    }

    @Override
    protected void free()
    {
        head.close();
    }
}
