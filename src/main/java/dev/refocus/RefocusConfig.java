package dev.refocus;

import dev.refocus.internal.Checks;

import java.io.InvalidObjectException;
import java.io.ObjectInputStream;
import java.io.ObjectStreamException;
import java.io.Serializable;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What the refocus step does on an uncertain sample: the method, learning rate &eta;, margin threshold
 * d, number of focus classes n<sub>f</sub>, steps T, gradient clipping norm c, the adapted parameters and
 * the optional candidate classes (docs/DESIGN.md section 1). Immutable and thread-safe.
 *
 * <pre>{@code
 * RefocusConfig config = RefocusConfig.builder(0.02f).method(Method.IFO_WEIGHTED).build();
 * }</pre>
 *
 * <h2>Text form</h2>
 * {@link #toString()} is a stable text form, like {@code java.time}'s: every setting as {@code key=value}, in this
 * order, separated by {@code ", "}, and {@link #parse(String)} reads it back to an equal configuration
 * ({@code parse(c.toString()).equals(c)} for every c; numbers are written by {@link Float#toString(float)}, which
 * round-trips exactly). Configuration files and command lines can use it:
 * <pre>
 * method=IFO_WEIGHTED, learningRate=0.02, marginThreshold=0.16, focusClasses=2, steps=1, clipNorm=1.0,
 * parameters=all, candidates=4,1,2
 * </pre>
 * <ul>
 * <li>{@code method}: a {@link Method} name, any case;</li>
 * <li>{@code learningRate}, {@code marginThreshold}, {@code clipNorm}: decimal numbers such as {@code 0.02} or
 * {@code 5.0E-6};</li>
 * <li>{@code focusClasses}, {@code steps}: integers;</li>
 * <li>{@code parameters}: {@code all}, {@code head}, {@code biases} or {@code lastLayers(k)}
 * ({@link ParameterSubset#parse(String)});</li>
 * <li>{@code candidates}: class indices separated by commas, in the order given; written only when set.</li>
 * </ul>
 * {@link #parse(String)} takes entries separated by commas or line breaks, ignores spaces around keys and values
 * and skips blank entries; a part without {@code =} continues the value before it, which is how
 * {@code candidates=4,1,2} reads. Keys are case-sensitive and may appear once each. A missing key takes the
 * builder's default, except {@code learningRate}, which is required (it is model-specific).
 * <p>
 * Java serialization writes the text form and reads it back through {@link #parse(String)}, so a stream can only
 * make a configuration the builder accepts.
 */
public final class RefocusConfig implements Serializable
{
    private static final long serialVersionUID = 1L;
    private static final List<String> KEYS = List.of(
        "method", "learningRate", "marginThreshold", "focusClasses", "steps", "clipNorm", "parameters", "candidates");
    // what Float.toString writes, and no more: no NaN, Infinity, hex or 'f' suffix
    private static final Pattern DECIMAL = Pattern.compile("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?");

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

    /** @return the loss the step minimises (default {@link Method#IFO_WEIGHTED}). */
    public Method method()
    {
        return method;
    }

    /** @return &eta;, the learning rate of the step. */
    public float learningRate()
    {
        return learningRate;
    }

    /** @return d: a sample adapts when its margin is below it (default 0.16). */
    public float marginThreshold()
    {
        return marginThreshold;
    }

    /** @return n<sub>f</sub>, the number of focus classes (default 2). */
    public int focusClasses()
    {
        return focusClasses;
    }

    /** @return T, the number of SGD steps (default 1). */
    public int steps()
    {
        return steps;
    }

    /** @return the global L2 norm the gradient is clipped to before each step; 0 means no clipping. */
    public float clipNorm()
    {
        return clipNorm;
    }

    /** @return the parameters that adapt (default {@link ParameterSubset#all()}). */
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

    /**
     * Reads the text form (see the class comment): {@code parse(c.toString()).equals(c)} for every configuration.
     *
     * @param text entries {@code key=value} separated by commas or line breaks; {@code learningRate} is required.
     * @return the configuration.
     * @throws IllegalArgumentException for an unknown, repeated or missing required key, or a value the builder
     *                                  refuses; the message names the key and the value.
     */
    public static RefocusConfig parse(final String text)
    {
        Objects.requireNonNull(text, "text");
        final Map<String, StringBuilder> values = new LinkedHashMap<>();
        StringBuilder value = null;
        for (final String part : text.split("[,\\r\\n]"))
        {
            final String entry = part.strip();
            if (entry.isEmpty())
            {
                continue;
            }
            final int equals = entry.indexOf('=');
            if (equals < 0)
            {
                if (value == null)
                {
                    throw new IllegalArgumentException("config entry '" + entry + "' is not key=value");
                }
                value.append(',').append(entry);
                continue;
            }
            final String key = entry.substring(0, equals).strip();
            if (!KEYS.contains(key))
            {
                throw new IllegalArgumentException("unknown config key '" + key + "' in '" + entry +
                    "'; the keys are " + String.join(", ", KEYS));
            }
            if (values.containsKey(key))
            {
                throw new IllegalArgumentException("config key '" + key + "' appears twice");
            }
            value = new StringBuilder(entry.substring(equals + 1).strip());
            values.put(key, value);
        }
        if (!values.containsKey("learningRate"))
        {
            throw new IllegalArgumentException("config key 'learningRate' is required: it is model-specific");
        }
        final Builder builder = builder(0.0f);
        values.forEach((key, v) -> set(builder, key, v.toString()));
        return builder.build();
    }

    private static void set(final Builder builder, final String key, final String value)
    {
        try
        {
            switch (key)
            {
                case "method" -> builder.method(method(value));
                case "learningRate" -> builder.learningRate(decimal(value));
                case "marginThreshold" -> builder.marginThreshold(decimal(value));
                case "focusClasses" -> builder.focusClasses(integer(value));
                case "steps" -> builder.steps(integer(value));
                case "clipNorm" -> builder.clipNorm(decimal(value));
                case "parameters" -> builder.parameters(ParameterSubset.parse(value));
                case "candidates" -> builder.candidates(integers(value));
                default -> throw new IllegalStateException("key " + key + " is in KEYS but not read");
            }
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalArgumentException(
                "config key '" + key + "' has value '" + value + "': " + e.getMessage(), e);
        }
    }

    private static Method method(final String value)
    {
        try
        {
            return Method.valueOf(value.toUpperCase(Locale.ROOT));
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalArgumentException("not a method: " + Arrays.toString(Method.values()), e);
        }
    }

    private static float decimal(final String value)
    {
        if (!DECIMAL.matcher(value).matches())
        {
            throw new IllegalArgumentException("not a decimal number");
        }
        return Float.parseFloat(value);
    }

    private static int integer(final String value)
    {
        try
        {
            return Integer.parseInt(value);
        }
        catch (final NumberFormatException e)
        {
            throw new IllegalArgumentException("'" + value + "' is not an int", e);
        }
    }

    private static int[] integers(final String value)
    {
        if (value.isEmpty())
        {
            return new int[0];
        }
        final String[] parts = value.split(",");
        final int[] numbers = new int[parts.length];
        for (int i = 0; i < parts.length; i++)
        {
            numbers[i] = integer(parts[i].strip());
        }
        return numbers;
    }

    /**
     * @return the stable text form, which {@link #parse(String)} reads back to an equal configuration, e.g.
     * {@code method=IFO_WEIGHTED, learningRate=0.02, marginThreshold=0.16, focusClasses=2, steps=1, clipNorm=1.0,
     * parameters=all}.
     */
    @Override
    public String toString()
    {
        final StringBuilder s = new StringBuilder()
            .append("method=").append(method.name())
            .append(", learningRate=").append(Float.toString(learningRate))
            .append(", marginThreshold=").append(Float.toString(marginThreshold))
            .append(", focusClasses=").append(focusClasses)
            .append(", steps=").append(steps)
            .append(", clipNorm=").append(Float.toString(clipNorm))
            .append(", parameters=").append(parameters);
        if (candidates != null)
        {
            s.append(", candidates=");
            for (int i = 0; i < candidates.length; i++)
            {
                s.append(i == 0 ? "" : ",").append(candidates[i]);
            }
        }
        return s.toString();
    }

    /**
     * @param other any object.
     * @return whether it is a configuration with the same settings: every accessor returns an equal value (floats
     * compared as {@link Float#equals(Object)} does, candidates in order).
     */
    @Override
    public boolean equals(final Object other)
    {
        if (this == other)
        {
            return true;
        }
        return other instanceof RefocusConfig that &&
            method == that.method &&
            Float.compare(learningRate, that.learningRate) == 0 &&
            Float.compare(marginThreshold, that.marginThreshold) == 0 &&
            focusClasses == that.focusClasses &&
            steps == that.steps &&
            Float.compare(clipNorm, that.clipNorm) == 0 &&
            parameters.equals(that.parameters) &&
            Arrays.equals(candidates, that.candidates);
    }

    /** @return a hash consistent with {@link #equals(Object)}. */
    @Override
    public int hashCode()
    {
        int h = method.ordinal();
        h = 31 * h + Float.hashCode(learningRate);
        h = 31 * h + Float.hashCode(marginThreshold);
        h = 31 * h + focusClasses;
        h = 31 * h + steps;
        h = 31 * h + Float.hashCode(clipNorm);
        h = 31 * h + parameters.hashCode();
        return 31 * h + Arrays.hashCode(candidates);
    }

    /** Serialized as its text form, so that reading goes through {@link #parse(String)} and the builder. */
    private Object writeReplace()
    {
        return new TextForm(toString());
    }

    /** Only {@link TextForm} makes a configuration from a stream: one written field by field is forged. */
    private void readObject(final ObjectInputStream in) throws InvalidObjectException
    {
        throw new InvalidObjectException("a RefocusConfig is serialized as its text form");
    }

    /** The serialized form of a {@link RefocusConfig}: its text, parsed again when read. */
    private static final class TextForm implements Serializable
    {
        private static final long serialVersionUID = 1L;
        private final String text;

        TextForm(final String text)
        {
            this.text = text;
        }

        private Object readResolve() throws ObjectStreamException
        {
            try
            {
                return parse(text);
            }
            catch (final RuntimeException e)
            {
                final InvalidObjectException invalid =
                    new InvalidObjectException("invalid RefocusConfig in the stream: " + e.getMessage());
                invalid.initCause(e);
                throw invalid;
            }
        }
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

        /** @param method the loss the step minimises (default {@link Method#IFO_WEIGHTED}). @return this builder. */
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

        /** @param parameters the parameters that adapt (default all). @return this builder. */
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

        /** @return the configuration; every setting was checked when it was set. */
        public RefocusConfig build()
        {
            return new RefocusConfig(this);
        }
    }
}
