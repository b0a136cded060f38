package dev.refocus.cli;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.ModelFormatException;
import dev.refocus.Method;
import dev.refocus.cpu.NativePredictor;
import dev.refocus.ParameterSubset;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.reference.ReferencePredictor;
import dev.refocus.torch.TorchModel;
import dev.refocus.torch.TorchOptions;
import dev.refocus.torch.TorchPredictor;
import dev.refocus.torch.TorchScriptImport;
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
        NATIVE, NATIVE_SHADOW, REFERENCE, TORCH;

        Predictor create(final Loaded model, final RefocusConfig config)
        {
            if (this == TORCH)
            {
                if (model.torch() == null)
                {
                    throw new UsageException("the torch backend needs a TorchScript model (.pt)");
                }
                return TorchPredictor.create(model.torch(), config, TorchOptions.defaults());
            }
            if (model.dense() == null)
            {
                throw new UsageException("the " + label() + " backend needs a dense network; this TorchScript module "
                    + "is not a Sequential of Linear layers and activations: use --backend torch");
            }
            switch (this)
            {
                case NATIVE:
                    return NativePredictor.create(model.dense(), config);
                case NATIVE_SHADOW:
                    return NativePredictor.create(model.dense(), config, NativePredictor.Mode.SHADOW, 1);
                default:
                    return ReferencePredictor.create(model.dense(), config);
            }
        }

        boolean runs(final Loaded model)
        {
            return this == TORCH ? model.torch() != null : model.dense() != null;
        }

        String label()
        {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /**
     * A loaded model: a dense network (safetensors, or a TorchScript MLP imported for the native backend), a
     * TorchScript module, or both.
     */
    record Loaded(DenseNetwork dense, TorchModel torch)
    {
        int inputSize()
        {
            return dense != null ? dense.inputSize() : torch.inputSize();
        }

        int classes()
        {
            return dense != null ? dense.classes() : torch.classes();
        }

        int layers()
        {
            return dense != null ? dense.layers() : torch.layers();
        }

        /** @return the backend to use when none is named: the native one wherever it can run. */
        Backend defaultBackend()
        {
            return dense != null ? Backend.NATIVE : Backend.TORCH;
        }

        @Override
        public String toString()
        {
            return dense != null ? dense.toString() : torch.toString();
        }
    }

    /** The model: a safetensors file of a dense network, or a TorchScript file. */
    static final class Model
    {
        @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE",
            description = {"the model: a safetensors file of an nn.Sequential of Linear layers (see README),",
                "or a TorchScript file (.pt); a TorchScript MLP also runs on the native backend"})
        Path file;

        @Option(names = "--activation", paramLabel = "NAME",
            description = "safetensors: activation between layers (relu, tanh, identity); default: the file's "
                + "metadata, else relu")
        String activation;

        @Option(names = "--input-shape", split = ",", paramLabel = "D",
            description = "TorchScript: the shape of one sample's input tensor, e.g. 1,1,28,28 (default: 1,features "
                + "of an MLP)")
        long[] inputShape;

        Loaded load() throws IOException
        {
            final String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
            if (!name.endsWith(".pt") && !name.endsWith(".pth"))
            {
                return new Loaded(activation == null ? DenseNetwork.load(file)
                    : DenseNetwork.load(file, Activation.parse(activation)), null);
            }
            DenseNetwork dense = null;
            try
            {
                dense = TorchScriptImport.denseNetwork(file);
            }
            catch (final ModelFormatException notAnMlp)
            {
                if (inputShape == null)
                {
                    throw new UsageException(file + " is not a TorchScript MLP (" + notAnMlp.getMessage()
                        + "): give its input shape with --input-shape");
                }
            }
            final long[] shape = inputShape != null ? inputShape : new long[] {1, dense.inputSize()};
            return new Loaded(dense, TorchModel.load(file, shape));
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

        @Option(names = "--backend", paramLabel = "NAME",
            description = "native, native_shadow, reference or torch (default: native where it can run, else torch)")
        Backend backend;

        /** @return the predictor of the chosen backend, or of the model's default one. */
        Predictor create(final Loaded model, final RefocusConfig config)
        {
            return (backend != null ? backend : model.defaultBackend()).create(model, config);
        }

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
