package dev.refocus.torch;

import dev.refocus.cpu.FocusHead;
import dev.refocus.RefocusConfig;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.nio.FloatBuffer;
import java.util.Objects;

/**
 * What a libtorch predictor holds for its thread, whichever way it adapts: a module of its own over the model's
 * parameters, the input tensor that a prediction fills, the logits buffer, the focus head, and the libtorch thread
 * state of each call. Everything is allocated here, once.
 *
 * <p><b>Note:</b> This class is not thread-safe: it belongs to one predictor.
 */
@SuppressWarnings("try") // a PointerScope is opened for its effect: it frees the temporaries made inside it
final class TorchSession implements AutoCloseable
{
    private final NativeObjects owned = new NativeObjects();
    private final int classes;
    private final int threads;
    private final int[] candidates;
    private final boolean[] selected;
    private final JitModule module;
    private final Tensor[] parameters;
    private final IValueVector inputs;
    private final FloatPointer inputData;
    private final FloatBuffer inputView;
    private final Tensor logits;
    private final FloatPointer logitsData;
    private final FocusHead head;
    private boolean gradWasEnabled;

    /**
     * @throws IllegalArgumentException if the configuration does not fit the model or selects no parameter.
     */
    TorchSession(final TorchModel model, final RefocusConfig config, final TorchOptions options)
    {
        Objects.requireNonNull(options, "options");
        config.checkFits(model.classes(), model.layers());
        this.selected = model.select(config.parameters(), options.parameterNames());
        this.classes = model.classes();
        this.threads = options.threads();
        this.candidates = config.hasCandidates() ? config.candidates() : null;
        try (PointerScope scope = new PointerScope())
        {
            this.module = model.newModule(owned);
            this.parameters = TorchModel.parameters(module);
            for (final Tensor parameter : parameters)
            {
                owned.keep(parameter);
            }
            final Tensor input = owned.keep(torch.zeros(model.inputShape()));
            this.inputData = Tensors.floats(input);
            this.inputView = inputData.asBuffer();
            this.inputs = owned.keep(new IValueVector(new IValue(input)));
            this.logits = owned.keep(torch.zeros(model.outputShape()));
            this.logitsData = Tensors.floats(logits);
        }
        // outside the scope above: the head owns native buffers that must outlive it
        this.head = new FocusHead(classes, config);
    }

    /** @return this predictor's parameter tensors, in {@code named_parameters()} order. */
    Tensor[] parameters()
    {
        return parameters;
    }

    /** @return for each parameter, whether the configuration and the options make it adapt. */
    boolean[] selected()
    {
        return selected;
    }

    JitModule module()
    {
        return module;
    }

    IValueVector inputs()
    {
        return inputs;
    }

    FocusHead head()
    {
        return head;
    }

    void loadInput(final float[] input)
    {
        inputData.put(input, 0, input.length);
    }

    void loadInput(final FloatBuffer input)
    {
        inputView.put(0, input, input.position(), inputView.capacity());
    }

    /**
     * Starts a call: libtorch's intra-op thread count is kept per thread (OpenMP), so it is set on the calling
     * thread; the grad mode is thread-local too and {@link #end()} restores the caller's.
     */
    void begin()
    {
        if (torch.get_num_threads() != threads)
        {
            torch.set_num_threads(threads);
        }
        gradWasEnabled = GradMode.is_enabled();
    }

    /** Ends what {@link #begin()} started. */
    void end()
    {
        GradMode.set_enabled(gradWasEnabled);
    }

    /**
     * Runs this session's module on the loaded input, with the current grad mode. Call inside a
     * {@link PointerScope}: the result belongs to it.
     *
     * @return the logits tensor, a handle of its own.
     */
    Tensor forward()
    {
        return forward(module);
    }

    /**
     * Runs a module on the loaded input, with the current grad mode. Call inside a {@link PointerScope}: the result
     * belongs to it.
     *
     * @param network this session's module or a copy of it.
     * @return the logits tensor, a handle of its own.
     * @throws IllegalStateException if the forward pass fails.
     */
    Tensor forward(final JitModule network)
    {
        try
        {
            // a handle of its own: toTensor() is a view into the IValue, which may be freed before the tensor
            return new Tensor(network.forward(inputs).toTensor());
        }
        catch (final RuntimeException e)
        {
            throw new IllegalStateException("the model's forward pass failed: " + Libtorch.reason(e), e);
        }
    }

    /**
     * Copies logits into a Java array; call with gradients off, so that the buffer records no autograd history.
     *
     * @param output a result of {@link #forward()}.
     * @param dst    receives the {@code classes} logits.
     */
    void readLogits(final Tensor output, final float[] dst)
    {
        logits.copy_(output);
        logitsData.get(dst, 0, classes);
    }

    /**
     * @param z logits.
     * @return the most likely candidate class, equal logits ranked by lower index (the focus head's order).
     */
    int best(final float[] z)
    {
        if (candidates == null)
        {
            int best = 0;
            for (int c = 1; c < classes; c++)
            {
                best = z[c] > z[best] ? c : best;
            }
            return best;
        }
        int best = candidates[0];
        for (final int c : candidates)
        {
            best = z[c] > z[best] || z[c] == z[best] && c < best ? c : best;
        }
        return best;
    }

    /**
     * Keeps a native object of the predictor until {@link #close()}.
     *
     * @param pointer a native object.
     * @return the same object.
     */
    <T extends Pointer> T keep(final T pointer)
    {
        return owned.keep(pointer);
    }

    @Override
    public void close()
    {
        head.close();
        owned.close();
    }
}
