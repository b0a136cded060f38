package dev.refocus.torch;

import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.FocusHead;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GradMode;

import java.nio.FloatBuffer;

/**
 * What the two libtorch predictors share: the session, the plain pass and the decision, the certain answer, and the
 * fallback to the plain prediction when a pass with &theta;' gives non-finite logits. They differ only in how they
 * hold &theta;' ({@link #adapt}).
 */
@SuppressWarnings("try") // a PointerScope is opened for its effect: it frees the temporaries made inside it
abstract class TorchStepPredictor extends Predictor
{
    final TorchSession session;
    private final float[] plainLogits; // the answer's logits if the sample falls back

    TorchStepPredictor(final TorchModel model, final RefocusConfig config, final TorchOptions options)
    {
        super(model.inputSize(), model.classes(), config);
        this.session = new TorchSession(model, config, options);
        this.plainLogits = new float[model.classes()];
    }

    /**
     * The T steps of an uncertain sample and the pass with the adapted parameters, which are then forgotten.
     *
     * @param z            the plain logits in, the adapted logits out.
     * @param learningRate &eta;.
     * @param head         the focus head, with this sample's focus classes.
     * @return false if a pass with &theta;' gave a non-finite candidate logit: the sample falls back.
     */
    abstract boolean adapt(float[] z, float learningRate, FocusHead head);

    @Override
    protected final void loadInput(final float[] input)
    {
        session.loadInput(input);
    }

    @Override
    protected final void loadInput(final FloatBuffer input)
    {
        session.loadInput(input);
    }

    @Override
    protected final void run(final float learningRate, final float marginThreshold, final Prediction out)
    {
        final float[] z = logits(out);
        final FocusHead head = session.head();
        session.begin();
        try (PointerScope scope = new PointerScope())
        {
            GradMode.set_enabled(false);
            session.readLogits(session.forward(), z);
            final boolean uncertain = head.evaluate(z, marginThreshold);
            final int initial = head.topClass();
            if (!uncertain)
            {
                complete(out, initial, initial, false, head.margin());
                return;
            }
            System.arraycopy(z, 0, plainLogits, 0, z.length);
            if (adapt(z, learningRate, head))
            {
                complete(out, initial, session.best(z), true, head.margin());
            }
            else
            {
                System.arraycopy(plainLogits, 0, z, 0, z.length);
                completeFallback(out, initial, head.margin());
            }
        }
        finally
        {
            session.end();
        }
    }

    @Override
    protected final void free()
    {
        session.close();
    }
}
