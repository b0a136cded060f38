package dev.refocus;

import dev.refocus.internal.Checks;
import dev.refocus.internal.bindings.DenseNative;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Objects;

import static dev.refocus.internal.NativeMemory.view;

/**
 * A predictor whose whole refocus step for a {@link DenseNetwork} runs natively, in one call per batch: the CPU step
 * ({@code dev.refocus.cpu.NativePredictor}) or the CUDA step ({@code dev.refocus.cuda.CudaPredictor}), both with
 * the semantics of {@code refocus/dense.h}. Besides {@link Predictor}'s calls it predicts batches of up to
 * {@link #maxBatch()} samples, each with its own decision and its own &theta;', and runs the plain forward pass.
 * Inputs and results cross through direct buffers over the step's own memory: a call allocates nothing.
 *
 * <p><b>Note:</b> One call at a time, from any thread: see {@link Predictor}.
 */
public abstract class DensePredictor extends Predictor
{
    /** How the adapted parameters &theta;' are held (docs/DESIGN.md section 2). */
    public enum Mode
    {
        /**
         * No weight is written: the second forward pass applies the step's rank-one terms (the default). Takes at
         * most {@link #MAX_IMPLICIT_STEPS} steps: its cost grows with T&sup2;.
         */
        IMPLICIT,
        /** &theta;' is written out of place into a shadow buffer for the tensors the step changes. */
        SHADOW
    }

    /**
     * The most steps T that {@link Mode#IMPLICIT} takes: 64. Its cost grows with T&sup2; (step k applies the k
     * rank-one terms of the steps before it to every adapted layer), while {@link Mode#SHADOW} pays the same weight
     * traffic at every step. On the benchmark models of docs/DESIGN.md section 5, shadow mode is as fast from T = 24
     * on model S (32 -> 64 -> 64 -> 3) and from T = 256 on model M (256 -> 1024 -> 1024 -> 32); at 64, implicit mode
     * is within about 2x of shadow mode on both, either way. Beyond it, creating an implicit predictor fails: ask for
     * {@link Mode#SHADOW}, which takes any T. From {@code REFOCUS_MAX_IMPLICIT_STEPS} in {@code refocus/dense.h}.
     */
    public static final int MAX_IMPLICIT_STEPS = DenseNative.REFOCUS_MAX_IMPLICIT_STEPS;

    private final DenseNetwork network; // keeps the shared parameter block alive
    private final Mode mode;
    private final int maxBatch;
    private FloatBuffer inputs;
    private FloatBuffer logits;
    private FloatBuffer margins;
    private IntBuffer answers;

    /**
     * Checks what every dense step requires; the subclass then sets its step up and {@link #attach}es its buffers.
     *
     * @param network  the model.
     * @param config   the refocus configuration; checked against the network.
     * @param mode     how &theta;' is held.
     * @param maxBatch the most samples one call takes, &ge; 1.
     * @throws IllegalArgumentException if the configuration does not fit the network, {@code maxBatch < 1}, or the
     *                                  mode is {@link Mode#IMPLICIT} and the configuration has more than
     *                                  {@link #MAX_IMPLICIT_STEPS} steps.
     */
    protected DensePredictor(final DenseNetwork network, final RefocusConfig config, final Mode mode,
        final int maxBatch)
    {
        super(network.inputSize(), network.classes(), config);
        config.checkFits(network.classes(), network.layers());
        this.network = network;
        this.mode = Objects.requireNonNull(mode, "mode");
        if (maxBatch < 1)
        {
            throw new IllegalArgumentException("max batch must be >= 1, got " + maxBatch);
        }
        this.maxBatch = maxBatch;
        if (mode == Mode.IMPLICIT && config.steps() > MAX_IMPLICIT_STEPS)
        {
            throw new IllegalArgumentException("T = " + config.steps() + " steps is more than Mode.IMPLICIT takes ("
                + MAX_IMPLICIT_STEPS + ": its cost grows with T squared); use Mode.SHADOW, which takes any T: "
                + getClass().getSimpleName() + ".create(..., Mode.SHADOW, maxBatch)");
        }
    }

    /** @return the network. */
    public final DenseNetwork network()
    {
        return network;
    }

    /** @return how &theta;' is held. */
    public final Mode mode()
    {
        return mode;
    }

    /** @return the most samples one batch call takes. */
    public final int maxBatch()
    {
        return maxBatch;
    }

    /**
     * The plain forward pass, without refocus: {@code out} gets the logits and the most likely candidate as both
     * initial and final class; it is never adapted and its margin is NaN.
     *
     * @param input {@link #inputSize()} finite features.
     * @param out   receives the result.
     * @throws ArithmeticException if a candidate logit is NaN (NaN or overflowing weights), as {@code predict}.
     */
    public final void forward(final float[] input, final Prediction out)
    {
        Objects.requireNonNull(input, "input");
        checkCall(config().learningRate(), config().marginThreshold());
        checkInputLength(input.length);
        checkResult(out);
        checkFinite(input, 0, input.length);
        acquire();
        try
        {
            inputs.put(0, input);
            forwardStep(1);
            collect(0, out);
            complete(out, out.initialClass(), out.finalClass(), false, Float.NaN);
        }
        finally
        {
            release();
        }
    }

    /**
     * Predicts {@code n} samples in one call with the configured learning rate and margin threshold; each sample
     * gets its own decision and its own &theta;', and the weights are read once per pass for all of them. Each
     * sample's result is the same, bit for bit, as if it were predicted alone.
     *
     * @param batch {@code n} rows of {@link #inputSize()} finite features, row-major, from index 0; it may be longer
     *              (a buffer reused for batches of any size): what follows the {@code n} rows is not read.
     * @param n     number of samples, 1 to {@link #maxBatch()}.
     * @param out   at least {@code n} results, filled in order.
     */
    public final void predict(final float[] batch, final int n, final Prediction[] out)
    {
        predict(batch, n, config().learningRate(), config().marginThreshold(), out);
    }

    /**
     * Predicts {@code n} samples in one call with this call's learning rate and margin threshold.
     *
     * @param batch           {@code n} rows of {@link #inputSize()} finite features, row-major, from index 0; it
     *                        may be longer: what follows the {@code n} rows is not read.
     * @param n               number of samples, 1 to {@link #maxBatch()}.
     * @param learningRate    &eta; for this call, finite and &ge; 0.
     * @param marginThreshold d for this call, in [0, 1].
     * @param out             at least {@code n} results, filled in order.
     */
    public final void predict(final float[] batch, final int n, final float learningRate,
        final float marginThreshold, final Prediction[] out)
    {
        predict(batch, 0, n, learningRate, marginThreshold, out);
    }

    /**
     * Predicts samples {@code first} to {@code first + n - 1} of a longer batch into the same entries of
     * {@code out}, with this call's learning rate and margin threshold: a slice of a buffer that holds more
     * samples (a ring buffer, one thread's share of a batch), as if it were a batch of its own.
     *
     * @param batch           rows of {@link #inputSize()} features, row-major; rows {@code first} to
     *                        {@code first + n - 1} are read and must be finite.
     * @param first           the first sample's row, &ge; 0.
     * @param n               number of samples, 1 to {@link #maxBatch()}.
     * @param learningRate    &eta; for this call, finite and &ge; 0.
     * @param marginThreshold d for this call, in [0, 1].
     * @param out             results: entries {@code first} to {@code first + n - 1} are filled in order.
     */
    public final void predict(final float[] batch, final int first, final int n, final float learningRate,
        final float marginThreshold, final Prediction[] out)
    {
        Checks.batch(batch, first, n, maxBatch, inputSize(), out);
        checkCall(learningRate, marginThreshold);
        for (int i = first; i < first + n; i++)
        {
            checkResult(out[i]);
        }
        final int from = first * inputSize(); // fits: from < the batch's length
        final int values = n * inputSize();   // no overflow: n <= maxBatch, and maxBatch rows fit the step's memory
        checkFinite(batch, from, values);
        acquire();
        try
        {
            inputs.put(0, batch, from, values);
            final boolean bypassed = bypassing();
            step(n, learningRate, bypassed ? 0.0f : marginThreshold);
            boolean observed = false;
            for (int i = 0; i < n; i++)
            {
                collect(i, out[first + i]);
                observed |= countGuarded(out[first + i], bypassed);
            }
            if (observed)
            {
                step(n, learningRate, 0.0f); // observe-only: the plain predictions, as with refocus off
                for (int i = 0; i < n; i++)
                {
                    collect(i, out[first + i]);
                }
            }
        }
        finally
        {
            release();
        }
    }

    /**
     * For subclasses, once at set-up: where the step reads its samples and writes its results, laid out as
     * {@code refocus_dense_inputs()}, {@code _logits()}, {@code _margins()} and {@code _answers()} say. The memory
     * must stay valid until {@link #free()}.
     */
    protected final void attach(final long inputsAddress, final long logitsAddress, final long marginsAddress,
        final long answersAddress)
    {
        this.inputs = view(inputsAddress, 4L * maxBatch * inputSize()).asFloatBuffer();
        this.logits = view(logitsAddress, 4L * maxBatch * classes()).asFloatBuffer();
        this.margins = view(marginsAddress, 4L * maxBatch).asFloatBuffer();
        this.answers = view(answersAddress, 4L * 3 * maxBatch).asIntBuffer();
    }

    /**
     * Predicts the first {@code n} attached samples ({@code refocus_dense_predict()}'s contract); arguments have been
     * validated.
     *
     * @throws ArithmeticException   if a candidate logit of the plain pass is NaN.
     * @throws IllegalStateException if the step fails.
     */
    protected abstract void step(int n, float learningRate, float marginThreshold);

    /**
     * The plain forward pass of the first {@code n} attached samples ({@code refocus_dense_forward()}'s contract).
     *
     * @throws ArithmeticException   if a candidate logit is NaN.
     * @throws IllegalStateException if the step fails.
     */
    protected abstract void forwardStep(int n);

    @Override
    protected final void loadInput(final float[] input)
    {
        inputs.put(0, input);
    }

    @Override
    protected final void loadInput(final FloatBuffer input)
    {
        inputs.put(0, input, input.position(), inputSize());
    }

    @Override
    protected final void run(final float learningRate, final float marginThreshold, final Prediction out)
    {
        step(1, learningRate, marginThreshold);
        collect(0, out);
    }

    /** For subclasses: sample {@code i}'s result, read from the attached buffers into {@code out}. */
    protected final void collect(final int i, final Prediction out)
    {
        logits.get(i * classes(), logits(out));
        final int row = 3 * i;
        final int outcome = answers.get(row + 2);
        if (outcome == DenseNative.REFOCUS_SAMPLE_FELL_BACK)
        {
            completeFallback(out, answers.get(row), margins.get(i)); // the row holds the plain logits
        }
        else
        {
            complete(out, answers.get(row), answers.get(row + 1), outcome == DenseNative.REFOCUS_SAMPLE_ADAPTED,
                margins.get(i));
        }
    }
}
