package dev.refocus.testing;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;

import java.util.Random;

/** Seeded random dense networks and inputs for tests. */
public final class RandomNetworks
{
    private RandomNetworks()
    {
    }

    /**
     * @param seed        random seed.
     * @param hidden      activation after every layer but the last.
     * @param headScale   factor on the last layer's weights: small values make samples uncertain.
     * @param sizes       layer sizes from the input to the classes.
     * @return a network with weights ~ U(-1/sqrt(in), 1/sqrt(in)) like PyTorch's Linear init.
     */
    public static DenseNetwork network(final long seed, final Activation hidden, final float headScale,
        final int... sizes)
    {
        return network(seed, hidden, Activation.IDENTITY, headScale, sizes);
    }

    /**
     * @param seed        random seed.
     * @param hidden      activation after every layer but the last.
     * @param last        activation of the last layer (its output is the logits).
     * @param headScale   factor on the last layer's weights: small values make samples uncertain.
     * @param sizes       layer sizes from the input to the classes.
     * @return a network with weights ~ U(-1/sqrt(in), 1/sqrt(in)) like PyTorch's Linear init.
     */
    public static DenseNetwork network(final long seed, final Activation hidden, final Activation last,
        final float headScale, final int... sizes)
    {
        final Random random = new Random(seed);
        final DenseNetwork.Builder builder = DenseNetwork.builder(sizes[0]);
        for (int l = 0; l + 1 < sizes.length; l++)
        {
            final int in = sizes[l];
            final int out = sizes[l + 1];
            final boolean head = l + 2 == sizes.length;
            final float bound = (float)(1.0 / Math.sqrt(in)) * (head ? headScale : 1.0f);
            builder.layer(uniform(random, out * in, bound), uniform(random, out, head ? 0.0f : bound),
                head ? last : hidden);
        }
        return builder.build();
    }

    /** @return n values ~ U(-bound, bound). */
    public static float[] uniform(final Random random, final int n, final float bound)
    {
        final float[] v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (random.nextFloat() * 2.0f - 1.0f) * bound;
        }
        return v;
    }

    /** @return n standard normal values. */
    public static float[] gaussian(final Random random, final int n)
    {
        final float[] v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)random.nextGaussian();
        }
        return v;
    }
}
