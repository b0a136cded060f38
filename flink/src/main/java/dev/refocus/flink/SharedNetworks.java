package dev.refocus.flink;

import dev.refocus.DenseNetwork;
import dev.refocus.ModelFormatException;
import java.util.HashMap;
import java.util.Map;

/**
 * The networks of a task manager JVM, one per model, shared read-only by the predictors of every subtask that runs
 * there and counted: the first {@link #acquire} loads a model's network, the last {@link Lease#close()} drops it
 * (its off-heap parameters, a direct buffer, are then freed with it by the garbage collector). Keyed by the model's
 * digest, so the same model in two operators, or in two jobs whose classes one class loader loads, is held once.
 *
 * <p>A class loader holds its own table: with the refocus jar in each job's jar (child-first class loading) each
 * job has its own copy, and its own native library load, which the JVM refuses for a second class loader. Put the
 * jar in Flink's {@code lib/} (README: Flink).
 *
 * <p><b>Note:</b> Thread-safe: subtasks open and close concurrently. Loading happens under the table's lock, so
 * the subtasks of one JVM wait for the first one's load rather than load the model twice.
 */
public final class SharedNetworks
{
    private static final Map<String, Entry> NETWORKS = new HashMap<>(); // guarded by itself

    private SharedNetworks()
    {
    }

    private static final class Entry
    {
        final DenseNetwork network;
        int users;

        Entry(final DenseNetwork network)
        {
            this.network = network;
        }
    }

    /** One user's hold on a shared network; close it once, when the user is done. */
    public static final class Lease implements AutoCloseable
    {
        private final String digest;
        private final DenseNetwork network;
        private boolean closed;

        private Lease(final String digest, final DenseNetwork network)
        {
            this.digest = digest;
            this.network = network;
        }

        /** @return the shared network (read-only for everyone). */
        public DenseNetwork network()
        {
            return network;
        }

        /** Releases the hold; the last one drops the network. Idempotent. */
        @Override
        public void close()
        {
            synchronized (NETWORKS)
            {
                if (closed)
                {
                    return;
                }
                closed = true;
                final Entry entry = NETWORKS.get(digest);
                if (--entry.users == 0)
                {
                    NETWORKS.remove(digest);
                }
            }
        }
    }

    /**
     * @param model the model.
     * @return a hold on its network, loaded by this call if no one holds it yet.
     * @throws ModelFormatException if the model's bytes do not parse (they did on the client: a corrupted copy).
     */
    public static Lease acquire(final RefocusModel model) throws ModelFormatException
    {
        synchronized (NETWORKS)
        {
            Entry entry = NETWORKS.get(model.digest());
            if (entry == null)
            {
                entry = new Entry(model.network());
                NETWORKS.put(model.digest(), entry);
            }
            entry.users++;
            return new Lease(model.digest(), entry.network);
        }
    }

    /**
     * @param model a model.
     * @return how many holds on its network there are in this JVM (0: not loaded).
     */
    public static int users(final RefocusModel model)
    {
        synchronized (NETWORKS)
        {
            final Entry entry = NETWORKS.get(model.digest());
            return entry == null ? 0 : entry.users;
        }
    }
}
