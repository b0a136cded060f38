package dev.refocus.internal;

import dev.refocus.DenseNetwork;
import org.bytedeco.javacpp.Pointer;

/**
 * What the native backends need of a {@link DenseNetwork} that is not API: its off-heap parameter block.
 * {@code DenseNetwork} registers the accessor from its static initializer (the JDK's "shared secrets" way), so
 * the block stays out of the public API while backends in other packages reach it. Any caller holding a network
 * finds the accessor registered, since the network's class is initialized by then.
 */
public final class DenseNetworkAccess
{
    /** The non-API view of a network. */
    public interface Accessor
    {
        /**
         * @param network the network.
         * @return its parameters off-heap, in the layout of {@code refocus/dense.h} for its
         * {@link DenseNetwork#weightFormat()}, freed with the network: keep the network reachable while the block is
         * in use.
         */
        Pointer parameterBlock(DenseNetwork network);
    }

    private static volatile Accessor accessor;

    private DenseNetworkAccess()
    {
    }

    /**
     * Called once, by {@code DenseNetwork}.
     *
     * @param a the accessor.
     */
    public static void register(final Accessor a)
    {
        if (accessor != null)
        {
            throw new IllegalStateException("the DenseNetwork accessor is registered already");
        }
        accessor = a;
    }

    /**
     * @param network the network.
     * @return its off-heap parameter block (see {@link Accessor#parameterBlock}).
     */
    public static Pointer parameterBlock(final DenseNetwork network)
    {
        return accessor.parameterBlock(network);
    }
}
