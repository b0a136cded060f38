package dev.refocus.flink;

import dev.refocus.DenseNetwork;
import dev.refocus.ModelFormatException;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A dense model as the bytes of its safetensors file, shipped to the task managers inside the job (the function
 * that holds it is serialized into the job graph) and loaded there once per JVM ({@link SharedNetworks}), keyed by
 * the SHA-256 digest of the bytes.
 *
 * <p>The bytes are parsed once when the model is made, on the client, so that a bad file fails the job's
 * construction rather than every subtask. Models of tens of MiB go into the job graph as they are; for larger ones
 * see the README (Flink: distributed cache).
 *
 * <p><b>Note:</b> Immutable and thread-safe; the bytes are never handed out.
 */
public final class RefocusModel implements Serializable
{
    private static final long serialVersionUID = 1L;

    private final byte[] safetensors;
    private final String digest;

    private RefocusModel(final byte[] safetensors)
    {
        this.safetensors = safetensors;
        this.digest = sha256(safetensors);
    }

    /**
     * @param safetensors the bytes of a safetensors file (copied).
     * @return the model.
     * @throws ModelFormatException if the bytes are not a dense network's safetensors file.
     */
    public static RefocusModel of(final byte[] safetensors) throws ModelFormatException
    {
        final byte[] copy = Objects.requireNonNull(safetensors, "safetensors").clone();
        DenseNetwork.load(copy); // fail here, on the client, not in every subtask
        return new RefocusModel(copy);
    }

    /**
     * @param file a safetensors file.
     * @return the model, holding the file's bytes.
     * @throws IOException if the file cannot be read or is not a dense network's safetensors file.
     */
    public static RefocusModel load(final Path file) throws IOException
    {
        try
        {
            return of(Files.readAllBytes(file));
        }
        catch (final ModelFormatException e)
        {
            throw new ModelFormatException(file + ": " + e.getMessage());
        }
    }

    /** @return the SHA-256 digest of the bytes, in hex: the model's identity on a task manager. */
    public String digest()
    {
        return digest;
    }

    /** @return the size of the safetensors bytes. */
    public int size()
    {
        return safetensors.length;
    }

    /** Parses the bytes (once per JVM, by {@link SharedNetworks}). */
    DenseNetwork network() throws ModelFormatException
    {
        return DenseNetwork.load(safetensors);
    }

    private static String sha256(final byte[] bytes)
    {
        try
        {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        }
        catch (final NoSuchAlgorithmException e)
        {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    @Override
    public String toString()
    {
        return "RefocusModel[" + safetensors.length + " bytes, sha256 " + digest.substring(0, 12) + "...]";
    }
}
