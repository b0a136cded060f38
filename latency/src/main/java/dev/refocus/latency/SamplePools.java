package dev.refocus.latency;

import dev.refocus.DenseNetwork;
import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.NativePredictor;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;

/**
 * Samples sorted once by what the predictor makes of them: certain (the plain margin at or above d: one forward
 * pass) and uncertain (below d: adapted, the refocus step). A benchmark picks from the two pools to get the share of uncertain
 * samples it wants, whatever the data's own share.
 *
 * <p><b>Note:</b> Immutable after construction; the pools' arrays must not be written.
 */
public final class SamplePools
{
    private final float[][] certain;
    private final float[][] uncertain;

    private SamplePools(final float[][] certain, final float[][] uncertain)
    {
        this.certain = certain;
        this.uncertain = uncertain;
    }

    /**
     * Sorts samples by the plain margin of the network under {@code config} (its threshold d).
     *
     * @param network the model.
     * @param config  the configuration whose d decides.
     * @param samples the samples, each of the network's input size.
     * @return the pools.
     */
    public static SamplePools classify(final DenseNetwork network, final RefocusConfig config,
        final float[][] samples)
    {
        final List<float[]> certain = new ArrayList<>();
        final List<float[]> uncertain = new ArrayList<>();
        try (NativePredictor predictor = NativePredictor.create(network, config))
        {
            final Prediction out = predictor.newPrediction();
            for (final float[] x : samples)
            {
                predictor.predict(x, out); // the predictor's own decision: adapted when the margin is below d
                (out.adapted() ? uncertain : certain).add(x);
            }
        }
        return new SamplePools(certain.toArray(new float[0][]), uncertain.toArray(new float[0][]));
    }

    /** @return the samples whose plain margin is at or above d. */
    public float[][] certain()
    {
        return certain;
    }

    /** @return the samples whose plain margin is below d. */
    public float[][] uncertain()
    {
        return uncertain;
    }

    /**
     * A sequence of samples in which each is uncertain with probability {@code share}, drawn with replacement from
     * the pools.
     *
     * @param length how many.
     * @param share  the share of uncertain samples, in [0, 1].
     * @param seed   the random seed.
     * @return the samples, shared with the pools (not copies).
     */
    public float[][] mix(final int length, final double share, final long seed)
    {
        if (!(share >= 0 && share <= 1))
        {
            throw new IllegalArgumentException("the uncertain share must be in [0, 1], got " + share);
        }
        if (share > 0 && uncertain.length == 0 || share < 1 && certain.length == 0)
        {
            throw new IllegalArgumentException("a share of " + share + " needs samples of both pools; there are "
                + certain.length + " certain and " + uncertain.length + " uncertain");
        }
        final Random random = new Random(seed);
        final float[][] mix = new float[length][];
        for (int i = 0; i < length; i++)
        {
            final float[][] pool = random.nextDouble() < share ? uncertain : certain;
            mix[i] = pool[random.nextInt(pool.length)];
        }
        return mix;
    }

    /**
     * Reads images from an IDX file (gzipped or not), as the example model takes them: pixel / 255, row-major.
     *
     * @param file the file (such as {@code examples/fashion-mnist/test-3000-images-idx3-ubyte.gz}).
     * @return one array per image.
     * @throws IOException if the file cannot be read or is not an IDX file of unsigned-byte images.
     */
    public static float[][] idxImages(final Path file) throws IOException
    {
        try (InputStream raw = Files.newInputStream(file);
             DataInputStream in = new DataInputStream(file.toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw))
        {
            final int magic = in.readInt();
            if (magic != 0x00000803)
            {
                throw new IOException(file + ": not an IDX file of unsigned-byte images (magic " + Integer.toHexString(
                    magic) + ", expected 803)");
            }
            final int count = in.readInt();
            final int height = in.readInt();
            final int width = in.readInt();
            // the example files are small: a claim beyond 1 M images of 4096 pixels is not one of them
            if (count < 1 || count > 1 << 20 || height < 1 || width < 1 || (long)height * width > 4096)
            {
                throw new IOException(file + ": the header claims " + count + " images of " + height + "x" + width
                    + " pixels; this reader takes up to 2^20 images of up to 4096 pixels");
            }
            final float[][] images = new float[count][height * width];
            final byte[] row = new byte[height * width];
            for (final float[] image : images)
            {
                in.readFully(row);
                for (int p = 0; p < row.length; p++)
                {
                    image[p] = (row[p] & 0xFF) / 255.0f;
                }
            }
            if (in.read() != -1)
            {
                throw new IOException(file + ": bytes after the " + count + " images the header claims");
            }
            return images;
        }
        catch (final EOFException e)
        {
            throw new IOException(file + ": truncated (fewer images than the header claims)", e);
        }
    }
}
