package dev.refocus.benchmarks;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;

import java.util.Random;

/**
 * The benchmark models of docs/DESIGN.md section 5, with fixed seeds. The head's weights are scaled by 0.01 and its
 * bias is zero, so that samples are uncertain: "certain" benchmarks get a margin threshold of 0 instead.
 */
public final class BenchmarkModels
{
    private BenchmarkModels()
    {
    }

    /** @param name S, M or L. @return the layer sizes from the input to the classes. */
    public static int[] sizes(final String name)
    {
        switch (name)
        {
            case "S":
                return new int[] {32, 64, 64, 3};
            case "M":
                return new int[] {256, 1024, 1024, 32};
            case "L":
                return new int[] {1024, 4096, 4096, 1000};
            default:
                throw new IllegalArgumentException("unknown model " + name + " (S, M or L)");
        }
    }

    /** @param name S, M or L. @return the network, ReLU between layers, PyTorch's default initialisation. */
    public static DenseNetwork network(final String name)
    {
        return network(sizes(name), 0);
    }

    /**
     * @param sizes the layer sizes from the input to the classes.
     * @param seed  random seed.
     * @return a network of that shape, made as {@link #network(String)} makes the named ones.
     */
    public static DenseNetwork network(final int[] sizes, final long seed)
    {
        final Random random = new Random(seed);
        final DenseNetwork.Builder builder = DenseNetwork.builder(sizes[0]);
        for (int l = 0; l + 1 < sizes.length; l++)
        {
            final boolean head = l + 2 == sizes.length;
            final float bound = (float)(1.0 / Math.sqrt(sizes[l]));
            final float[] w = uniform(random, sizes[l + 1] * sizes[l], head ? 0.01f * bound : bound);
            final float[] b = head ? new float[sizes[l + 1]] : uniform(random, sizes[l + 1], bound);
            builder.layer(w, b, head ? Activation.IDENTITY : Activation.RELU);
        }
        return builder.build();
    }

    /** @param name S, M or L. @return one input with standard normal features, fixed seed. */
    public static float[] input(final String name)
    {
        return inputs(name, 1);
    }

    /** @param name S, M or L. @param n samples. @return n inputs, row-major, standard normal, fixed seed. */
    public static float[] inputs(final String name, final int n)
    {
        final Random random = new Random(1);
        final float[] x = new float[n * sizes(name)[0]];
        for (int i = 0; i < x.length; i++)
        {
            x[i] = (float)random.nextGaussian();
        }
        return x;
    }

    /** @return n values ~ U(-bound, bound). */
    static float[] uniform(final Random random, final int n, final float bound)
    {
        final float[] v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (random.nextFloat() * 2 - 1) * bound;
        }
        return v;
    }
}
