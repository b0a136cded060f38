package dev.refocus.reference;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.ParameterSubset;
import dev.refocus.Prediction;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;

import java.nio.FloatBuffer;

/**
 * Algorithm 1 of the paper, literally, in plain Java and double precision: the oracle every fast backend is
 * tested against, not a backend to deploy. For every uncertain sample it copies all parameters (the clone),
 * runs T steps of forward pass, loss gradient, hand-written backward pass, gradient clipping and SGD on the
 * copy, then predicts with the copy. The copy lives in a buffer allocated once, so even this predictor
 * allocates nothing per call.
 *
 * <p>The fallback rule of {@link Predictor} is applied to the logits as every backend reports them, in float: a
 * logit beyond float's range counts as infinite, as it is in the float backends whose step overflows.
 *
 * <p><b>Note:</b> This class is not thread-safe; see {@link Predictor}.
 */
public final class ReferencePredictor extends Predictor
{
    private final int layers;
    private final Activation[] activations;
    private final ParameterSubset subset;
    private final int[] candidates;
    private final int steps;
    private final float clipNorm;
    private final ReferenceFocusHead head;

    // theta: the network's parameters in double, never written after construction
    private final double[][] weights;
    private final double[][] biases;
    // theta': the per-sample clone that the SGD steps write
    private final double[][] cloneWeights;
    private final double[][] cloneBiases;
    private final double[][] gradWeights;
    private final double[][] gradBiases;
    // act[l] is the input of layer l, act[layers] the logits; pre[l] = W_l act[l] + b_l
    private final double[][] act;
    private final double[][] pre;
    private final double[][] delta;
    private final double[] dlogits;

    /**
     * @param network the model.
     * @param config  the refocus configuration; checked against the network.
     * @return the predictor.
     * @throws IllegalArgumentException if the configuration does not fit the network.
     */
    public static ReferencePredictor create(final DenseNetwork network, final RefocusConfig config)
    {
        return new ReferencePredictor(network, config);
    }

    private ReferencePredictor(final DenseNetwork network, final RefocusConfig config)
    {
        super(network.inputSize(), network.classes(), config);
        config.checkFits(network.classes(), network.layers());
        this.layers = network.layers();
        this.activations = new Activation[layers];
        this.subset = config.parameters();
        this.candidates = candidates(config, network.classes());
        this.steps = config.steps();
        this.clipNorm = config.clipNorm();
        this.head = new ReferenceFocusHead(network.classes(), config);
        this.weights = new double[layers][];
        this.biases = new double[layers][];
        this.cloneWeights = new double[layers][];
        this.cloneBiases = new double[layers][];
        this.gradWeights = new double[layers][];
        this.gradBiases = new double[layers][];
        this.act = new double[layers + 1][];
        this.pre = new double[layers][];
        this.delta = new double[layers][];
        act[0] = new double[network.inputSize()];
        for (int l = 0; l < layers; l++)
        {
            activations[l] = network.activation(l);
            weights[l] = toDouble(network.weight(l));
            biases[l] = toDouble(network.bias(l));
            cloneWeights[l] = new double[weights[l].length];
            cloneBiases[l] = new double[biases[l].length];
            gradWeights[l] = new double[weights[l].length];
            gradBiases[l] = new double[biases[l].length];
            pre[l] = new double[network.outputSize(l)];
            act[l + 1] = new double[network.outputSize(l)];
            delta[l] = new double[network.outputSize(l)];
        }
        this.dlogits = new double[network.classes()];
    }

    private static double[] toDouble(final FloatBuffer values)
    {
        final double[] result = new double[values.remaining()];
        for (int i = 0; i < result.length; i++)
        {
            result[i] = values.get(i);
        }
        return result;
    }

    @Override
    protected void loadInput(final float[] input)
    {
        for (int i = 0; i < act[0].length; i++)
        {
            act[0][i] = input[i];
        }
    }

    @Override
    protected void loadInput(final FloatBuffer input)
    {
        final int base = input.position();
        for (int i = 0; i < act[0].length; i++)
        {
            act[0][i] = input.get(base + i);
        }
    }

    @Override
    protected void run(final float learningRate, final float marginThreshold, final Prediction out)
    {
        final float[] logitsOut = logits(out);
        final double[] z = act[layers];
        forward(weights, biases);
        final double margin = head.rank(z);
        final int initial = head.top();
        copy(z, logitsOut); // the answer's logits if the sample is certain or falls back
        if (!(margin < marginThreshold))
        {
            complete(out, initial, initial, false, (float)margin);
            return;
        }

        cloneParameters();
        for (int t = 0; t < steps; t++)
        {
            forward(cloneWeights, cloneBiases);
            if (t > 0 && !finiteAsFloats(z))
            {
                completeFallback(out, initial, (float)margin);
                return;
            }
            head.logitGrad(z, dlogits);
            backward();
            clipGradient();
            sgdStep(learningRate);
        }
        forward(cloneWeights, cloneBiases);
        if (!finiteAsFloats(z))
        {
            completeFallback(out, initial, (float)margin);
            return;
        }
        copy(z, logitsOut);
        complete(out, initial, head.best(z), true, (float)margin);
    }

    /** The fallback rule's test on logits computed with adapted parameters, as float reports them. */
    private boolean finiteAsFloats(final double[] z)
    {
        for (final int c : candidates)
        {
            if (!Float.isFinite((float)z[c]))
            {
                return false;
            }
        }
        return true;
    }

    private static int[] candidates(final RefocusConfig config, final int classes)
    {
        if (config.hasCandidates())
        {
            return config.candidates();
        }
        final int[] all = new int[classes];
        for (int c = 0; c < classes; c++)
        {
            all[c] = c;
        }
        return all;
    }

    /** The input is act[0]; fills pre and act with the given parameters. */
    void forward(final double[][] w, final double[][] b)
    {
        for (int l = 0; l < layers; l++)
        {
            final double[] in = act[l];
            final double[] h = pre[l];
            final double[] a = act[l + 1];
            for (int o = 0; o < h.length; o++)
            {
                double s = b[l][o];
                final int row = o * in.length;
                for (int i = 0; i < in.length; i++)
                {
                    s += w[l][row + i] * in[i];
                }
                h[o] = s;
                a[o] = activate(activations[l], s);
            }
        }
    }

    /** Gradients of the adapted parameters of the clone, from dlogits and the activations of its forward pass. */
    void backward()
    {
        final int first = subset.firstAdaptedLayer(layers);
        final double[] top = delta[layers - 1];
        for (int o = 0; o < top.length; o++)
        {
            top[o] = dlogits[o] * derivative(activations[layers - 1], pre[layers - 1][o], act[layers][o]);
        }
        for (int l = layers - 1; l >= first; l--)
        {
            final double[] d = delta[l];
            final double[] in = act[l];
            if (subset.adaptsWeight(l, layers))
            {
                for (int o = 0; o < d.length; o++)
                {
                    for (int i = 0; i < in.length; i++)
                    {
                        gradWeights[l][o * in.length + i] = d[o] * in[i];
                    }
                }
            }
            if (subset.adaptsBias(l, layers))
            {
                System.arraycopy(d, 0, gradBiases[l], 0, d.length);
            }
            if (l > first)
            {
                final double[] below = delta[l - 1];
                for (int i = 0; i < in.length; i++)
                {
                    double s = 0.0;
                    for (int o = 0; o < d.length; o++)
                    {
                        s += cloneWeights[l][o * in.length + i] * d[o];
                    }
                    below[i] = s * derivative(activations[l - 1], pre[l - 1][i], in[i]);
                }
            }
        }
    }

    /** clip_grad_norm_ over the adapted parameters: scale by min(1, c / (norm + 1e-6)), as PyTorch does. */
    private void clipGradient()
    {
        if (clipNorm == 0.0f)
        {
            return;
        }
        double squares = 0.0;
        for (int l = 0; l < layers; l++)
        {
            squares += subset.adaptsWeight(l, layers) ? sumOfSquares(gradWeights[l]) : 0.0;
            squares += subset.adaptsBias(l, layers) ? sumOfSquares(gradBiases[l]) : 0.0;
        }
        final double scale = Math.min(1.0, clipNorm / (Math.sqrt(squares) + 1e-6));
        for (int l = 0; l < layers; l++)
        {
            scale(gradWeights[l], scale);
            scale(gradBiases[l], scale);
        }
    }

    private void sgdStep(final float learningRate)
    {
        for (int l = 0; l < layers; l++)
        {
            if (subset.adaptsWeight(l, layers))
            {
                axpy(-learningRate, gradWeights[l], cloneWeights[l]);
            }
            if (subset.adaptsBias(l, layers))
            {
                axpy(-learningRate, gradBiases[l], cloneBiases[l]);
            }
        }
    }

    /** Algorithm 1, line 1: the clone of every parameter. */
    void cloneParameters()
    {
        for (int l = 0; l < layers; l++)
        {
            System.arraycopy(weights[l], 0, cloneWeights[l], 0, weights[l].length);
            System.arraycopy(biases[l], 0, cloneBiases[l], 0, biases[l].length);
        }
    }

    // --- package-private views for the gradient tests

    double[][] parameterWeights()
    {
        return cloneWeights;
    }

    double[][] parameterBiases()
    {
        return cloneBiases;
    }

    double[][] gradientWeights()
    {
        return gradWeights;
    }

    double[][] gradientBiases()
    {
        return gradBiases;
    }

    double[] logitsOfLastForward()
    {
        return act[layers];
    }

    double[] dlogits()
    {
        return dlogits;
    }

    ReferenceFocusHead head()
    {
        return head;
    }

    // --- small numeric helpers

    static double activate(final Activation activation, final double h)
    {
        switch (activation)
        {
            case RELU:
                return h < 0.0 ? 0.0 : h; // NaN stays NaN, as in PyTorch
            case TANH:
                return Math.tanh(h);
            case IDENTITY:
                return h;
            case GELU:
                return h * normalCdf(h);
            case GELU_TANH:
                return 0.5 * h * (1.0 + Math.tanh(geluTanhInner(h)));
            case SILU:
                return h * sigmoid(h);
            case SIGMOID:
                return sigmoid(h);
            case LEAKY_RELU:
                return h > 0.0 ? h : h * Activation.LEAKY_RELU_SLOPE; // NaN stays NaN
            default:
                throw new AssertionError(activation);
        }
    }

    /** d act / d h, from the pre-activation h and the output a. */
    static double derivative(final Activation activation, final double h, final double a)
    {
        switch (activation)
        {
            case RELU:
                return h > 0.0 ? 1.0 : 0.0;
            case TANH:
                return 1.0 - a * a;
            case IDENTITY:
                return 1.0;
            case GELU:
                return normalCdf(h) + h * Math.exp(-0.5 * h * h) / Math.sqrt(2.0 * Math.PI);
            case GELU_TANH:
            {
                final double t = Math.tanh(geluTanhInner(h));
                final double innerDerivative = GELU_TANH_SCALE * (1.0 + 3.0 * GELU_TANH_KAPPA * h * h);
                return 0.5 * (1.0 + t) + 0.5 * h * (1.0 - t * t) * innerDerivative;
            }
            case SILU:
            {
                final double s = sigmoid(h);
                return s * (1.0 + h * (1.0 - s));
            }
            case SIGMOID:
                return a * (1.0 - a);
            case LEAKY_RELU:
                return h > 0.0 ? 1.0 : Activation.LEAKY_RELU_SLOPE;
            default:
                throw new AssertionError(activation);
        }
    }

    private static final double GELU_TANH_SCALE = Math.sqrt(2.0 / Math.PI);
    private static final double GELU_TANH_KAPPA = 0.044715;

    private static double geluTanhInner(final double h)
    {
        return GELU_TANH_SCALE * (h + GELU_TANH_KAPPA * h * h * h);
    }

    private static double sigmoid(final double h)
    {
        return 1.0 / (1.0 + Math.exp(-h));
    }

    /** &Phi;(h), the standard normal distribution function, as erfc(-h / &radic;2) / 2: accurate in both tails. */
    static double normalCdf(final double h)
    {
        return 0.5 * erfc(-h / Math.sqrt(2.0));
    }

    /**
     * erfc(x) = 1 - erf(x) in double (Java has none): erf's Taylor series for |x| &lt; 2.5 (absolute error about
     * 1e-14), the continued fraction of erfc beyond (relative error about 1e-11 at 2.5, better further out), so that
     * GELU's far tails keep their relative precision.
     */
    static double erfc(final double x)
    {
        if (Double.isNaN(x))
        {
            return x;
        }
        if (Math.abs(x) < 2.5)
        {
            // erf(x) = 2/sqrt(pi) sum_n (-1)^n x^(2n+1) / (n! (2n+1))
            double sum = 0.0;
            double power = x; // (-1)^n x^(2n+1) / n!
            for (int n = 0; ; n++)
            {
                final double term = power / (2 * n + 1);
                sum += term;
                if (Math.abs(term) <= 1e-17 * Math.abs(sum))
                {
                    break;
                }
                power *= -x * x / (n + 1);
            }
            return 1.0 - 2.0 / Math.sqrt(Math.PI) * sum;
        }
        // erfc(z) = exp(-z^2) / sqrt(pi) / (z + (1/2) / (z + 1 / (z + (3/2) / (z + ...)))), z = |x| >= 2.5
        final double z = Math.abs(x);
        double fraction = z;
        for (int k = 60; k >= 1; k--)
        {
            fraction = z + 0.5 * k / fraction;
        }
        final double tail = Math.exp(-z * z) / (Math.sqrt(Math.PI) * fraction);
        return x > 0.0 ? tail : 2.0 - tail;
    }

    private static double sumOfSquares(final double[] v)
    {
        double s = 0.0;
        for (final double x : v)
        {
            s += x * x;
        }
        return s;
    }

    private static void scale(final double[] v, final double factor)
    {
        for (int i = 0; i < v.length; i++)
        {
            v[i] *= factor;
        }
    }

    private static void axpy(final double alpha, final double[] x, final double[] y)
    {
        for (int i = 0; i < y.length; i++)
        {
            y[i] += alpha * x[i];
        }
    }

    private static void copy(final double[] from, final float[] to)
    {
        for (int i = 0; i < to.length; i++)
        {
            to[i] = (float)from[i];
        }
    }
}
