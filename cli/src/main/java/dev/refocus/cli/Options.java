package dev.refocus.cli;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;
import dev.refocus.DensePredictor;
import dev.refocus.ModelFormatException;
import dev.refocus.Method;
import dev.refocus.cpu.NativePredictor;
import dev.refocus.onnx.OnnxImport;
import dev.refocus.ParameterSubset;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.reference.ReferencePredictor;
import dev.refocus.torch.Libtorch;
import dev.refocus.torch.TorchModel;
import dev.refocus.torch.TorchOptions;
import dev.refocus.torch.TorchPredictor;
import dev.refocus.torch.TorchScriptImport;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

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
            requireRuns(model);
            switch (this)
            {
                case TORCH:
                    if (model.dense() != null && model.dense().weightFormat() != DenseNetwork.WeightFormat.FLOAT32)
                    {
                        throw new UsageException("--weights bf16 applies to the native and reference backends; the "
                            + "torch backend runs the model's own float32 weights");
                    }
                    return TorchPredictor.create(model.torch(), config, TorchOptions.defaults());
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

        /** @throws UsageException if this backend cannot run the model, saying why. */
        void requireRuns(final Loaded model)
        {
            if (this == TORCH && model.torch() == null)
            {
                throw new UsageException("the torch backend needs a TorchScript model (.pt); " + model.file()
                    + " is read as " + (Model.isOnnx(model.file()) ? "ONNX" : "safetensors"));
            }
            if (this != TORCH && model.dense() == null)
            {
                throw new UsageException("the " + label() + " backend needs a dense network; " + model.file()
                    + " does not import into one (a chain of linear layers and activations): use --backend torch");
            }
        }

        String label()
        {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /**
     * A loaded model: a dense network (safetensors, an ONNX MLP, or a TorchScript MLP imported for the native
     * backend), a
     * TorchScript module, or both.
     *
     * @param file  the model's file, for messages.
     * @param dense the dense network, or null.
     * @param torch the TorchScript module, or null.
     */
    record Loaded(Path file, DenseNetwork dense, TorchModel torch)
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

    /** The model: a safetensors file of a dense network, an ONNX MLP, or a TorchScript file. */
    static final class Model
    {
        @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE",
            description = {"the model: a safetensors file of an nn.Sequential of Linear layers (see README),",
                "an ONNX MLP (.onnx: Gemm or MatMul+Add layers and activations; see README), or a TorchScript",
                "file (.pt); a TorchScript MLP (any module whose forward is a chain of linear layers and",
                "activations) also runs on the native backend"})
        Path file;

        @Option(names = "--activation", paramLabel = "NAME", converter = Values.ActivationName.class,
            description = "safetensors: activation between layers (relu, tanh, identity, gelu, gelu_tanh, silu, "
                + "sigmoid, leaky_relu); default: the file's "
                + "metadata, else relu")
        Activation activation;

        @Option(names = "--input-shape", split = ",", paramLabel = "D", converter = Values.Dimension.class,
            description = "TorchScript: the shape of one sample's input tensor, e.g. 1,1,28,28 (default: 1,features "
                + "of an MLP)")
        long[] inputShape;

        @Option(names = "--weights", paramLabel = "FORMAT", converter = Values.WeightsName.class,
            description = {"dense networks: f32 or bf16 (default: as the file stores them); bf16 rounds the weights",
                "to bfloat16 (to nearest even), half the weight bytes, computed in float32 (README, \"bf16",
                "weights\"); native and reference backends"})
        DenseNetwork.WeightFormat weights;

        /** @return the model file, and the weight format --weights asked for: for the evidence. */
        String described()
        {
            if (weights == null)
            {
                return file.toString();
            }
            return file + (weights == DenseNetwork.WeightFormat.BFLOAT16 ? " (bf16 weights: --weights bf16)"
                : " (float32 weights: --weights f32)");
        }

        /**
         * @return the model, its dense network in the format {@code --weights} asks for.
         * @throws IOException    a missing or malformed model file (exit code 3), or a weight too large for bf16.
         * @throws UsageException an option that does not fit this kind of model (exit code 2).
         */
        Loaded load() throws IOException
        {
            final Loaded loaded = loadAsStored();
            if (weights == null || loaded.dense() != null && loaded.dense().weightFormat() == weights)
            {
                return loaded;  // as stored: a file of BF16 weights is a bf16 network
            }
            if (loaded.dense() == null)
            {
                if (weights == DenseNetwork.WeightFormat.FLOAT32)
                {
                    return loaded;
                }
                throw new UsageException("--weights bf16 applies to dense networks; " + file
                    + " runs on libtorch only");
            }
            try
            {
                return new Loaded(file, loaded.dense().toWeightFormat(weights), loaded.torch());
            }
            catch (final IllegalArgumentException e)
            {
                throw new ModelFormatException(file + ": " + e.getMessage());
            }
        }

        /**
         * @return the model, as its file stores it.
         * @throws IOException    a missing or malformed model file (exit code 3).
         * @throws UsageException an option that does not fit this kind of model (exit code 2).
         */
        private Loaded loadAsStored() throws IOException
        {
            DataFiles.requireFile(file);
            final String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
            if (isOnnx(file))
            {
                if (inputShape != null || activation != null)
                {
                    throw new UsageException((inputShape != null ? "--input-shape applies to TorchScript models"
                        : "--activation applies to safetensors models") + "; an ONNX model (" + file
                        + ") states its own");
                }
                return new Loaded(file, OnnxImport.load(file), null);
            }
            if (!name.endsWith(".pt") && !name.endsWith(".pth"))
            {
                if (inputShape != null)
                {
                    throw new UsageException("--input-shape applies to TorchScript models (.pt); " + file
                        + " is read as safetensors");
                }
                return new Loaded(file, activation == null ? DenseNetwork.load(file)
                    : DenseNetwork.load(file, activation), null);
            }
            if (activation != null)
            {
                throw new UsageException("--activation applies to safetensors models; a TorchScript model (" + file
                    + ") has its own");
            }
            Libtorch.logLevel(torchLogLevel());
            DenseNetwork dense = null;
            try
            {
                dense = TorchScriptImport.denseNetwork(file);
            }
            catch (final ModelFormatException notAnMlp)
            {
                if (inputShape == null)
                {
                    // a module that is not an MLP needs its input shape, a file that is not TorchScript does not
                    requireTorchScript(file);
                    throw new UsageException(notAnMlp.getMessage() + ". So " + file.getFileName() + " runs on "
                        + "libtorch, which needs the shape of one sample's input: give its input shape with "
                        + "--input-shape (e.g. 1,1,28,28)");
                }
            }
            final long[] shape = inputShape != null ? inputShape : new long[] {1, dense.inputSize()};
            try
            {
                return new Loaded(file, dense, TorchModel.load(file, shape));
            }
            catch (final IllegalArgumentException e)
            {
                if (inputShape == null)
                {
                    throw new ModelFormatException(e.getMessage()); // an MLP that fails on its own input shape
                }
                throw new UsageException("--input-shape " + join(inputShape) + " does not fit the model: "
                    + e.getMessage());
            }
        }

        static boolean isOnnx(final Path file)
        {
            return file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx");
        }

        /** @throws ModelFormatException if the file is not TorchScript, or not a model refocus can run. */
        private static void requireTorchScript(final Path file) throws IOException
        {
            try
            {
                TorchModel.load(file, new long[] {1, 1});
            }
            catch (final IllegalArgumentException e)
            {
                // TorchScript whose forward pass fails on [1, 1]: it takes another shape
            }
        }

        private static String join(final long[] values)
        {
            final StringBuilder s = new StringBuilder();
            for (final long v : values)
            {
                s.append(s.length() > 0 ? "," : "").append(v);
            }
            return s.toString();
        }
    }

    /**
     * @return the libtorch log level for the command line: errors only, so that libtorch's warnings (NNPACK's on
     * CPUs it does not take) do not bury refocus's output; {@code TORCH_CPP_LOG_LEVEL} (INFO, WARNING, ERROR, FATAL
     * or 0 to 3), libtorch's own variable, brings them back.
     */
    static int torchLogLevel()
    {
        final String level = System.getenv("TORCH_CPP_LOG_LEVEL");
        if (level != null)
        {
            final int i = List.of("INFO", "WARNING", "ERROR", "FATAL").indexOf(level.trim().toUpperCase(Locale.ROOT));
            if (i >= 0)
            {
                return i;
            }
            if (level.trim().matches("[0-3]"))
            {
                return Integer.parseInt(level.trim());
            }
        }
        return 2;
    }

    /** How refocus adapts, except the method, the rate and the threshold, which tune sweeps. */
    static final class Step
    {
        @Option(names = "--focus", paramLabel = "N", defaultValue = "2", converter = Values.FocusClasses.class,
            description = "number of focus classes n_f, >= 2 and fewer than the classes (default ${DEFAULT-VALUE})")
        int focus;

        @Option(names = "--steps", paramLabel = "T", defaultValue = "1", converter = Values.Steps.class,
            description = "SGD steps T, >= 1 (default ${DEFAULT-VALUE})")
        int steps;

        @Option(names = "--clip", paramLabel = "C", defaultValue = "1", converter = Values.ClipNorm.class,
            description = "clip the gradient to this L2 norm, 0 = off (default ${DEFAULT-VALUE})")
        float clip;

        @Option(names = "--adapt", paramLabel = "WHICH", defaultValue = "all", converter = Values.Subset.class,
            description = "parameters that adapt: all, head, biases, or last:K (default ${DEFAULT-VALUE})")
        ParameterSubset adapt;

        @Option(names = "--candidates", paramLabel = "C", split = ",", converter = Values.ClassIndex.class,
            description = "restrict the answer to these classes, e.g. 0,3,5")
        int[] candidates;

        @Option(names = "--backend", paramLabel = "NAME",
            description = "native, native_shadow, reference or torch (default: native where it can run, else torch)")
        Backend backend;

        /**
         * Checks the options that depend on the model, before any data is read.
         *
         * @throws UsageException naming the option that does not fit.
         */
        void checkFits(final Loaded model)
        {
            final int classes = model.classes();
            if (candidates != null)
            {
                final Set<Integer> seen = new HashSet<>();
                for (final int c : candidates)
                {
                    if (c >= classes)
                    {
                        throw new UsageException("--candidates: class " + c + " is out of range: the model "
                            + model.file() + " has " + classes + " classes (0 to " + (classes - 1) + ")");
                    }
                    if (!seen.add(c))
                    {
                        throw new UsageException("--candidates: class " + c + " appears twice");
                    }
                }
            }
            final int pool = candidates != null ? candidates.length : classes;
            if (focus >= pool)
            {
                throw new UsageException("--focus " + focus + " must be fewer than the "
                    + (candidates != null ? pool + " candidate classes" : "model's " + classes + " classes"));
            }
            final Backend chosen = backend != null ? backend : model.defaultBackend();
            chosen.requireRuns(model);
            if (chosen == Backend.NATIVE && steps > DensePredictor.MAX_IMPLICIT_STEPS)
            {
                throw new UsageException("--steps " + steps + ": the native backend takes at most "
                    + DensePredictor.MAX_IMPLICIT_STEPS + " steps (its cost grows with T^2); use --backend "
                    + "native_shadow for more");
            }
            try
            {
                config(Method.IFO_WEIGHTED, 0.0f, 0.0f).checkFits(classes, model.layers());
            }
            catch (final IllegalArgumentException e)
            {
                throw new UsageException("--adapt does not fit the model " + model.file() + ": " + e.getMessage());
            }
        }

        /**
         * @return the predictor of the chosen backend, or of the model's default one.
         * @throws UsageException if the options do not fit the model (the backend found out).
         */
        Predictor create(final Loaded model, final RefocusConfig config)
        {
            return create(backend != null ? backend : model.defaultBackend(), model, config);
        }

        /**
         * @return the predictor of the given backend.
         * @throws UsageException if the options do not fit the model (the backend found out).
         */
        static Predictor create(final Backend backend, final Loaded model, final RefocusConfig config)
        {
            try
            {
                return backend.create(model, config);
            }
            catch (final IllegalArgumentException e)
            {
                throw new UsageException("the options do not fit the model " + model.file() + ": " + e.getMessage());
            }
        }

        RefocusConfig config(final Method method, final float eta, final float threshold)
        {
            final RefocusConfig.Builder b = RefocusConfig.builder(eta).method(method).marginThreshold(threshold)
                .focusClasses(focus).steps(steps).clipNorm(clip).parameters(adapt);
            if (candidates != null)
            {
                b.candidates(candidates);
            }
            return b.build();
        }
    }

    /**
     * A configuration file that {@code tune} wrote (or any {@link RefocusConfig#load(Path)} reads): it sets the
     * method, &eta;, d, n<sub>f</sub>, T, clipping, the adapted parameters, the candidates and the guardrails, so
     * none of those options may come with it.
     */
    static final class ConfigFile
    {
        /** The options a configuration file sets. */
        private static final List<String> SETS = List.of("--method", "--eta", "--threshold", "--focus", "--steps",
            "--clip", "--adapt", "--candidates");

        @Option(names = "--config", paramLabel = "FILE",
            description = {"a configuration file written by tune (or for RefocusConfig.load): it sets the method, "
                + "eta, d,", "n_f, T, clipping, the adapted parameters, candidates, observe-only and the band"})
        Path file;

        @picocli.CommandLine.Spec(picocli.CommandLine.Spec.Target.MIXEE)
        picocli.CommandLine.Model.CommandSpec spec;

        /** @throws UsageException without --eta and --config, or with --config and an option it sets. */
        void requireEtaOrConfig(final Float eta)
        {
            if (file == null)
            {
                if (eta == null)
                {
                    throw new UsageException("Missing required option: '--eta=ETA' (or --config FILE, as tune "
                        + "writes)");
                }
                return;
            }
            requireNoConflict();
        }

        /** @throws UsageException with --config and an option it sets. */
        void requireNoConflict()
        {
            if (file == null)
            {
                return;
            }
            final picocli.CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
            for (final String option : SETS)
            {
                if (parsed != null && parsed.hasMatchedOption(option))
                {
                    throw new UsageException(option + " cannot come with --config " + file + ", which sets it: "
                        + "what was tuned is what runs (edit the file to change it)");
                }
            }
        }

        /**
         * @return the file's configuration, checked against the model.
         * @throws IOException                if it cannot be read (exit code 3 when missing).
         * @throws DataFiles.DataException    if it is not a configuration, or does not fit the model (exit code 3).
         */
        RefocusConfig load(final Loaded model) throws IOException
        {
            final RefocusConfig config;
            try
            {
                config = RefocusConfig.load(file);
            }
            catch (final IllegalArgumentException e)
            {
                throw new DataFiles.DataException(e.getMessage());
            }
            try
            {
                config.checkFits(model.classes(), model.layers());
            }
            catch (final IllegalArgumentException e)
            {
                throw new DataFiles.DataException(file + " does not fit the model " + model.file() + ": "
                    + e.getMessage());
            }
            final String verdict = TunedConfig.verdict(Files.readString(file));
            System.err.println("refocus: running " + file + ": " + config + (verdict != null ? " (tune's verdict: "
                + verdict + ")" : ""));
            return config;
        }
    }

    /**
     * Checks a file the command will write, before any work: a directory or a missing folder is bad usage.
     *
     * @param option the option that names it, for the message.
     * @throws UsageException if it cannot be a file to write.
     */
    static void requireWritable(final String option, final Path file)
    {
        if (Files.isDirectory(file))
        {
            throw new UsageException(file + " is a directory (" + option + " takes a file to write)");
        }
        final Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent))
        {
            throw new UsageException("cannot write " + file + " (" + option + "): " + (Files.exists(parent)
                ? parent + " is not a directory" : "no such directory " + parent));
        }
    }
}
