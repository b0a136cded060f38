package dev.refocus.torch;

import dev.refocus.cpu.FocusHead;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;


/**
 * Refocus for any TorchScript model, with libtorch autograd and without cloning the model: the step writes
 * &theta;' = &theta; - &eta; &nabla;L out of place into shadow tensors allocated once per predictor, the next forward
 * pass runs on the shadow (each adapted parameter's storage is swapped to it with {@code set_data}), and the original
 * storage is swapped back after the sample, untouched, so that the model's parameters stay bit-identical. Parameters
 * whose gradient is zero are neither written nor swapped.
 *
 * <p>A call runs the plain forward pass without autograd and reads the margin: a certain sample costs that and nothing
 * more. An uncertain one then runs, T times, a forward pass with autograd recording, dL/dz from the {@link FocusHead},
 * one vector-Jacobian product through the model, clipping to the global L2 norm c exactly as PyTorch's
 * {@code clip_grad_norm_} does (scale min(1, c / (norm + 1e-6))) and the step; and a last forward pass without
 * autograd. Only the adapted parameters require gradients, so the backward pass stops where they end. When the logits
 * of a pass with &theta;' are not all finite on the candidates, the sample falls back to its plain prediction
 * ({@link Prediction#fellBack()}), as on every backend.
 *
 * <pre>{@code
 * TorchModel model = TorchModel.load(Path.of("cnn.pt"), new long[] {1, 1, 28, 28});
 * try (TorchPredictor predictor = TorchPredictor.create(model, config, TorchOptions.defaults())) {
 *     Prediction out = predictor.newPrediction();
 *     predictor.predict(pixels, out);
 * }
 * }</pre>
 *
 * <p><b>Note:</b> One call at a time, from any thread; see {@link Predictor}. Predictors on one {@link TorchModel}
 * share its parameter memory and may run on different threads.
 */
@SuppressWarnings("try") // a PointerScope is opened for its effect: it frees the temporaries made inside it
public final class TorchPredictor extends TorchStepPredictor
{
    private final int steps;
    private final float clipNorm;
    // the adapted parameters of the session's module, their original storage (never written), and theta'
    private final Tensor[] adapted;
    private final Tensor[] originals;
    private final Tensor[] shadows;
    private final boolean[] swapped;
    private final TensorVector adaptedVector;
    // per-parameter gradient norms, written by libtorch into slots of one buffer
    private final Tensor[] normSlots;
    private final FloatPointer normsData;
    private final float[] norms;
    // theta' = theta + alpha * g, alpha = -eta * clip scale, a 0-dim tensor so that no Scalar is made per call
    private final Tensor alpha;
    private final FloatPointer alphaData;
    private final Scalar one;
    private final FloatPointer dlogitsData;
    private final float[] dlogits;
    private final TensorVector outputs;
    private final TensorVector gradOutputs;
    private final BoolOptional keepGraph;

    /**
     * A predictor with the default options: one libtorch thread, the parameters {@code config.parameters()} names.
     *
     * @param model  the model.
     * @param config the refocus configuration; checked against the model.
     * @return the predictor.
     * @throws IllegalArgumentException if the configuration does not fit the model or no parameter adapts.
     */
    public static TorchPredictor create(final TorchModel model, final RefocusConfig config)
    {
        return create(model, config, TorchOptions.defaults());
    }

    /**
     * @param model   the model; its parameters are shared, never written.
     * @param config  the refocus configuration; checked against the model.
     * @param options libtorch threads and the names of the adapted parameters.
     * @return the predictor.
     * @throws IllegalArgumentException if the configuration does not fit the model or no parameter adapts.
     */
    public static TorchPredictor create(final TorchModel model, final RefocusConfig config, final TorchOptions options)
    {
        return new TorchPredictor(model, config, options);
    }

    private TorchPredictor(final TorchModel model, final RefocusConfig config, final TorchOptions options)
    {
        super(model, config, options);
        this.steps = config.steps();
        this.clipNorm = config.clipNorm();
        final Tensor[] parameters = session.parameters();
        final boolean[] selected = session.selected();
        int count = 0;
        for (final boolean s : selected)
        {
            count += s ? 1 : 0;
        }
        this.adapted = new Tensor[count];
        this.originals = new Tensor[count];
        this.shadows = new Tensor[count];
        this.swapped = new boolean[count];
        this.normSlots = new Tensor[count];
        this.norms = new float[count];
        this.dlogits = new float[model.classes()];
        try (PointerScope scope = new PointerScope())
        {
            int k = 0;
            for (int i = 0; i < parameters.length; i++)
            {
                parameters[i].requires_grad_(selected[i]);
                if (selected[i])
                {
                    adapted[k] = parameters[i];
                    originals[k] = session.keep(parameters[i].detach());
                    shadows[k] = session.keep(torch.empty_like(originals[k]));
                    k++;
                }
            }
            this.adaptedVector = session.keep(new TensorVector(adapted));
            final Tensor normBuffer = session.keep(torch.zeros(count));
            for (int j = 0; j < count; j++)
            {
                normSlots[j] = session.keep(normBuffer.select(0, j));
            }
            this.normsData = Tensors.floats(normBuffer);
            this.alpha = session.keep(torch.zeros(new long[0]));
            this.alphaData = Tensors.floats(alpha);
            this.one = session.keep(new Scalar(1.0f));
            final Tensor dz = session.keep(torch.zeros(model.outputShape()));
            this.dlogitsData = Tensors.floats(dz);
            this.outputs = session.keep(new TensorVector(1));
            this.gradOutputs = session.keep(new TensorVector(dz));
            this.keepGraph = session.keep(new BoolOptional(false));
        }
    }

    @Override
    boolean adapt(final float[] z, final float learningRate, final FocusHead head)
    {
        boolean finite = true;
        try
        {
            for (int t = 0; t < steps && finite; t++)
            {
                GradMode.set_enabled(true);
                final Tensor output = session.forward();
                GradMode.set_enabled(false);
                session.readLogits(output, z);
                finite = t == 0 || finiteCandidates(z); // the pass at t = 0 is the plain one
                if (finite)
                {
                    head.gradient(z);
                    step(output, learningRate);
                }
            }
            if (finite)
            {
                session.readLogits(session.forward(), z);
                finite = finiteCandidates(z);
            }
        }
        finally
        {
            restore();
        }
        return finite;
    }

    /** One SGD step from the graph that produced {@code output}: gradient, clipping, theta' into the shadows. */
    private void step(final Tensor output, final float learningRate)
    {
        session.head().copyLogitGradient(dlogits);
        dlogitsData.put(dlogits);
        outputs.put(0, output);
        final TensorVector gradients = torch.grad(outputs, adaptedVector, gradOutputs, keepGraph, false, true);
        for (int k = 0; k < adapted.length; k++)
        {
            final Tensor g = gradients.get(k);
            if (g.defined())
            {
                torch.linalg_vector_norm_out(normSlots[k], g);
            }
            else
            {
                normSlots[k].zero_(); // the output does not depend on this parameter
            }
        }
        normsData.get(norms);
        double squares = 0.0;
        for (final float norm : norms)
        {
            squares += (double)norm * norm;
        }
        // clip_grad_norm_ in float32: coefficient c / (total + 1e-6), clamped to 1
        final float scale = clipNorm > 0.0f ? Math.min(1.0f, clipNorm / ((float)Math.sqrt(squares) + 1e-6f)) : 1.0f;
        alphaData.put(-learningRate * scale);
        for (int k = 0; k < adapted.length; k++)
        {
            if (norms[k] != 0.0f)
            {
                torch.addcmul_out(shadows[k], swapped[k] ? shadows[k] : originals[k], gradients.get(k), alpha, one);
                if (!swapped[k])
                {
                    adapted[k].set_data(shadows[k]);
                    swapped[k] = true;
                }
            }
        }
    }

    /** Points every swapped parameter back at its original storage. */
    private void restore()
    {
        for (int k = 0; k < adapted.length; k++)
        {
            if (swapped[k])
            {
                adapted[k].set_data(originals[k]);
                swapped[k] = false;
            }
        }
    }

}
