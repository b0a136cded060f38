package dev.refocus.flink;

import dev.refocus.Prediction;
import dev.refocus.RefocusConfig;
import dev.refocus.cpu.NativePredictor;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/** The Fashion-MNIST example (model, test images as pixel/255, its best setting), and a single-threaded run. */
final class ExampleData
{
    static final Path DIR = Path.of("../examples/fashion-mnist");
    static final RefocusConfig CONFIG = RefocusConfig.builder(0.65536f).marginThreshold(0.16f).build();
    static final RefocusModel MODEL;

    static
    {
        try
        {
            MODEL = RefocusModel.load(DIR.resolve("mlp-784-512-256-10.safetensors"));
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
    }

    private ExampleData()
    {
    }

    /** @return the first {@code n} test images as samples with ids "0", "1", ... */
    static List<Sample> samples(final int n) throws IOException
    {
        try (DataInputStream in = new DataInputStream(new GZIPInputStream(Files.newInputStream(
            DIR.resolve("test-3000-images-idx3-ubyte.gz")))))
        {
            if (in.readInt() != 0x803 || in.readInt() < n || in.readInt() * in.readInt() != 784)
            {
                throw new IOException("not the example's 3000 images of 28x28");
            }
            final List<Sample> samples = new ArrayList<>();
            final byte[] pixels = new byte[784];
            for (int i = 0; i < n; i++)
            {
                in.readFully(pixels);
                final float[] x = new float[784];
                for (int p = 0; p < 784; p++)
                {
                    x[p] = (pixels[p] & 0xFF) / 255.0f;
                }
                samples.add(new Sample(Integer.toString(i), x));
            }
            return samples;
        }
    }

    /** @return each sample's result by one predictor on this thread, by id. */
    static Map<String, Scored> alone(final List<Sample> samples) throws IOException
    {
        final Map<String, Scored> results = new HashMap<>();
        try (NativePredictor predictor = NativePredictor.create(MODEL.network(), CONFIG))
        {
            final Prediction out = predictor.newPrediction();
            for (final Sample s : samples)
            {
                predictor.predict(s.features, out);
                results.put(s.id, new Scored(s.id, out));
            }
        }
        return results;
    }
}
