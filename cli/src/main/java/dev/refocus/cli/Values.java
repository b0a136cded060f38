package dev.refocus.cli;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.ParameterSubset;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

import java.util.Locale;

/**
 * The options' value converters: each reads a plain decimal number (as data files are read: no hex, no {@code f}
 * suffix, no NaN) and checks its range, so that a value out of range is bad usage (exit code 2) with a message
 * naming the option, before any file is read. Ranges that depend on the model are checked once it is loaded.
 */
final class Values
{
    private Values()
    {
    }

    private static double decimal(final String text)
    {
        final String t = text.trim();
        if (!DataFiles.isDecimal(t))
        {
            throw new TypeConversionException("'" + DataFiles.printable(text, 40) + "' is not a plain decimal number");
        }
        final double v = Double.parseDouble(t);
        if (Double.isInfinite(v) || Float.isInfinite((float)v))
        {
            throw new TypeConversionException(text + " is beyond float32's range");
        }
        return v;
    }

    private static long whole(final String text)
    {
        final String t = text.trim();
        if (!t.matches("[+-]?[0-9]{1,18}"))
        {
            throw new TypeConversionException("'" + DataFiles.printable(text, 40) + "' is not a whole number");
        }
        return Long.parseLong(t);
    }

    /** A whole number in [min, max], else a conversion error: {@code problem} followed by the value. */
    private static long whole(final String text, final long min, final long max, final String problem)
    {
        final long v = whole(text);
        if (v < min || v > max)
        {
            throw new TypeConversionException(problem + text);
        }
        return v;
    }

    /** A learning rate η: finite and &ge; 0. */
    static final class Rate implements ITypeConverter<Float>
    {
        @Override
        public Float convert(final String value)
        {
            final double v = decimal(value);
            if (v < 0)
            {
                throw new TypeConversionException("the learning rate must be >= 0, got " + value);
            }
            return (float)v;
        }
    }

    /** A margin threshold d: in [0, 1]. */
    static final class Threshold implements ITypeConverter<Float>
    {
        @Override
        public Float convert(final String value)
        {
            final double v = decimal(value);
            if (v < 0 || v > 1)
            {
                throw new TypeConversionException("the margin threshold must be in [0, 1], got " + value);
            }
            return (float)v;
        }
    }

    /** A gradient clipping norm: finite and &ge; 0. */
    static final class ClipNorm implements ITypeConverter<Float>
    {
        @Override
        public Float convert(final String value)
        {
            final double v = decimal(value);
            if (v < 0)
            {
                throw new TypeConversionException("the clip norm must be >= 0 (0 = off), got " + value);
            }
            return (float)v;
        }
    }

    /** The number of focus classes n_f: &ge; 2 (and fewer than the model's classes, checked with the model). */
    static final class FocusClasses implements ITypeConverter<Integer>
    {
        @Override
        public Integer convert(final String value)
        {
            return (int)whole(value, 2, Integer.MAX_VALUE, "the number of focus classes must be >= 2, got ");
        }
    }

    /** The number of SGD steps T: &ge; 1. */
    static final class Steps implements ITypeConverter<Integer>
    {
        @Override
        public Integer convert(final String value)
        {
            return (int)whole(value, 1, Integer.MAX_VALUE, "the number of steps must be >= 1, got ");
        }
    }

    /** A class index: &ge; 0 (and below the model's classes, checked with the model). */
    static final class ClassIndex implements ITypeConverter<Integer>
    {
        @Override
        public Integer convert(final String value)
        {
            return (int)whole(value, 0, Integer.MAX_VALUE, "a class is a whole number >= 0, got ");
        }
    }

    /** A dimension of an input shape: &ge; 1. */
    static final class Dimension implements ITypeConverter<Long>
    {
        @Override
        public Long convert(final String value)
        {
            return whole(value, 1, Integer.MAX_VALUE, "a dimension is a whole number >= 1, got ");
        }
    }

    /** A share of the samples: more than 0, less than 1. */
    static final class Share implements ITypeConverter<Double>
    {
        @Override
        public Double convert(final String value)
        {
            final double v = decimal(value);
            if (!(v > 0 && v < 1))
            {
                throw new TypeConversionException("the held-out share must be more than 0 and less than 1, got "
                    + value);
            }
            return v;
        }
    }

    /** A number of folds: a whole number, at least 2. */
    static final class Folds implements ITypeConverter<Integer>
    {
        @Override
        public Integer convert(final String value)
        {
            return (int)whole(value, 2, Integer.MAX_VALUE,
                "k-fold cross-validation needs at least 2 folds, got ");
        }
    }

    /** A band's window: a whole number of predictions, 0 (no band) or more. */
    static final class Window implements ITypeConverter<Integer>
    {
        @Override
        public Integer convert(final String value)
        {
            return (int)whole(value, 0, 1_000_000,
                "the band window must be 0 (no band) to 1000000 predictions, got ");
        }
    }

    /** A seed: any whole number that fits a long. */
    static final class Seed implements ITypeConverter<Long>
    {
        @Override
        public Long convert(final String value)
        {
            return whole(value);
        }
    }

    /** A measuring time in seconds: more than 0, at most an hour. */
    static final class Seconds implements ITypeConverter<Double>
    {
        @Override
        public Double convert(final String value)
        {
            final double v = decimal(value);
            if (!(v > 0 && v <= 3600))
            {
                throw new TypeConversionException("the time per row must be more than 0 and at most 3600 seconds, "
                    + "got " + value);
            }
            return v;
        }
    }

    /** Which parameters adapt: {@code all}, {@code head}, {@code biases} or {@code last:K} with K &ge; 1. */
    static final class Subset implements ITypeConverter<ParameterSubset>
    {
        @Override
        public ParameterSubset convert(final String value)
        {
            final String a = value.trim().toLowerCase(Locale.ROOT);
            switch (a)
            {
                case "all":
                    return ParameterSubset.all();
                case "head":
                    return ParameterSubset.head();
                case "biases":
                    return ParameterSubset.biases();
                default:
                    if (a.startsWith("last:"))
                    {
                        final long k = whole(a.substring(5));
                        if (k >= 1 && k <= Integer.MAX_VALUE)
                        {
                            return ParameterSubset.lastLayers((int)k);
                        }
                    }
                    throw new TypeConversionException("expected all, head, biases or last:K with K >= 1, got '"
                        + DataFiles.printable(value, 40) + "'");
            }
        }
    }

    /** An activation: relu, tanh, identity, gelu, gelu_tanh, silu, sigmoid or leaky_relu. */
    /** {@code --weights}: f32 or bf16. */
    static final class WeightsName implements ITypeConverter<DenseNetwork.WeightFormat>
    {
        @Override
        public DenseNetwork.WeightFormat convert(final String value)
        {
            switch (value.trim().toLowerCase(Locale.ROOT))
            {
                case "f32":
                    return DenseNetwork.WeightFormat.FLOAT32;
                case "bf16":
                    return DenseNetwork.WeightFormat.BFLOAT16;
                default:
                    throw new TypeConversionException("expected f32 or bf16, got '" + DataFiles.printable(value, 40)
                        + "'");
            }
        }
    }

    static final class ActivationName implements ITypeConverter<Activation>
    {
        @Override
        public Activation convert(final String value)
        {
            try
            {
                return Activation.parse(value.trim());
            }
            catch (final IllegalArgumentException e)
            {
                throw new TypeConversionException("expected relu, tanh, identity, gelu, gelu_tanh, silu, sigmoid or "
                    + "leaky_relu, got '"
                    + DataFiles.printable(value, 40) + "'");
            }
        }
    }
}
