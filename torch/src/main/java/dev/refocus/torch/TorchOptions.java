package dev.refocus.torch;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a libtorch predictor needs beyond the {@link dev.refocus.RefocusConfig}: the number of libtorch intra-op
 * threads and, optionally, the names of the parameters that adapt.
 *
 * <pre>{@code
 * TorchOptions options = TorchOptions.builder().threads(1).parameterNames("fc\\..*|.*\\.bias").build();
 * }</pre>
 *
 * <p><b>Note:</b> This class is immutable and thread-safe.
 */
public final class TorchOptions
{
    private static final TorchOptions DEFAULTS = builder().build();

    private final int threads;
    private final Pattern parameterNames;

    private TorchOptions(final Builder b)
    {
        this.threads = b.threads;
        this.parameterNames = b.parameterNames;
    }

    /** @return one intra-op thread, every parameter selected by the configuration's subset. */
    public static TorchOptions defaults()
    {
        return DEFAULTS;
    }

    /** @return a builder that starts from the defaults. */
    public static Builder builder()
    {
        return new Builder();
    }

    /** @return the number of libtorch intra-op threads a predictor computes with (default 1). */
    public int threads()
    {
        return threads;
    }

    /**
     * @return the regular expression a whole parameter name must match to adapt, on top of the configuration's
     * {@link dev.refocus.ParameterSubset}; null when names do not restrict the subset.
     */
    public Pattern parameterNames()
    {
        return parameterNames;
    }

    @Override
    public String toString()
    {
        return "TorchOptions{threads=" + threads
            + (parameterNames == null ? "" : ", parameterNames=" + parameterNames.pattern()) + "}";
    }

    /** Builds {@link TorchOptions}; each setter checks its argument at once. Not thread-safe. */
    public static final class Builder
    {
        private int threads = 1;
        private Pattern parameterNames;

        private Builder()
        {
        }

        /**
         * @param n libtorch intra-op threads for this predictor's calls, &ge; 1 (default 1: at batch size 1, more
         *          threads rarely pay for their synchronisation, and one predictor runs per thread).
         * @return this builder.
         */
        public Builder threads(final int n)
        {
            if (n < 1)
            {
                throw new IllegalArgumentException("threads must be >= 1, got " + n);
            }
            this.threads = n;
            return this;
        }

        /**
         * Adapts only the parameters whose full name ({@code conv1.weight}, {@code 0.bias}) matches this regular
         * expression, among those the configuration's {@link dev.refocus.ParameterSubset} selects.
         *
         * @param regex a regular expression ({@link Pattern} syntax) matched against the whole name.
         * @return this builder.
         * @throws java.util.regex.PatternSyntaxException if the expression is invalid.
         */
        public Builder parameterNames(final String regex)
        {
            this.parameterNames = Pattern.compile(Objects.requireNonNull(regex, "regex"));
            return this;
        }

        /** Every parameter the configuration's subset selects adapts again (the default). */
        public Builder allParameterNames()
        {
            this.parameterNames = null;
            return this;
        }

        public TorchOptions build()
        {
            return new TorchOptions(this);
        }
    }
}
