package dev.refocus.internal.formats;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict JSON parser (RFC 8259) that returns plain Java values, for the headers of model files.
 * <p>
 * Objects become {@link LinkedHashMap}s in document order (a duplicate key is an error), arrays {@link ArrayList}s,
 * strings {@link String}s, {@code true} and {@code false} {@link Boolean}s, and {@code null} becomes Java
 * {@code null} (so use {@link Map#containsKey} to tell a null member from a missing one). A number is a
 * {@link Long} when it has no fraction and no exponent and fits in a long, otherwise a {@link Double}.
 * <p>
 * Everything RFC 8259 does not allow is rejected: trailing content after the value, leading zeros, unescaped
 * control characters, unpaired surrogate escapes, numbers beyond the range of double, and nesting deeper than
 * {@value #MAX_DEPTH} (which would otherwise overflow the stack).
 */
public final class Json
{
    /** The deepest nesting of arrays and objects accepted. */
    public static final int MAX_DEPTH = 256;

    private static final String EXPECTED_LOW_SURROGATE = "expected a \\uDC00-\\uDFFF escape after a high surrogate";

    private final String text;
    private int pos;
    private int depth;

    private Json(final String text)
    {
        this.text = text;
    }

    /**
     * Parses one JSON value, optionally surrounded by whitespace.
     *
     * @param text the JSON text.
     * @return the value, as described in the class comment.
     * @throws SyntaxException if {@code text} is not exactly one valid JSON value.
     */
    public static Object parse(final String text) throws SyntaxException
    {
        final Json parser = new Json(text);
        parser.skipWhitespace();
        final Object value = parser.value();
        parser.skipWhitespace();
        if (parser.pos != text.length())
        {
            throw parser.error("expected end of input");
        }
        return value;
    }

    private Object value() throws SyntaxException
    {
        return switch (peek())
        {
            case '{' -> object();
            case '[' -> array();
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", null);
            case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' -> number();
            default -> throw error("expected a value");
        };
    }

    private Map<String, Object> object() throws SyntaxException
    {
        enter();
        final Map<String, Object> members = new LinkedHashMap<>();
        skipWhitespace();
        if (!consume('}'))
        {
            do
            {
                skipWhitespace();
                if (peek() != '"')
                {
                    throw error("expected a string key");
                }
                final int keyOffset = pos;
                final String key = string();
                if (members.containsKey(key))
                {
                    throw new SyntaxException("duplicate key \"" + key + "\"", keyOffset);
                }
                skipWhitespace();
                expect(':');
                skipWhitespace();
                members.put(key, value());
                skipWhitespace();
            }
            while (consume(','));
            if (!consume('}'))
            {
                throw error("expected ',' or '}'");
            }
        }
        depth--;
        return members;
    }

    private List<Object> array() throws SyntaxException
    {
        enter();
        final List<Object> elements = new ArrayList<>();
        skipWhitespace();
        if (!consume(']'))
        {
            do
            {
                skipWhitespace();
                elements.add(value());
                skipWhitespace();
            }
            while (consume(','));
            if (!consume(']'))
            {
                throw error("expected ',' or ']'");
            }
        }
        depth--;
        return elements;
    }

    /** Consumes the opening bracket or brace of an object or array. */
    private void enter() throws SyntaxException
    {
        if (++depth > MAX_DEPTH)
        {
            throw error("nesting deeper than " + MAX_DEPTH);
        }
        pos++;
    }

    private String string() throws SyntaxException
    {
        pos++;
        final StringBuilder builder = new StringBuilder();
        while (true)
        {
            final int c = peek();
            if (c == '"')
            {
                pos++;
                return builder.toString();
            }
            if (c == -1)
            {
                throw error("expected '\"' to close the string");
            }
            if (c < 0x20)
            {
                throw error(String.format("unescaped control character U+%04X in string", c));
            }
            pos++;
            if (c == '\\')
            {
                escape(builder);
            }
            else
            {
                builder.append((char)c);
            }
        }
    }

    private void escape(final StringBuilder builder) throws SyntaxException
    {
        final int c = peek();
        pos++;
        switch (c)
        {
            case '"', '\\', '/' -> builder.append((char)c);
            case 'b' -> builder.append('\b');
            case 'f' -> builder.append('\f');
            case 'n' -> builder.append('\n');
            case 'r' -> builder.append('\r');
            case 't' -> builder.append('\t');
            case 'u' -> unicodeEscape(builder);
            default -> throw new SyntaxException("expected one of \" \\ / b f n r t u after '\\'", pos - 1);
        }
    }

    /** Appends the code unit of a u-escape (pos is after the u); a surrogate must be the first of a pair. */
    private void unicodeEscape(final StringBuilder builder) throws SyntaxException
    {
        final int start = pos - 2;
        final char unit = hex4();
        if (Character.isHighSurrogate(unit))
        {
            final int lowStart = pos;
            if (!text.startsWith("\\u", pos))
            {
                throw error(EXPECTED_LOW_SURROGATE);
            }
            pos += 2;
            final char low = hex4();
            if (!Character.isLowSurrogate(low))
            {
                throw new SyntaxException(EXPECTED_LOW_SURROGATE, lowStart);
            }
            builder.append(unit).append(low);
        }
        else if (Character.isLowSurrogate(unit))
        {
            throw new SyntaxException("unpaired low surrogate escape", start);
        }
        else
        {
            builder.append(unit);
        }
    }

    private char hex4() throws SyntaxException
    {
        int unit = 0;
        for (int i = 0; i < 4; i++)
        {
            final int c = peek();
            // not Character.digit, which also accepts non-ASCII digits
            final int digit = c >= '0' && c <= '9' ? c - '0' :
                c >= 'a' && c <= 'f' ? c - 'a' + 10 :
                c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (digit < 0)
            {
                throw error("expected a hexadecimal digit");
            }
            unit = unit << 4 | digit;
            pos++;
        }
        return (char)unit;
    }

    private Object number() throws SyntaxException
    {
        final int start = pos;
        consume('-');
        if (consume('0'))
        {
            if (isDigit(peek()))
            {
                throw error("leading zeros are not allowed");
            }
        }
        else
        {
            digits();
        }
        boolean integral = true;
        if (consume('.'))
        {
            integral = false;
            digits();
        }
        if (consume('e') || consume('E'))
        {
            integral = false;
            if (!consume('+'))
            {
                consume('-');
            }
            digits();
        }
        final String literal = text.substring(start, pos);
        if (integral)
        {
            try
            {
                return Long.parseLong(literal);
            }
            catch (final NumberFormatException tooLarge)
            {
                // the grammar is already checked, so only the range can fail: fall through to double
            }
        }
        final double value = Double.parseDouble(literal);
        if (Double.isInfinite(value))
        {
            throw new SyntaxException("number out of range", start);
        }
        return value;
    }

    private void digits() throws SyntaxException
    {
        if (!isDigit(peek()))
        {
            throw error("expected a digit");
        }
        while (isDigit(peek()))
        {
            pos++;
        }
    }

    private Object literal(final String word, final Object value) throws SyntaxException
    {
        if (!text.startsWith(word, pos))
        {
            throw error("expected '" + word + "'");
        }
        pos += word.length();
        return value;
    }

    private void skipWhitespace()
    {
        int c = peek();
        while (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        {
            pos++;
            c = peek();
        }
    }

    private void expect(final char c) throws SyntaxException
    {
        if (!consume(c))
        {
            throw error("expected '" + c + "'");
        }
    }

    private boolean consume(final char c)
    {
        if (peek() == c)
        {
            pos++;
            return true;
        }
        return false;
    }

    /** The character at the current position, or -1 at the end of the text. */
    private int peek()
    {
        return pos < text.length() ? text.charAt(pos) : -1;
    }

    private static boolean isDigit(final int c)
    {
        return c >= '0' && c <= '9';
    }

    private SyntaxException error(final String expected)
    {
        return new SyntaxException(expected, pos);
    }

    /**
     * Invalid JSON; the message says what was expected and at which character offset, e.g.
     * {@code expected ',' or ']' at offset 57}.
     */
    public static final class SyntaxException extends Exception
    {
        private static final long serialVersionUID = 1L;

        private final int offset;

        /**
         * Creates the exception; its message is the problem followed by the offset.
         *
         * @param problem what was expected or went wrong.
         * @param offset  the offset in characters of the problem in the text.
         */
        public SyntaxException(final String problem, final int offset)
        {
            super(problem + " at offset " + offset);
            this.offset = offset;
        }

        /**
         * @return the offset in characters (UTF-16 code units) of the problem in the text.
         */
        public int offset()
        {
            return offset;
        }
    }
}
