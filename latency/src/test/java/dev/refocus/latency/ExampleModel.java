package dev.refocus.latency;

import dev.refocus.DenseNetwork;
import dev.refocus.RefocusConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** The Fashion-MNIST example (model, 3000 test images, its best setting), read once for the tests. */
final class ExampleModel
{
    static final Path DIR = Path.of("../examples/fashion-mnist");
    static final Path MODEL = DIR.resolve("mlp-784-512-256-10.safetensors");
    static final Path IMAGES = DIR.resolve("test-3000-images-idx3-ubyte.gz");
    static final RefocusConfig CONFIG = RefocusConfig.builder(0.65536f).marginThreshold(0.16f).build();
    static final DenseNetwork NETWORK;
    static final float[][] SAMPLES;

    static
    {
        try
        {
            NETWORK = DenseNetwork.load(MODEL);
            SAMPLES = SamplePools.idxImages(IMAGES);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
    }

    private ExampleModel()
    {
    }
}
