package dev.refocus.torch;

import dev.refocus.ModelFormatException;
import dev.refocus.ParameterSubset;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.NamedJitModule;
import org.bytedeco.pytorch.NamedTensor;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.named_buffer_iterator;
import org.bytedeco.pytorch.named_buffer_list;
import org.bytedeco.pytorch.named_module_iterator;
import org.bytedeco.pytorch.named_module_list;
import org.bytedeco.pytorch.named_parameter_iterator;
import org.bytedeco.pytorch.named_parameter_list;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A TorchScript model loaded for refocus: a module whose {@code forward} maps one float32 input tensor of a fixed
 * shape to the logits of that sample, shaped {@code [C]} or {@code [1, C]}, for example a file written by
 * {@code torch.jit.script(model.eval()).save("model.pt")}. Loading runs one forward pass on zeros to check the input
 * shape and the output. The model is in evaluation mode (dropout off, normalisation on its running statistics).
 *
 * <h2>Layers</h2>
 * The generic {@link ParameterSubset}s count layers, which an arbitrary module does not define, so here a
 * <em>layer</em> is a group of parameters that share a module prefix (their name up to the last dot), taken in
 * {@code named_parameters()} order: for {@code nn.Sequential(Linear, ReLU, Linear)} the layers are
 * {@code [0.weight, 0.bias]} and {@code [2.weight, 2.bias]}; for a CNN with submodules {@code conv1, bn1, fc} they
 * are those three modules, and {@code fc} is the head. A parameter is a <em>bias</em> when its own name is
 * {@code bias} or ends with {@code _bias} ({@code in_proj_bias}); every other parameter counts as a weight.
 *
 * <p>Parameters live once, in this model: every predictor built on it reads the same memory and never writes it.
 * The memory is reference-counted by libtorch and freed by the garbage collector once this model and every
 * predictor built on it are gone; a {@link org.bytedeco.javacpp.PointerScope} of the caller does not free it.
 *
 * <p><b>Note:</b> This class is immutable and thread-safe; build one predictor per thread on it.
 */
@SuppressWarnings("try") // a PointerScope is opened for its effect: it frees the temporaries made inside it
public final class TorchModel
{
    private final Path file;
    private final JitModule module;
    private final long[] inputShape;
    private final int inputSize;
    private final long[] outputShape;
    private final int classes;
    private final List<String> parameterNames;
    private final int[] parameterLayers;
    private final boolean[] biases;
    private final int layers;

    private TorchModel(final Path file, final JitModule module, final long[] inputShape, final long[] outputShape,
        final List<String> parameterNames)
    {
        this.file = file;
        this.module = module;
        this.inputShape = inputShape;
        this.inputSize = (int)product(inputShape);
        this.outputShape = outputShape;
        this.classes = (int)outputShape[outputShape.length - 1];
        this.parameterNames = Collections.unmodifiableList(parameterNames);
        this.parameterLayers = new int[parameterNames.size()];
        this.biases = new boolean[parameterNames.size()];
        int layer = -1;
        String previousPrefix = null;
        for (int i = 0; i < parameterNames.size(); i++)
        {
            final String name = parameterNames.get(i);
            final int dot = name.lastIndexOf('.');
            final String prefix = dot < 0 ? "" : name.substring(0, dot);
            final String own = name.substring(dot + 1);
            if (!prefix.equals(previousPrefix))
            {
                layer++;
                previousPrefix = prefix;
            }
            parameterLayers[i] = layer;
            biases[i] = own.equals("bias") || own.endsWith("_bias");
        }
        this.layers = layer + 1;
    }

    /**
     * Loads a TorchScript model that takes one sample as a {@code [1, inputSize]} tensor, as a dense network does.
     *
     * @param file      a TorchScript file.
     * @param inputSize number of input features, &ge; 1.
     * @return the model.
     * @throws NoSuchFileException      if the file does not exist.
     * @throws ModelFormatException     if it is not TorchScript, or its output is not the logits of one sample.
     * @throws IllegalArgumentException if its forward pass fails on an input of that shape.
     * @throws IOException              if it cannot be read.
     */
    public static TorchModel load(final Path file, final int inputSize) throws IOException
    {
        if (inputSize < 1)
        {
            throw new IllegalArgumentException("input size must be >= 1, got " + inputSize);
        }
        return load(file, new long[] {1, inputSize});
    }

    /**
     * Loads a TorchScript model that takes one sample as a tensor of the given shape, for example
     * {@code [1, 1, 28, 28]} for a CNN on 28x28 grey images. A predictor's flat input fills it in row-major order.
     *
     * @param file       a TorchScript file.
     * @param inputShape the shape of the input tensor; every dimension &ge; 1.
     * @return the model.
     * @throws NoSuchFileException      if the file does not exist.
     * @throws ModelFormatException     if it is not TorchScript, has parameters that are not float32, or its output
     *                                  is not the logits of one sample.
     * @throws IllegalArgumentException if the shape is invalid or the forward pass fails on an input of that shape.
     * @throws IOException              if it cannot be read.
     */
    public static TorchModel load(final Path file, final long[] inputShape) throws IOException
    {
        Objects.requireNonNull(inputShape, "inputShape");
        final long[] shape = inputShape.clone();
        if (shape.length == 0)
        {
            throw new IllegalArgumentException("the input shape has no dimension");
        }
        for (final long d : shape)
        {
            if (d < 1)
            {
                throw new IllegalArgumentException("input shape " + Arrays.toString(shape) + " has a dimension < 1");
            }
        }
        if (product(shape) > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("input shape " + Arrays.toString(shape) + " has too many values");
        }
        final JitModule module = loadModule(file);
        try (PointerScope scope = new PointerScope())
        {
            module.eval();
            final List<String> names = new ArrayList<>();
            final named_parameter_list parameters = module.named_parameters(true);
            for (named_parameter_iterator it = parameters.begin(); it.notEquals(parameters.end()); it.increment())
            {
                final NamedTensor named = it.multiply();
                final String name = named.name().getString();
                if (Tensors.dtype(named.value()) != torch.ScalarType.Float)
                {
                    throw new ModelFormatException(file + ": parameter '" + name + "' is "
                        + Tensors.dtype(named.value()) + "; refocus runs float32 models (model.float() before saving)");
                }
                names.add(name);
            }
            final long[] outputShape = probe(file, module, shape);
            module.retainReference(); // no scope frees it: the garbage collector does, with this model
            return new TorchModel(file, module, shape, outputShape, names);
        }
    }

    /** One forward pass on zeros: checks the input shape and that the output is the logits of one sample. */
    private static long[] probe(final Path file, final JitModule module, final long[] shape)
        throws ModelFormatException
    {
        final boolean gradWasEnabled = GradMode.is_enabled();
        GradMode.set_enabled(false);
        try
        {
            final IValue output;
            try
            {
                output = module.forward(new IValueVector(new IValue(torch.zeros(shape))));
            }
            catch (final RuntimeException e)
            {
                throw new IllegalArgumentException(file + ": the forward pass fails on an input of shape "
                    + Arrays.toString(shape) + ": " + Libtorch.reason(e), e);
            }
            if (!output.isTensor())
            {
                throw new ModelFormatException(file + ": forward returns a " + output.tagKind().getString()
                    + "; refocus needs one tensor of logits");
            }
            final Tensor logits = output.toTensor();
            final long[] sizes = logits.sizes().vec().get();
            if (!(sizes.length == 1 || sizes.length == 2 && sizes[0] == 1) || sizes[sizes.length - 1] < 1)
            {
                throw new ModelFormatException(file + ": forward returns a tensor of shape " + Arrays.toString(sizes)
                    + "; refocus needs the logits of one sample, shaped [C] or [1, C]");
            }
            if (Tensors.dtype(logits) != torch.ScalarType.Float)
            {
                throw new ModelFormatException(file + ": forward returns " + Tensors.dtype(logits)
                    + " logits; refocus runs float32 models");
            }
            return sizes;
        }
        finally
        {
            GradMode.set_enabled(gradWasEnabled);
        }
    }

    /**
     * Loads libtorch and a TorchScript module, checking first what libtorch would take on trust (the pickles'
     * claims, {@link TorchScriptArchive}) and then that every parameter and buffer lies in its storage.
     *
     * @throws NoSuchFileException  if the file does not exist.
     * @throws ModelFormatException if it is not a TorchScript file, or a corrupt one.
     */
    static JitModule loadModule(final Path file) throws IOException
    {
        Objects.requireNonNull(file, "file");
        if (!Files.exists(file))
        {
            throw new NoSuchFileException(file.toString(), null, "no such TorchScript file");
        }
        if (!Files.isRegularFile(file))
        {
            throw new ModelFormatException(file + " is not a regular file");
        }
        if (!Files.isReadable(file))
        {
            throw new AccessDeniedException(file.toString());
        }
        TorchScriptArchive.check(file); // what libtorch's unpickler would allocate on trust
        Libtorch.load();
        final JitModule module;
        try
        {
            module = torch.load(file.toString());
        }
        catch (final RuntimeException e)
        {
            throw new ModelFormatException(file + " is not a TorchScript file (" + Libtorch.reason(e)
                + "); write one with torch.jit.script(model).save(path) or torch.jit.trace");
        }
        checkStorage(file, module);
        return module;
    }

    /**
     * Every parameter and buffer must lie inside its storage. libtorch's unpickler sets a tensor's storage offset,
     * sizes and strides as the file says without checking them against the storage; a view that reaches past it
     * is only refused by the operations that make a new view, while a copy of its values reads memory that is not
     * the tensor's (and crashes the JVM where none is mapped).
     */
    private static void checkStorage(final Path file, final JitModule module) throws ModelFormatException
    {
        try (PointerScope scope = new PointerScope())
        {
            final named_parameter_list parameters = module.named_parameters(true);
            for (named_parameter_iterator it = parameters.begin(); it.notEquals(parameters.end()); it.increment())
            {
                final NamedTensor named = it.multiply();
                checkStorage(file, "parameter", named.name().getString(), named.value());
            }
            final named_buffer_list buffers = module.named_buffers(true);
            for (named_buffer_iterator it = buffers.begin(); it.notEquals(buffers.end()); it.increment())
            {
                final NamedTensor named = it.multiply();
                checkStorage(file, "buffer", named.name().getString(), named.value());
            }
        }
    }

    private static void checkStorage(final Path file, final String kind, final String name, final Tensor tensor)
        throws ModelFormatException
    {
        if (!tensor.has_storage() || tensor.numel() == 0)
        {
            return;
        }
        final long offset = tensor.storage_offset();
        final long[] sizes = tensor.sizes().vec().get();
        final long[] strides = tensor.strides().vec().get();
        final long storageBytes = tensor.storage().nbytes();
        long needed = -1;
        try
        {
            if (offset >= 0 && sizes.length == strides.length)
            {
                long last = offset; // the index of the element farthest into the storage
                for (int i = 0; i < sizes.length; i++)
                {
                    if (sizes[i] < 1 || strides[i] < 0)
                    {
                        last = -1;
                        break;
                    }
                    last = Math.addExact(last, Math.multiplyExact(sizes[i] - 1, strides[i]));
                }
                needed = last < 0 ? -1 : Math.multiplyExact(last + 1, tensor.itemsize());
            }
        }
        catch (final ArithmeticException overflow)
        {
            needed = -1;
        }
        if (needed < 0 || needed > storageBytes)
        {
            throw new ModelFormatException(file + ": " + kind + " '" + name + "' (sizes " + Arrays.toString(sizes)
                + ", strides " + Arrays.toString(strides) + ", storage offset " + offset + ") does not lie in its "
                + "storage of " + storageBytes + " bytes; the file is corrupt");
        }
    }

    /** @return the file the model was loaded from. */
    public Path file()
    {
        return file;
    }

    /** @return the number of input values of one sample: the product of {@link #inputShape()}. */
    public int inputSize()
    {
        return inputSize;
    }

    /** @return a copy of the shape of the input tensor. */
    public long[] inputShape()
    {
        return inputShape.clone();
    }

    /** @return the number of classes C. */
    public int classes()
    {
        return classes;
    }

    /** @return the number of layers: groups of parameters sharing a module prefix (see the class comment). */
    public int layers()
    {
        return layers;
    }

    /** @return the names of the parameters, in {@code named_parameters()} order. */
    public List<String> parameterNames()
    {
        return parameterNames;
    }

    /**
     * @param name a parameter name.
     * @return the index of its layer, from 0 (nearest the input) to {@link #layers()} - 1 (the head).
     * @throws IllegalArgumentException if the model has no such parameter.
     */
    public int layerOf(final String name)
    {
        return parameterLayers[indexOf(name)];
    }

    /**
     * @param name a parameter name.
     * @return a copy of its values, row-major.
     * @throws IllegalArgumentException if the model has no such parameter.
     */
    public float[] parameterValues(final String name)
    {
        final int index = indexOf(name);
        synchronized (this)
        {
            try (PointerScope scope = new PointerScope())
            {
                return Tensors.toArray(parameters(module)[index]);
            }
        }
    }

    private int indexOf(final String name)
    {
        final int index = parameterNames.indexOf(Objects.requireNonNull(name, "name"));
        if (index < 0)
        {
            throw new IllegalArgumentException("the model has no parameter '" + name + "'; it has " + parameterNames);
        }
        return index;
    }

    long[] outputShape()
    {
        return outputShape.clone();
    }

    /**
     * Which parameters adapt: those of the generic subset (layers and biases as defined in the class comment) whose
     * names match the pattern.
     *
     * @param subset the configured subset.
     * @param names  a regular expression that a whole parameter name must match, or null for every name.
     * @return one flag per parameter, in {@code named_parameters()} order.
     * @throws IllegalArgumentException if no parameter is selected.
     */
    boolean[] select(final ParameterSubset subset, final Pattern names)
    {
        final boolean[] selected = new boolean[parameterNames.size()];
        int count = 0;
        for (int i = 0; i < selected.length; i++)
        {
            final boolean inSubset = biases[i] ? subset.adaptsBias(parameterLayers[i], layers)
                : subset.adaptsWeight(parameterLayers[i], layers);
            selected[i] = inSubset && (names == null || names.matcher(parameterNames.get(i)).matches());
            count += selected[i] ? 1 : 0;
        }
        if (count == 0)
        {
            throw new IllegalArgumentException("no parameter adapts: the subset '" + subset + "'"
                + (names == null ? "" : " with names matching '" + names.pattern() + "'") + " selects none of "
                + parameterNames);
        }
        return selected;
    }

    /**
     * A module of its own for one predictor: new module objects and new parameter tensors that share this model's
     * parameter memory, so that one predictor swapping its parameters to its shadow never touches another's.
     *
     * @param owner keeps the result.
     */
    synchronized JitModule newModule(final NativeObjects owner)
    {
        try (PointerScope scope = new PointerScope())
        {
            final JitModule copy = module.clone(true); // module objects are copied, tensors shared
            final named_module_list modules = copy.named_modules();
            for (named_module_iterator it = modules.begin(); it.notEquals(modules.end()); it.increment())
            {
                final NamedJitModule named = it.multiply();
                final JitModule submodule = new JitModule(named.value());
                final List<String> names = new ArrayList<>();
                final List<Tensor> tensors = new ArrayList<>();
                final named_parameter_list own = submodule.named_parameters(false);
                for (named_parameter_iterator p = own.begin(); p.notEquals(own.end()); p.increment())
                {
                    final NamedTensor parameter = p.multiply();
                    names.add(parameter.name().getString());
                    tensors.add(new Tensor(parameter.value()));
                }
                for (int i = 0; i < names.size(); i++)
                {
                    submodule.register_parameter(names.get(i), tensors.get(i).detach(), false);
                }
            }
            copy.eval();
            return owner.keep(copy);
        }
    }

    /**
     * @param module a module loaded from this model's file or copied from it.
     * @return its parameters in {@code named_parameters()} order, each a handle of its own (not a view into the
     * iterator that produced it).
     */
    static Tensor[] parameters(final JitModule module)
    {
        final List<Tensor> result = new ArrayList<>();
        final named_parameter_list parameters = module.named_parameters(true);
        for (named_parameter_iterator it = parameters.begin(); it.notEquals(parameters.end()); it.increment())
        {
            result.add(new Tensor(it.multiply().value()));
        }
        return result.toArray(new Tensor[0]);
    }

    private static long product(final long[] shape)
    {
        long n = 1;
        for (final long d : shape)
        {
            n = d > Integer.MAX_VALUE || n > Integer.MAX_VALUE ? Long.MAX_VALUE : n * d;
        }
        return n;
    }

    @Override
    public String toString()
    {
        return "TorchModel[" + file + ", input " + Arrays.toString(inputShape) + ", " + classes + " classes, " + layers
            + " layers, " + parameterNames.size() + " parameter tensors]";
    }
}
