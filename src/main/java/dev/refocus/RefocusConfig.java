package dev.refocus;

import dev.refocus.internal.Checks;

import java.io.IOException;
import java.io.InvalidObjectException;
import java.io.ObjectInputStream;
import java.io.ObjectStreamException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * <li>{@code observeOnly}: {@code true} or {@code false}; written only when true ({@link Guard});</li>
 * <li>{@code bandWindow} (an integer), {@code bandAdaptedShare} and {@code bandChangedRate} (ranges
 * {@code min..max}): the {@link Band}, all three or none; written only when set.</li>
 * </ul>
 * {@link #parse(String)} takes entries separated by commas or line breaks, ignores spaces around keys and values
 * and skips blank entries and comment lines (lines starting with {@code #}); a line starting with {@code [} opens a
 * section that is not part of the configuration (as {@code refocus tune}'s {@code [evidence]}), and everything from
 * it on is skipped; a part without {@code =} continues the value before it, which is how
 * {@code candidates=4,1,2} reads. Keys are case-sensitive and may appear once each. A missing key takes the
 * builder's default, except {@code learningRate}, which is required (it is model-specific).
 * <p>
 * {@link #load(Path)} reads such a text from a file.
 * <p>
 * Java serialization writes the text form and reads it back through {@link #parse(String)}, so a stream can only
 * make a configuration the builder accepts.
 */
public final class RefocusConfig implements Serializable
{
    private static final long serialVersionUID = 1L;
    private static final List<String> KEYS = List.of(
        "method", "learningRate", "marginThreshold", "focusClasses", "steps", "clipNorm", "parameters", "candidates",
        "observeOnly", "bandWindow", "bandAdaptedShare", "bandChangedRate");
    private static final List<String> BAND_KEYS = List.of("bandWindow", "bandAdaptedShare", "bandChangedRate");
    // what Float.toString writes, and no more: no NaN, Infinity, hex or 'f' suffix
    private static final long MAX_FILE_BYTES = 1 << 20;
    private static final Pattern DECIMAL = Pattern.compile("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?");

    private final Method method;
    private final float learningRate;
    private final float marginThreshold;
    private final int focusClasses;
    private final int steps;
    private final float clipNorm;
    private final ParameterSubset parameters;
    private final int[] candidates;
    private final boolean observeOnly;
    private final Band band;

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
        this.observeOnly = b.observeOnly;
        this.band = b.band;
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
        b.observeOnly = observeOnly;
        b.band = band;
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
     * @return whether predictors only observe the step: they run and count it ({@link Guard}), but answer with the
     * plain prediction, as with refocus off (default false).
     */
    public boolean observeOnly()
    {
        return observeOnly;
    }

    /** @return the band the predictors' behaviour must stay in ({@link Guard}), or null for none (the default). */
    public Band band()
    {
        return band;
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
        for (final String part : settings(text).split("[,\\r\\n]"))
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
        values.forEach((key, v) ->
        {
            if (!BAND_KEYS.contains(key))
            {
                set(builder, key, v.toString());
            }
        });
        if (BAND_KEYS.stream().anyMatch(values::containsKey))
        {
            builder.band(band(values));
        }
        return builder.build();
    }

    /**
     * Reads a configuration file (as {@code refocus tune} writes): the text form, one entry per line or several
     * on a line, with comment lines and sections that {@link #parse(String)} skips.
     *
     * @param file a UTF-8 text file of at most 1 MiB.
     * @return the configuration.
     * @throws IOException              if the file cannot be read (missing: {@link java.nio.file.NoSuchFileException}).
     * @throws IllegalArgumentException if it is not a configuration (too large, not UTF-8, or what
     *                                  {@link #parse(String)} refuses); the message names the file.
     */
    public static RefocusConfig load(final Path file) throws IOException
    {
        Objects.requireNonNull(file, "file");
        if (Files.isDirectory(file))
        {
            throw new IllegalArgumentException("refocus config " + file + ": is a directory, not a file");
        }
        if (Files.exists(file) && !Files.isRegularFile(file))
        {
            throw new IllegalArgumentException("refocus config " + file + ": is not a regular file");
        }
        final long size = Files.size(file);
        if (size > MAX_FILE_BYTES)
        {
            throw new IllegalArgumentException("refocus config " + file + ": " + size + " bytes, more than a "
                + "configuration's " + MAX_FILE_BYTES + " (is it the right file?)");
        }
        final String text;
        try
        {
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        }
        catch (final CharacterCodingException e)
        {
            throw new IllegalArgumentException("refocus config " + file + ": not UTF-8 text", e);
        }
        try
        {
            return parse(text);
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalArgumentException("refocus config " + file + ": " + e.getMessage(), e);
        }
    }

    /** @return the part of a configuration text that holds settings: no comment line, nothing from a section on. */
    private static String settings(final String text)
    {
        final StringBuilder kept = new StringBuilder();
        for (final String line : text.split("\\r\\n|\\r|\\n"))
        {
            final String l = line.strip();
            if (l.startsWith("["))
            {
                break; // [evidence] and other sections belong to whoever wrote them
            }
            if (!l.startsWith("#"))
            {
                kept.append(l).append('\n');
            }
        }
        return kept.toString();
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
                case "observeOnly" -> builder.observeOnly(bool(value));
                default -> throw new IllegalStateException("key " + key + " is in KEYS but not read");
            }
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalArgumentException(
                "config key '" + key + "' has value '" + value + "': " + e.getMessage(), e);
        }
    }

    /** @return the band of the three band keys, which come together. */
    private static Band band(final Map<String, StringBuilder> values)
    {
        for (final String key : BAND_KEYS)
        {
            if (!values.containsKey(key))
            {
                throw new IllegalArgumentException("config key '" + key + "' is missing: a band takes "
                    + String.join(", ", BAND_KEYS) + " together");
            }
        }
        final String window = values.get("bandWindow").toString();
        final String adapted = values.get("bandAdaptedShare").toString();
        final String changed = values.get("bandChangedRate").toString();
        final double[] a = range("bandAdaptedShare", adapted);
        final double[] c = range("bandChangedRate", changed);
        final int w;
        try
        {
            w = integer(window);
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalArgumentException("config key 'bandWindow' has value '" + window + "': "
                + e.getMessage(), e);
        }
        try
        {
            return Band.of(w, a[0], a[1], c[0], c[1]);
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalArgumentException("config keys bandWindow=" + window + ", bandAdaptedShare=" + adapted
                + ", bandChangedRate=" + changed + ": " + e.getMessage(), e);
        }
    }

    /** @return {min, max} of a range written {@code min..max}. */
    private static double[] range(final String key, final String value)
    {
        final int dots = value.indexOf("..");
        if (dots < 0 || !DECIMAL.matcher(value.substring(0, dots)).matches()
            || !DECIMAL.matcher(value.substring(dots + 2)).matches())
        {
            throw new IllegalArgumentException("config key '" + key + "' has value '" + value
                + "': not a range min..max of decimal numbers");
        }
        return new double[] {Double.parseDouble(value.substring(0, dots)),
            Double.parseDouble(value.substring(dots + 2))};
    }

    private static boolean bool(final String value)
    {
        if (value.equals("true") || value.equals("false"))
        {
            return Boolean.parseBoolean(value);
        }
        throw new IllegalArgumentException("not true or false");
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
        if (observeOnly)
        {
            s.append(", observeOnly=true");
        }
        if (band != null)
        {
            s.append(", bandWindow=").append(band.window())
                .append(", bandAdaptedShare=").append(Band.range(band.minAdaptedShare(), band.maxAdaptedShare()))
                .append(", bandChangedRate=").append(Band.range(band.minChangedRate(), band.maxChangedRate()));
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
            Arrays.equals(candidates, that.candidates) &&
            observeOnly == that.observeOnly &&
            Objects.equals(band, that.band);
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
        h = 31 * h + Arrays.hashCode(candidates);
        h = 31 * h + Boolean.hashCode(observeOnly);
        return 31 * h + Objects.hashCode(band);
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
        private boolean observeOnly;
        private Band band;

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

        /**
         * @param observe true: predictors run and count the step but answer with the plain prediction (default
         *                false); see {@link Guard}.
         * @return this builder.
         */
        public Builder observeOnly(final boolean observe)
        {
            this.observeOnly = observe;
            return this;
        }

        /**
         * @param band the band the predictors' adapted share and changed-answer rate must stay in, or null for none
         *             (the default); see {@link Guard}.
         * @return this builder.
         */
        public Builder band(final Band band)
        {
            this.band = band;
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
