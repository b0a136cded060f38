package dev.refocus.example;

import dev.refocus.DenseNetwork;
import dev.refocus.Predictor;
import dev.refocus.RefocusConfig;
import dev.refocus.reference.ReferencePredictor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shipped example: the model and the test subset load, and the model is as good as its training said. */
class FashionMnistExampleTest
{
    private static final Path DIR = Path.of("examples/fashion-mnist");
    private static DenseNetwork network;
    private static float[][] images;
    private static int[] labels;

    @BeforeAll
    static void load() throws IOException
    {
        network = DenseNetwork.load(DIR.resolve(FashionMnistDemo.MODEL));
        images = Idx.readImages(DIR.resolve(FashionMnistDemo.IMAGES));
        labels = Idx.readLabels(DIR.resolve(FashionMnistDemo.LABELS));
    }

    @Test
    void shouldShipTheMlpAndThreeThousandLabelledImages()
    {
        assertEquals("DenseNetwork[784 -> 512 relu -> 256 relu -> 10]", network.toString());
        assertEquals(3000, images.length);
        assertEquals(3000, labels.length);
        assertEquals(784, images[0].length);
        for (final int label : labels)
        {
            assertTrue(label >= 0 && label < 10);
        }
    }

    @Test
    void shouldClassifyLikeTheTrainedModelAndAdaptOnlyUncertainSamples()
    {
        try (Predictor predictor = new ReferencePredictor(network, RefocusConfig.builder(FashionMnistDemo.ETA).build()))
        {
            final Evaluation e = Evaluation.run(predictor, images, labels);
            // PyTorch measured 88.83% on this subset (examples/fashion-mnist/sweep-results.txt), 151 uncertain
            assertEquals(2665, e.correctPlain);
            assertEquals(151, e.adapted);
            assertEquals(e.correctRefocus - e.correctPlain, e.wrongToRight - e.rightToWrong);
            assertEquals(e.correctRefocusAdapted - e.correctPlainAdapted, e.wrongToRight - e.rightToWrong);
        }
    }
}
