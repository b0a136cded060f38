package dev.refocus;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InvalidObjectException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;

import static dev.refocus.testing.Messages.assertMessage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RefocusConfigTest
{
    @Test
    void shouldUseThePapersDefaults()
    {
        final RefocusConfig config = RefocusConfig.builder(0.02f).build();
        assertEquals(Method.IFO_WEIGHTED, config.method());
        assertEquals(0.02f, config.learningRate());
        assertEquals(0.16f, config.marginThreshold());
        assertEquals(2, config.focusClasses());
        assertEquals(1, config.steps());
        assertEquals(1.0f, config.clipNorm());
        assertEquals("all", config.parameters().toString());
        assertFalse(config.hasCandidates());
        assertArrayEquals(new int[0], config.candidates());
    }

    @Test
    void shouldRejectInvalidValuesWithAMessage()
    {
        assertMessage("learning rate", () -> RefocusConfig.builder(Float.NaN));
        assertMessage("learning rate", () -> RefocusConfig.builder(-0.1f));
        assertMessage("learning rate", () -> RefocusConfig.builder(Float.POSITIVE_INFINITY));
        final RefocusConfig.Builder b = RefocusConfig.builder(0.1f);
        assertMessage("margin threshold", () -> b.marginThreshold(1.01f));
        assertMessage("margin threshold", () -> b.marginThreshold(-0.01f));
        assertMessage("margin threshold", () -> b.marginThreshold(Float.NaN));
        assertMessage("focus classes must be >= 2", () -> b.focusClasses(1));
        assertMessage("steps", () -> b.steps(0));
        assertMessage("clip norm", () -> b.clipNorm(-1));
        assertMessage("clip norm", () -> b.clipNorm(Float.NaN));
        assertMessage("empty", () -> b.candidates());
        assertMessage("negative", () -> b.candidates(0, -1, 2));
        assertMessage("appears twice", () -> b.candidates(0, 2, 2));
        assertMessage("k >= 1", () -> ParameterSubset.lastLayers(0));
        assertThrows(NullPointerException.class, () -> b.method(null));
    }

    @Test
    void shouldCheckTheConfigurationAgainstTheModel()
    {
        final RefocusConfig config = RefocusConfig.builder(0.1f).focusClasses(3).build();
        assertMessage("fewer than the model's classes (3)", () -> config.checkFits(3, 2));
        config.checkFits(4, 2);
        final RefocusConfig withCandidates = config.toBuilder().candidates(0, 5, 2).build();
        assertMessage("fewer than the candidate classes (3)", () -> withCandidates.checkFits(10, 2));
        assertMessage("candidate class 5 is out of range", () -> withCandidates.checkFits(5, 2));
        final RefocusConfig lastThree = config.toBuilder().parameters(ParameterSubset.lastLayers(3)).build();
        assertMessage("last 3 layers of a network with 2", () -> lastThree.checkFits(10, 2));
    }

    @Test
    void shouldKeepCandidatesImmutable()
    {
        final int[] k = {4, 1, 2};
        final RefocusConfig config = RefocusConfig.builder(0.1f).candidates(k).build();
        k[0] = 9;
        assertArrayEquals(new int[] {4, 1, 2}, config.candidates());
        config.candidates()[0] = 9;
        assertArrayEquals(new int[] {4, 1, 2}, config.candidates());
        assertTrue(config.toString().endsWith(", candidates=4,1,2"), config.toString());
    }

    @Test
    void shouldWriteTheDocumentedTextForm()
    {
        assertEquals("method=IFO_WEIGHTED, learningRate=0.02, marginThreshold=0.16, focusClasses=2, steps=1, " +
            "clipNorm=1.0, parameters=all", RefocusConfig.builder(0.02f).build().toString());
        final RefocusConfig config = RefocusConfig.builder(5.0e-6f).method(Method.DOFO).marginThreshold(0.04f)
            .focusClasses(3).steps(2).clipNorm(0.0f).parameters(ParameterSubset.lastLayers(2)).candidates(4, 1, 2, 0)
            .build();
        assertEquals("method=DOFO, learningRate=5.0E-6, marginThreshold=0.04, focusClasses=3, steps=2, clipNorm=0.0, " +
            "parameters=lastLayers(2), candidates=4,1,2,0", config.toString());
        assertEquals(config, RefocusConfig.parse(config.toString()));
    }

    @Test
    void shouldRoundTripRandomConfigsThroughTheTextForm()
    {
        final Random random = new Random(31);
        for (int i = 0; i < 2000; i++)
        {
            final RefocusConfig config = randomConfig(random);
            final String text = config.toString();
            final RefocusConfig parsed = RefocusConfig.parse(text);
            assertEquals(config, parsed, text);
            assertEquals(config.hashCode(), parsed.hashCode(), text);
            assertEquals(text, parsed.toString());
            // the same entries one per line, as in a configuration file
            assertEquals(config, RefocusConfig.parse(text.replace(", ", "\n") + "\n"), text);
        }
    }

    @Test
    void shouldWriteTheGuardrailsOnlyWhenSet()
    {
        final RefocusConfig config = RefocusConfig.builder(0.5f).observeOnly(true)
            .band(Band.of(1000, 0.03, 0.09, 0.0, 0.0125)).build();
        assertEquals("method=IFO_WEIGHTED, learningRate=0.5, marginThreshold=0.16, focusClasses=2, steps=1, " +
            "clipNorm=1.0, parameters=all, observeOnly=true, bandWindow=1000, bandAdaptedShare=0.03..0.09, " +
            "bandChangedRate=0.0..0.0125", config.toString());
        assertEquals(config, RefocusConfig.parse(config.toString()));
        assertTrue(config.observeOnly());
        assertEquals(Band.of(1000, 0.03, 0.09, 0.0, 0.0125), config.band());
        final RefocusConfig plain = RefocusConfig.builder(0.5f).observeOnly(false).band(null).build();
        assertFalse(plain.toString().contains("observeOnly") || plain.toString().contains("band"), plain.toString());
        assertNotEquals(plain, config.toBuilder().band(null).build(), "observe-only is part of equality");
        assertNotEquals(config, config.toBuilder().band(Band.of(999, 0.03, 0.09, 0.0, 0.0125)).build());
    }

    @Test
    void shouldReadAFileWithCommentsAndSectionsOfItsOwn(@TempDir final Path dir) throws IOException
    {
        final String text = "# refocus configuration written by refocus tune, commas, = signs, [brackets] and all\n"
            + "method=DOFO\n"
            + "  # indented comment\n"
            + "learningRate=0.25\r\n"
            + "candidates=3,1,2\n"
            + "observeOnly=true\n"
            + "\n"
            + "[evidence]\n"
            + "split=stratified held-out split, seed 1\n"
            + "verdict=no significant gain at 5 %: keep refocus off\n"
            + "unknownKey=whatever\n";
        final RefocusConfig expected = RefocusConfig.builder(0.25f).method(Method.DOFO).candidates(3, 1, 2)
            .observeOnly(true).build();
        assertEquals(expected, RefocusConfig.parse(text));
        final Path file = dir.resolve("refocus.conf");
        Files.writeString(file, text);
        assertEquals(expected, RefocusConfig.load(file));
        // what a file holds before its first section must still be a configuration
        Files.writeString(file, "learningRate=0.25\nbogus=1\n[evidence]\n");
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RefocusConfig.load(file));
        assertTrue(e.getMessage().startsWith("refocus config " + file + ": unknown config key 'bogus'"), e.getMessage());
    }

    @Test
    void shouldRefuseFilesThatAreNotConfigurations(@TempDir final Path dir) throws IOException
    {
        assertThrows(NoSuchFileException.class, () -> RefocusConfig.load(dir.resolve("missing.conf")));
        assertEquals("refocus config " + dir + ": is a directory, not a file",
            assertThrows(IllegalArgumentException.class, () -> RefocusConfig.load(dir)).getMessage());
        final Path binary = dir.resolve("binary.conf");
        Files.write(binary, new byte[] {'l', 'e', (byte)0xff, (byte)0xfe, '='});
        assertEquals("refocus config " + binary + ": not UTF-8 text",
            assertThrows(IllegalArgumentException.class, () -> RefocusConfig.load(binary)).getMessage());
        final Path big = dir.resolve("big.conf");
        Files.write(big, new byte[(1 << 20) + 1]);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> RefocusConfig.load(big)).getMessage()
            .contains("1048577 bytes, more than a configuration's 1048576"));
    }

    @Test
    void shouldTakeTheBandsKeysTogetherOnly()
    {
        assertEquals("config key 'bandChangedRate' is missing: a band takes bandWindow, bandAdaptedShare, "
                + "bandChangedRate together",
            assertThrows(IllegalArgumentException.class, () -> RefocusConfig.parse(
                "learningRate=0.1, bandWindow=10, bandAdaptedShare=0.1..0.2")).getMessage());
        assertEquals("config key 'bandAdaptedShare' has value '0.1-0.2': not a range min..max of decimal numbers",
            assertThrows(IllegalArgumentException.class, () -> RefocusConfig.parse(
                "learningRate=0.1, bandWindow=10, bandAdaptedShare=0.1-0.2, bandChangedRate=0..1")).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> RefocusConfig.parse(
                "learningRate=0.1, bandWindow=0, bandAdaptedShare=0.1..0.2, bandChangedRate=0..1")).getMessage()
            .endsWith("a band's window must be >= 1 prediction, got 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> RefocusConfig.parse(
                "learningRate=0.1, bandWindow=5, bandAdaptedShare=0.3..0.2, bandChangedRate=0..1")).getMessage()
            .endsWith("a band's adapted share must be a range within [0, 1], got 0.3..0.2"));
        assertEquals("config key 'observeOnly' has value 'yes': not true or false",
            assertThrows(IllegalArgumentException.class, () -> RefocusConfig.parse(
                "learningRate=0.1, observeOnly=yes")).getMessage());
    }

    @Test
    void shouldRoundTripThroughJavaSerialization() throws Exception
    {
        final Random random = new Random(32);
        for (int i = 0; i < 200; i++)
        {
            final RefocusConfig config = randomConfig(random);
            final RefocusConfig read = (RefocusConfig)deserialize(serialize(config));
            assertEquals(config, read, config.toString());
            assertArrayEquals(config.candidates(), read.candidates());
        }
    }

    @Test
    void shouldRefuseATamperedSerializedConfig() throws Exception
    {
        final byte[] good = serialize(RefocusConfig.builder(0.5f).build());

        final InvalidObjectException threshold = assertThrows(InvalidObjectException.class,
            () -> deserialize(replace(good, "marginThreshold=0.16", "marginThreshold=9.99")));
        assertTrue(threshold.getMessage().contains("config key 'marginThreshold' has value '9.99': margin threshold"),
            threshold.getMessage());
        final InvalidObjectException method = assertThrows(InvalidObjectException.class,
            () -> deserialize(replace(good, "method=IFO_WEIGHTED", "method=IFO_WEIGHTEX")));
        assertTrue(method.getMessage().contains("'method' has value 'IFO_WEIGHTEX'"), method.getMessage());
    }

    @Test
    void shouldTakeTheDefaultsForMissingKeysButRequireTheLearningRate()
    {
        assertEquals(RefocusConfig.builder(0.02f).build(), RefocusConfig.parse("learningRate=0.02"));
        assertMessage("config key 'learningRate' is required", () -> RefocusConfig.parse(""));
        assertMessage("config key 'learningRate' is required", () -> RefocusConfig.parse("method=IFO, steps=2"));
    }

    @Test
    void shouldReadLinesCommasSpacesAndAnyCaseOfTheMethod()
    {
        final RefocusConfig expected = RefocusConfig.builder(0.5f).method(Method.CROSS_ENTROPY)
            .parameters(ParameterSubset.head()).candidates(3, 0, 1).build();
        assertEquals(expected, RefocusConfig.parse(
            "  method = cross_entropy\r\n\nlearningRate=.5 ,parameters= head,\n candidates = 3, 0 ,1\n,"));
        assertEquals(expected, RefocusConfig.parse("candidates=3,0,1,learningRate=5e-1,method=CROSS_ENTROPY," +
            "parameters=lastLayers(1)"));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("malformedTexts")
    void shouldNameTheKeyAndTheValueOfEveryMalformedEntry(final String text, final String problem)
    {
        assertMessage(problem, () -> RefocusConfig.parse(text));
    }

    static Stream<Arguments> malformedTexts()
    {
        final String eta = "learningRate=0.1, ";
        return Stream.of(
            Arguments.of("learningRate=abc", "config key 'learningRate' has value 'abc': not a decimal number"),
            Arguments.of("learningRate=NaN", "config key 'learningRate' has value 'NaN': not a decimal number"),
            Arguments.of("learningRate=Infinity", "has value 'Infinity': not a decimal number"),
            Arguments.of("learningRate=0.1f", "has value '0.1f': not a decimal number"),
            Arguments.of("learningRate=0x1p-3", "has value '0x1p-3': not a decimal number"),
            Arguments.of("learningRate=", "config key 'learningRate' has value '': not a decimal number"),
            Arguments.of("learningRate=-0.1",
                "config key 'learningRate' has value '-0.1': learning rate must be finite and >= 0"),
            Arguments.of("learningRate=1e39", "has value '1e39': learning rate must be finite"),
            Arguments.of(eta + "marginThreshold=1.5",
                "config key 'marginThreshold' has value '1.5': margin threshold must be in [0, 1]"),
            Arguments.of(eta + "method=SGD", "config key 'method' has value 'SGD': not a method: [IFO_WEIGHTED,"),
            Arguments.of(eta + "focusClasses=1",
                "config key 'focusClasses' has value '1': focus classes must be >= 2"),
            Arguments.of(eta + "focusClasses=two", "config key 'focusClasses' has value 'two': 'two' is not an int"),
            Arguments.of(eta + "steps=0", "config key 'steps' has value '0': steps must be >= 1"),
            Arguments.of(eta + "steps=1.5", "config key 'steps' has value '1.5': '1.5' is not an int"),
            Arguments.of(eta + "steps=99999999999", "'99999999999' is not an int"),
            Arguments.of(eta + "clipNorm=-1", "config key 'clipNorm' has value '-1': clip norm must be finite"),
            Arguments.of(eta + "parameters=lastLayers(0)",
                "config key 'parameters' has value 'lastLayers(0)': lastLayers needs k >= 1, got 0"),
            Arguments.of(eta + "parameters=last 2 layers",
                "has value 'last 2 layers': 'last 2 layers' is not a parameter subset: all, head, biases or " +
                "lastLayers(k)"),
            Arguments.of(eta + "parameters=lastLayers(99999999999)",
                "lastLayers(k) needs k to be an int, got 99999999999"),
            Arguments.of(eta + "candidates=1,1",
                "config key 'candidates' has value '1,1': candidate class 1 appears twice"),
            Arguments.of(eta + "candidates=2,-1",
                "config key 'candidates' has value '2,-1': candidate class -1 is negative"),
            Arguments.of(eta + "candidates=0,one", "config key 'candidates' has value '0,one': 'one' is not an int"),
            Arguments.of(eta + "candidates=", "config key 'candidates' has value '': the candidate set is empty"),
            Arguments.of(eta + "lerningRate=0.1",
                "unknown config key 'lerningRate' in 'lerningRate=0.1'; the keys are method, learningRate,"),
            Arguments.of(eta + "Steps=2", "unknown config key 'Steps'"),
            Arguments.of(eta + "steps=1\nsteps=2", "config key 'steps' appears twice"),
            Arguments.of("0.1", "config entry '0.1' is not key=value"),
            Arguments.of("=0.1", "unknown config key '' in '=0.1'"),
            Arguments.of(eta + "method", "config key 'learningRate' has value '0.1,method': not a decimal number"),
            Arguments.of("RefocusConfig{learningRate=0.1}", "unknown config key 'RefocusConfig{learningRate'"));
    }

    @Test
    void shouldNameTheMissingText()
    {
        assertEquals("text", assertThrows(NullPointerException.class, () -> RefocusConfig.parse(null)).getMessage());
    }

    @Test
    void shouldBeEqualWhenEverySettingIs()
    {
        final RefocusConfig config = RefocusConfig.builder(0.1f).candidates(2, 0, 1).build();
        assertEquals(config, config.toBuilder().build());
        assertEquals(config.hashCode(), config.toBuilder().build().hashCode());
        assertNotEquals(config, config.toBuilder().candidates(0, 1, 2).build()); // candidates keep their order
        assertNotEquals(config, config.toBuilder().allClasses().build());
        assertNotEquals(config, config.toBuilder().learningRate(0.1000001f).build());
        assertNotEquals(RefocusConfig.builder(0.0f).build(), RefocusConfig.builder(-0.0f).build()); // as Float does
        assertNotEquals(config, config.toBuilder().parameters(ParameterSubset.biases()).build());
        assertNotEquals(config, config.toBuilder().method(Method.IFO).build());
        assertNotEquals(config, config.toBuilder().steps(2).build());
        assertNotEquals(config, config.toBuilder().focusClasses(3).build());
        assertNotEquals(config, config.toBuilder().clipNorm(2.0f).build());
        assertNotEquals(config, config.toBuilder().marginThreshold(0.2f).build());
        assertNotEquals(config, null);
        assertNotEquals(config, config.toString());
    }

    /** Any valid configuration: every method and subset, floats from their whole valid range (bit patterns). */
    static RefocusConfig randomConfig(final Random random)
    {
        final RefocusConfig.Builder b = RefocusConfig.builder(nonNegativeFloat(random))
            .method(Method.values()[random.nextInt(Method.values().length)])
            .marginThreshold(random.nextInt(8) == 0 ? random.nextInt(2)
                : Float.intBitsToFloat(random.nextInt(Float.floatToIntBits(1.0f) + 1)))
            .focusClasses(2 + random.nextInt(9))
            .steps(1 + random.nextInt(5))
            .clipNorm(random.nextInt(4) == 0 ? 0.0f : nonNegativeFloat(random));
        final int subset = random.nextInt(4);
        b.parameters(subset == 0 ? ParameterSubset.all() : subset == 1 ? ParameterSubset.biases()
            : subset == 2 ? ParameterSubset.head() : ParameterSubset.lastLayers(2 + random.nextInt(100)));
        if (random.nextBoolean())
        {
            final int[] classes = random.ints(0, 1000).distinct().limit(1 + random.nextInt(8)).toArray();
            b.candidates(classes);
        }
        b.observeOnly(random.nextInt(3) == 0);
        if (random.nextInt(3) == 0)
        {
            final double a = random.nextDouble();
            final double c = random.nextInt(4) == 0 ? 0.0 : random.nextDouble() * 1e-3;
            b.band(Band.of(1 + random.nextInt(100_000), a * random.nextDouble(), a, 0.0, c));
        }
        return b.build();
    }

    /** A finite float >= 0: a plain rate, or any bit pattern from 0 to Float.MAX_VALUE, or -0.0. */
    private static float nonNegativeFloat(final Random random)
    {
        return switch (random.nextInt(10))
        {
            case 0 -> -0.0f;
            case 1, 2, 3 -> random.nextFloat() * 0.1f;
            default -> Float.intBitsToFloat(random.nextInt(Float.floatToIntBits(Float.MAX_VALUE) + 1));
        };
    }

    static byte[] serialize(final Object object) throws IOException
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes))
        {
            out.writeObject(object);
        }
        return bytes.toByteArray();
    }

    static Object deserialize(final byte[] bytes) throws IOException, ClassNotFoundException
    {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes)))
        {
            return in.readObject();
        }
    }

    /** The stream with one ASCII text replaced by another of the same length, as an attacker could. */
    private static byte[] replace(final byte[] stream, final String from, final String to)
    {
        final String text = new String(stream, StandardCharsets.ISO_8859_1);
        assertTrue(text.contains(from) && from.length() == to.length(), from);
        return text.replace(from, to).getBytes(StandardCharsets.ISO_8859_1);
    }
}
