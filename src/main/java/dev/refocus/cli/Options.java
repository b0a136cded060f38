package dev.refocus.cli;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.Method;
import dev.refocus.NativePredictor;
import dev.refocus.ParameterSubset;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.reference.ReferencePredictor;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/** Options that several commands share, as picocli mixins. */
final class Options
{
    private Options()
    {
    }

    /** The backends a command can run on. */
    enum Backend
    {
        NATIVE, NATIVE_SHADOW, REFERENCE;

        Predictor create(final DenseNetwork network, final RefocusConfig config)
        {
            switch (this)
            {
                case NATIVE:
                    return NativePredictor.create(network, config);
                case NATIVE_SHADOW:
                    return NativePredictor.create(network, config, NativePredictor.Mode.SHADOW, 1);
                default:
                    return new ReferencePredictor(network, config);
            }
        }

        String label()
        {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** The model: a safetensors file of a dense network. */
    static final class Model
    {
        @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE",
            description = "the model: a safetensors file of an nn.Sequential of Linear layers (see README)")
        Path file;

        @Option(names = "--activation", paramLabel = "NAME",
            description = "activation between layers (relu, tanh, identity); default: the file's metadata, else relu")
        String activation;

        DenseNetwork load() throws IOException
        {
            return activation == null ? DenseNetwork.load(file) : DenseNetwork.load(file, Activation.parse(activation));
        }
    }

    /** How refocus adapts, except the method, the rate and the threshold, which tune sweeps. */
    static final class Step
    {
        @Option(names = "--focus", paramLabel = "N", defaultValue = "2",
            description = "number of focus classes n_f (default ${DEFAULT-VALUE})")
        int focus;

        @Option(names = "--steps", paramLabel = "T", defaultValue = "1", description = "SGD steps T (default ${DEFAULT-VALUE})")
        int steps;

        @Option(names = "--clip", paramLabel = "C", defaultValue = "1",
            description = "clip the gradient to this L2 norm, 0 = off (default ${DEFAULT-VALUE})")
        float clip;

        @Option(names = "--adapt", paramLabel = "WHICH", defaultValue = "all",
            description = "parameters that adapt: all, head, biases, or last:K (default ${DEFAULT-VALUE})")
        String adapt;

        @Option(names = "--candidates", paramLabel = "C", split = ",",
            description = "restrict the answer to these classes, e.g. 0,3,5")
        int[] candidates;

        @Option(names = "--backend", paramLabel = "NAME", defaultValue = "NATIVE",
            description = "native, native_shadow or reference (default ${DEFAULT-VALUE})")
        Backend backend;

        RefocusConfig config(final Method method, final float eta, final float threshold)
        {
            final RefocusConfig.Builder b = RefocusConfig.builder(eta).method(method).marginThreshold(threshold)
                .focusClasses(focus).steps(steps).clipNorm(clip).parameters(subset());
            if (candidates != null)
            {
                b.candidates(candidates);
            }
            return b.build();
        }

        private ParameterSubset subset()
        {
            final String a = adapt.trim().toLowerCase(Locale.ROOT);
            if (a.equals("all"))
            {
                return ParameterSubset.all();
            }
            if (a.equals("head"))
            {
                return ParameterSubset.head();
            }
            if (a.equals("biases"))
            {
                return ParameterSubset.biases();
            }
            if (a.startsWith("last:"))
            {
                try
                {
                    return ParameterSubset.lastLayers(Integer.parseInt(a.substring(5)));
                }
                catch (final NumberFormatException e)
                {
                    // falls through to the error below
                }
            }
            throw new IllegalArgumentException("--adapt takes all, head, biases or last:K, got '" + adapt + "'");
        }
    }
}
