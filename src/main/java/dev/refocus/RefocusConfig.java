package dev.refocus;

import dev.refocus.internal.Checks;

import java.util.Arrays;
import java.util.Objects;

/**
 * What the refocus step does on an uncertain sample: the method, learning rate &eta;, margin threshold
 * d, number of focus classes n<sub>f</sub>, steps T, gradient clipping norm c, the adapted parameters and
 * the optional candidate classes (docs/DESIGN.md section 1). Immutable and thread-safe.
 *
 * <pre>{@code
 * RefocusConfig config = RefocusConfig.builder(0.02f).method(Method.IFO_WEIGHTED).build();
 * }</pre>
 */
public final class RefocusConfig
{
    private final Method method;
    private final float learningRate;
    private final float marginThreshold;
    private final int focusClasses;
    private final int steps;
    private final float clipNorm;
    private final ParameterSubset parameters;
    private final int[] candidates;

    private RefocusConfig(final Builder b)
    {
        this.method = b.method;
        this.learningRate = b.learningRate;
        this.marginThreshold = b.marginThreshold;
        this.focusClasses = b.focusClasses;
        this.steps = b.steps;
        this.clipNorm = b.clipNorm;
        this.parameters = b.parameters;
        this.candidates = b.candidates;
    }

    /**
     * @param learningRate &eta;, required because it is model-specific (the paper: about 2e-3 to 4e-2);
     *                     finite and &ge; 0.
     * @return a builder with the paper's defaults for everything else.
     */
    public static Builder builder(final float learningRate)
    {
        return new Builder(learningRate);
    }

    /** @return a builder that starts from this configuration. */
    public Builder toBuilder()
    {
        final Builder b = new Builder(learningRate);
        b.method = method;
        b.marginThreshold = marginThreshold;
        b.focusClasses = focusClasses;
        b.steps = steps;
        b.clipNorm = clipNorm;
        b.parameters = parameters;
        b.candidates = candidates;
        return b;
    }

    public Method method()
    {
        return method;
    }

    public float learningRate()
    {
        return learningRate;
    }

    public float marginThreshold()
    {
        return marginThreshold;
    }

    public int focusClasses()
    {
        return focusClasses;
    }

    public int steps()
    {
        return steps;
    }

    /** @return the global L2 norm the gradient is clipped to before each step; 0 means no clipping. */
    public float clipNorm()
    {
        return clipNorm;
    }

    public ParameterSubset parameters()
    {
        return parameters;
    }

    /** @return whether a candidate set restricts the classes. */
    public boolean hasCandidates()
    {
        return candidates != null;
    }

    /** @return a copy of the candidate classes, or an empty array when every class is a candidate. */
    public int[] candidates()
    {
        return candidates == null ? new int[0] : candidates.clone();
    }

    /**
     * Checks this configuration against a model.
     *
     * @param classes number of classes (logits) of the model.
     * @param layers  number of layers of the model whose parameters may adapt.
     * @throws IllegalArgumentException if the focus classes, candidates or adapted layers do not fit.
     */
    public void checkFits(final int classes, final int layers)
    {
        Checks.classes(this, classes);
        parameters.checkFits(layers);
    }

    @Override
    public String toString()
    {
        return "RefocusConfig{method=" + method + ", learningRate=" + learningRate + ", marginThreshold="
            + marginThreshold + ", focusClasses=" + focusClasses + ", steps=" + steps + ", clipNorm=" + clipNorm
            + ", parameters=" + parameters + (candidates == null ? "" : ", candidates=" + Arrays.toString(candidates))
            + "}";
    }

    /** Builds a {@link RefocusConfig}; each setter checks its argument at once. Not thread-safe. */
    public static final class Builder
    {
        private Method method = Method.IFO_WEIGHTED;
        private float learningRate;
        private float marginThreshold = 0.16f;
        private int focusClasses = 2;
        private int steps = 1;
        private float clipNorm = 1.0f;
        private ParameterSubset parameters = ParameterSubset.all();
        private int[] candidates;

        private Builder(final float learningRate)
        {
            learningRate(learningRate);
        }

        public Builder method(final Method method)
        {
            this.method = Objects.requireNonNull(method, "method");
            return this;
        }

        /** @param learningRate &eta;, finite and &ge; 0. */
        public Builder learningRate(final float learningRate)
        {
            this.learningRate = Checks.learningRate(learningRate);
            return this;
        }

        /** @param d margin threshold in [0, 1] (default 0.16): a sample adapts when its margin is below it. */
        public Builder marginThreshold(final float d)
        {
            this.marginThreshold = Checks.marginThreshold(d);
            return this;
        }

        /** @param n number of focus classes n<sub>f</sub>, &ge; 2 (default 2) and fewer than the classes. */
        public Builder focusClasses(final int n)
        {
            if (n < 2)
            {
                throw new IllegalArgumentException("focus classes must be >= 2, got " + n);
            }
            this.focusClasses = n;
            return this;
        }

        /** @param t number of SGD steps T, &ge; 1 (default 1). */
        public Builder steps(final int t)
        {
            if (t < 1)
            {
                throw new IllegalArgumentException("steps must be >= 1, got " + t);
            }
            this.steps = t;
            return this;
        }

        /** @param c global L2 norm to clip the gradient to (default 1, as the paper's code); 0 turns clipping off. */
        public Builder clipNorm(final float c)
        {
            if (!(c >= 0.0f) || Float.isInfinite(c))
            {
                throw new IllegalArgumentException("clip norm must be finite and >= 0, got " + c);
            }
            this.clipNorm = c;
            return this;
        }

        public Builder parameters(final ParameterSubset parameters)
        {
            this.parameters = Objects.requireNonNull(parameters, "parameters");
            return this;
        }

        /**
         * Restricts the margin, the focus classes, the losses and the answer to these classes (the paper's
         * multiple-choice setting, A.3.7).
         *
         * @param classes distinct, non-negative class indices; the range is checked against the model.
         */
        public Builder candidates(final int... classes)
        {
            Objects.requireNonNull(classes, "classes");
            if (classes.length == 0)
            {
                throw new IllegalArgumentException("the candidate set is empty");
            }
            final int[] sorted = classes.clone();
            Arrays.sort(sorted);
            for (int i = 0; i < sorted.length; i++)
            {
                if (sorted[i] < 0)
                {
                    throw new IllegalArgumentException("candidate class " + sorted[i] + " is negative");
                }
                if (i > 0 && sorted[i] == sorted[i - 1])
                {
                    throw new IllegalArgumentException("candidate class " + sorted[i] + " appears twice");
                }
            }
            this.candidates = classes.clone();
            return this;
        }

        /** Every class is a candidate again (the default). */
        public Builder allClasses()
        {
            this.candidates = null;
            return this;
        }

        public RefocusConfig build()
        {
            return new RefocusConfig(this);
        }
    }
}
