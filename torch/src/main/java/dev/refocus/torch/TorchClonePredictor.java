package dev.refocus.torch;

import dev.refocus.cpu.FocusHead;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import java.util.Arrays;

/**
 * The paper's Algorithm 1 literally, in libtorch: for every uncertain sample, a deep copy of the whole model (the
 * clone), then T steps of forward pass, loss written with libtorch operations, autograd, {@code clip_grad_norm_} and
 * plain SGD on the clone, and a last forward pass with the clone, which is then dropped. It is the baseline that
 * {@link TorchPredictor} is measured against and a test oracle for it: the loss here is computed by libtorch from the
 * logits (softmax and log-sum-exp over the candidate classes, which is the same as masking the other logits to
 * -&infin;), not by the {@link FocusHead}, which only ranks the classes. When the logits of a pass with the clone's
 * adapted parameters are not all finite on the candidates, the sample falls back to its plain prediction
 * ({@link Prediction#fellBack()}), as on every backend.
 *
 * <p>Deployments want {@link TorchPredictor}: this class allocates a copy of every parameter per uncertain sample.
 *
 * <p><b>Note:</b> One call at a time, from any thread; see {@link Predictor}.
 */
@SuppressWarnings("try") // a PointerScope is opened for its effect: it frees the temporaries made inside it
public final class TorchClonePredictor extends TorchStepPredictor
{
    private final RefocusConfig config;
    private final boolean[] selected;
    // positions, within the candidate logits, of the focus classes and of the other candidates
    private final int[] candidatePosition;
    private final boolean[] inFocus;
    private final Tensor candidateIndex;
    private final Tensor focusIndex;
    private final LongPointer focusData;
    private final Tensor othersIndex;
    private final LongPointer othersData;
    private final BoolOptional keepGraph;

    /**
     * A predictor with the default options: one libtorch thread, the parameters {@code config.parameters()} names.
     *
     * @param model  the model.
     * @param config the refocus configuration; checked against the model.
     * @return the predictor.
     * @throws IllegalArgumentException if the configuration does not fit the model or no parameter adapts.
     */
    public static TorchClonePredictor create(final TorchModel model, final RefocusConfig config)
    {
        return create(model, config, TorchOptions.defaults());
    }

    /**
     * @param model   the model.
     * @param config  the refocus configuration; checked against the model.
     * @param options libtorch threads and the names of the adapted parameters.
     * @return the predictor.
     * @throws IllegalArgumentException if the configuration does not fit the model or no parameter adapts.
     */
    public static TorchClonePredictor create(final TorchModel model, final RefocusConfig config,
        final TorchOptions options)
    {
        return new TorchClonePredictor(model, config, options);
    }

    private TorchClonePredictor(final TorchModel model, final RefocusConfig config, final TorchOptions options)
    {
        super(model, config, options);
        this.config = config;
        this.selected = session.selected();
        final int[] k = config.hasCandidates() ? config.candidates() : null;
        final int candidates = k == null ? model.classes() : k.length;
        this.candidatePosition = new int[model.classes()];
        this.inFocus = new boolean[candidates];
        for (int i = 0; i < candidates; i++)
        {
            candidatePosition[k == null ? i : k[i]] = i;
        }
        try (PointerScope scope = new PointerScope())
        {
            final TensorOptions int64 = new TensorOptions(torch.ScalarType.Long);
            this.candidateIndex = session.keep(torch.zeros(new long[] {candidates}, int64));
            for (int i = 0; i < candidates; i++)
            {
                Tensors.longs(candidateIndex).put(i, k == null ? i : k[i]);
            }
            this.focusIndex = session.keep(torch.zeros(new long[] {config.focusClasses()}, int64));
            this.focusData = Tensors.longs(focusIndex);
            this.othersIndex = session.keep(torch.zeros(new long[] {candidates - config.focusClasses()}, int64));
            this.othersData = Tensors.longs(othersIndex);
            this.keepGraph = session.keep(new BoolOptional(false));
        }
    }

    @Override
    boolean adapt(final float[] z, final float learningRate, final FocusHead head)
    {
        indexFocusClasses(head);
        final JitModule clone = session.module().deepcopy(); // Algorithm 1, line 1
        final TensorVector parameters = adaptedParameters(clone);
        for (int t = 0; t < config.steps(); t++)
        {
            GradMode.set_enabled(true);
            final Tensor output = session.forward(clone);
            final Tensor loss = loss(output);
            GradMode.set_enabled(false);
            if (t > 0 && !finite(output, z)) // the pass at t = 0 is the plain one
            {
                return false;
            }
            final TensorVector gradients = torch.grad(new TensorVector(loss), parameters, new TensorVector(),
                keepGraph, false, true);
            clipGradNorm(gradients);
            for (int i = 0; i < parameters.size(); i++)
            {
                if (gradients.get(i).defined())
                {
                    parameters.get(i).add_(gradients.get(i), new Scalar(-learningRate)); // SGD
                }
            }
        }
        return finite(session.forward(clone), z);
    }

    /** Reads the logits of a pass with the clone into {@code z}: whether they pass the fallback rule's test. */
    private boolean finite(final Tensor output, final float[] z)
    {
        session.readLogits(output, z);
        return finiteCandidates(z);
    }

    /** The fallback rule: the plain prediction, its logits back in {@code out}. */

    private void indexFocusClasses(final FocusHead head)
    {
        Arrays.fill(inFocus, false);
        for (int i = 0; i < config.focusClasses(); i++)
        {
            final int position = candidatePosition[head.focusClass(i)];
            focusData.put(i, position);
            inFocus[position] = true;
        }
        int others = 0;
        for (int position = 0; position < inFocus.length; position++)
        {
            if (!inFocus[position])
            {
                othersData.put(others++, position);
            }
        }
    }

    /** The clone's parameters that adapt, requiring gradients; the others do not. */
    private TensorVector adaptedParameters(final JitModule clone)
    {
        final Tensor[] all = TorchModel.parameters(clone);
        final TensorVector adapted = new TensorVector();
        for (int i = 0; i < all.length; i++)
        {
            all[i].requires_grad_(selected[i]);
            if (selected[i])
            {
                adapted.push_back(all[i]);
            }
        }
        return adapted;
    }

    /** The configured method's loss over the candidate logits, with autograd recording. */
    private Tensor loss(final Tensor output)
    {
        final Tensor zk = output.reshape(-1).index_select(0, candidateIndex);
        final Tensor focus = zk.index_select(0, focusIndex);
        switch (config.method())
        {
            case IFO_WEIGHTED:
                return zk.softmax(0).detach().index_select(0, focusIndex).mul(focus).sum().neg();
            case IFO:
                return focus.mean().neg();
            case DOFO:
                return zk.index_select(0, othersIndex).mean();
            case CROSS_ENTROPY:
                return zk.logsumexp(0).sub(focus.mean());
            case ENTROPY:
                final Tensor logP = zk.log_softmax(0);
                return logP.exp().mul(logP).sum().neg();
            default:
                throw new AssertionError(config.method());
        }
    }

    /** torch.nn.utils.clip_grad_norm_, literally: norm of the per-tensor norms, coefficient clamped to 1. */
    private void clipGradNorm(final TensorVector gradients)
    {
        if (config.clipNorm() == 0.0f)
        {
            return;
        }
        final TensorVector norms = new TensorVector();
        for (int i = 0; i < gradients.size(); i++)
        {
            if (gradients.get(i).defined())
            {
                norms.push_back(torch.linalg_vector_norm(gradients.get(i)));
            }
        }
        if (norms.empty())
        {
            return; // the output does not depend on any adapted parameter
        }
        final float total = torch.linalg_vector_norm(torch.stack(norms)).item_float();
        final float coefficient = Math.min(config.clipNorm() / (total + 1e-6f), 1.0f);
        for (int i = 0; i < gradients.size(); i++)
        {
            if (gradients.get(i).defined())
            {
                gradients.get(i).mul_(new Scalar(coefficient));
            }
        }
    }

}
