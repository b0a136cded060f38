package dev.refocus.testing;

import dev.refocus.Prediction;
import dev.refocus.Predictor;

import java.util.Arrays;

/**
 * Margin thresholds chosen between real margins, so that one test sees certain and uncertain samples. A threshold of
 * 0 makes every sample certain and 1 every sample uncertain: a test of the decision built on either cannot fail.
 */
public final class Thresholds
{
    private Thresholds()
    {
    }

    /**
     * A threshold d in the widest gap between the middle third of the inputs' plain-pass margins: at least a third
     * of the samples have a margin below d (uncertain), at least a third above it (certain), and none is so close to
     * d that float rounding, or another backend's, could decide it the other way.
     *
     * @param predictor any predictor of the model; it predicts each input once, with its configuration.
     * @param inputs    at least three samples.
     * @return d.
     * @throws IllegalStateException if even the widest gap is under 1e-6: take other inputs.
     */
    public static float split(final Predictor predictor, final float[][] inputs)
    {
        final Prediction out = predictor.newPrediction();
        final float[] margins = new float[inputs.length];
        for (int i = 0; i < inputs.length; i++)
        {
            predictor.predict(inputs[i], out);
            margins[i] = out.margin(); // the plain pass's, whether or not the sample then adapted
        }
        Arrays.sort(margins);
        int widest = inputs.length / 3;
        for (int k = widest + 1; k <= inputs.length - inputs.length / 3; k++)
        {
            widest = margins[k] - margins[k - 1] > margins[widest] - margins[widest - 1] ? k : widest;
        }
        final float below = margins[widest - 1];
        final float above = margins[widest];
        if (!(above - below > 1e-6f))
        {
            throw new IllegalStateException("the middle margins are too close to put a threshold between them (the "
                + "widest gap is from " + below + " to " + above + "); take other inputs");
        }
        return (below + above) / 2;
    }
}
