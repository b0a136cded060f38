package dev.refocus.internal.formats;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class JsonTest
{
    @Test
    void shouldParseLiterals() throws Exception
    {
        assertEquals(Boolean.TRUE, Json.parse("true"));
        assertEquals(Boolean.FALSE, Json.parse("false"));
        assertNull(Json.parse("null"));
    }

    @Test
    void shouldKeepObjectMembersInDocumentOrder() throws Exception
    {
        final Object value = Json.parse("{\"b\":1,\"a\":2,\"c\":null}");

        final Map<?, ?> object = assertInstanceOf(LinkedHashMap.class, value);
        assertEquals(List.of("b", "a", "c"), List.copyOf(object.keySet()));
        assertEquals(2L, object.get("a"));
        assertNull(object.get("c"));
        assertEquals(true, object.containsKey("c"));
    }

    @Test
    void shouldParseNestedValuesWithWhitespace() throws Exception
    {
        final Object value = Json.parse(" \t\r\n{ \"a\" : [ 1 , { \"b\" : [ ] } , { } , \"x\" ] , \"c\" : true } \n");

        assertEquals(Map.of("a", List.of(1L, Map.of("b", List.of()), Map.of(), "x"), "c", true), value);
    }

    @Test
    void shouldDecodeEscapes() throws Exception
    {
        assertEquals("\" \\ / \b \f \n \r \t", Json.parse("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\""));
        assertEquals("A\u00e9\u20ac", Json.parse("\"\\u0041\\u00E9\\u20ac\""));
    }

    @Test
    void shouldDecodeSurrogatePairsAndRawUnicode() throws Exception
    {
        assertEquals("\uD83D\uDE00", Json.parse("\"\\ud83d\\ude00\""));
        assertEquals("caf\u00e9 \uD83D\uDE00 \u6f22", Json.parse("\"caf\u00e9 \uD83D\uDE00 \u6f22\""));
    }

    @Test
    void shouldParseIntegersAsLong() throws Exception
    {
        assertEquals(0L, Json.parse("0"));
        assertEquals(0L, Json.parse("-0"));
        assertEquals(42L, Json.parse("42"));
        assertEquals(-17L, Json.parse("-17"));
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
    }

    @Test
    void shouldParseOtherNumbersAsDouble() throws Exception
    {
        assertEquals(1.5, Json.parse("1.5"));
        assertEquals(-2500.0, Json.parse("-2.5e3"));
        assertEquals(100.0, Json.parse("1E+2"));
        assertEquals(0.01, Json.parse("1e-2"));
        assertEquals(1.0, Json.parse("1.0"));
        assertEquals(9223372036854775808.0, Json.parse("9223372036854775808"));
        assertEquals(-1e300, Json.parse("-1e300"));
    }

    @Test
    void shouldAcceptNestingUpToTheLimit() throws Exception
    {
        final String text = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);

        assertInstanceOf(List.class, Json.parse(text));
    }

    @Test
    void shouldRejectNestingBeyondTheLimit()
    {
        final String text = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);

        final Json.SyntaxException ex = assertThrows(Json.SyntaxException.class, () -> Json.parse(text));
        assertEquals("nesting deeper than 256 at offset 256", ex.getMessage());
        assertEquals(256, ex.offset());
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("invalidTexts")
    void shouldRejectInvalidTextWithOffset(final String text, final String message, final int offset)
    {
        final Json.SyntaxException ex = assertThrows(Json.SyntaxException.class, () -> Json.parse(text));

        assertEquals(message + " at offset " + offset, ex.getMessage());
        assertEquals(offset, ex.offset());
    }

    static Stream<Arguments> invalidTexts()
    {
        final String lowSurrogate = "expected a \\uDC00-\\uDFFF escape after a high surrogate";
        final String escapes = "expected one of \" \\ / b f n r t u after '\\'";
        return Stream.of(
            Arguments.of("", "expected a value", 0),
            Arguments.of("   ", "expected a value", 3),
            Arguments.of("{\"a\":1 \"b\":2}", "expected ',' or '}'", 7),
            Arguments.of("[1 2]", "expected ',' or ']'", 3),
            Arguments.of("[1,]", "expected a value", 3),
            Arguments.of("{\"a\":1,}", "expected a string key", 7),
            Arguments.of("{a:1}", "expected a string key", 1),
            Arguments.of("{\"a\" 1}", "expected ':'", 5),
            Arguments.of("{\"a\":1,\"a\":2}", "duplicate key \"a\"", 7),
            Arguments.of("{\"a\":1} x", "expected end of input", 8),
            Arguments.of("1 2", "expected end of input", 2),
            Arguments.of("tru", "expected 'true'", 0),
            Arguments.of("nul", "expected 'null'", 0),
            Arguments.of("NaN", "expected a value", 0),
            Arguments.of("\f1", "expected a value", 0),
            Arguments.of("[01]", "leading zeros are not allowed", 2),
            Arguments.of("-", "expected a digit", 1),
            Arguments.of("1.", "expected a digit", 2),
            Arguments.of("1e+", "expected a digit", 3),
            Arguments.of(".5", "expected a value", 0),
            Arguments.of("+1", "expected a value", 0),
            Arguments.of("[1e400]", "number out of range", 1),
            Arguments.of("\"abc", "expected '\"' to close the string", 4),
            Arguments.of("\"a\nb\"", "unescaped control character U+000A in string", 2),
            Arguments.of("\"\\x\"", escapes, 2),
            Arguments.of("\"\\u12G4\"", "expected a hexadecimal digit", 5),
            Arguments.of("\"\\u\uFF10\uFF10\uFF10\uFF10\"", "expected a hexadecimal digit", 3),
            Arguments.of("\"\\ud83d\"", lowSurrogate, 7),
            Arguments.of("\"\\ud83d\\u0041\"", lowSurrogate, 7),
            Arguments.of("\"\\ude00\"", "unpaired low surrogate escape", 1));
    }
}
