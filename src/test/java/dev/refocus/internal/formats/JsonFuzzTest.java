package dev.refocus.internal.formats;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.refocus.testing.FuzzWatchdog;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Fuzzes the JSON parser of the model headers ({@link Json}) with any text (the fuzzer's bytes as UTF-8). The
 * contract: a value or a {@link Json.SyntaxException} with an offset inside the text, nothing else (no other
 * exception, no stack overflow, no hang); and what parses, written back as JSON, parses to an equal value.
 * <p>
 * Seeds in {@code JsonFuzzTestInputs/parse}: a safetensors header as {@link dev.refocus.testing.SafetensorsWriter}
 * writes it, and small documents with every kind of value, escapes and number forms.
 */
@ExtendWith(FuzzWatchdog.class)
class JsonFuzzTest
{
    @FuzzTest(maxDuration = "15s")
    void parse(final byte[] bytes)
    {
        final String text = new String(bytes, StandardCharsets.UTF_8);
        final Object value;
        try
        {
            value = Json.parse(text);
        }
        catch (final Json.SyntaxException expected)
        {
            assertTrue(expected.offset() >= 0 && expected.offset() <= text.length(), expected::getMessage);
            return;
        }
        final String written = write(value, new StringBuilder()).toString();
        try
        {
            assertEquals(value, Json.parse(written), written);
        }
        catch (final Json.SyntaxException e)
        {
            fail("what parsed, written back, does not parse: " + written, e);
        }
    }

    /** Writes a value of {@link Json#parse} as JSON: the oracle of the round trip, independent of the parser. */
    private static StringBuilder write(final Object value, final StringBuilder out)
    {
        if (value instanceof Map<?, ?> object)
        {
            out.append('{');
            String separator = "";
            for (final Map.Entry<?, ?> member : object.entrySet())
            {
                out.append(separator);
                writeString((String)member.getKey(), out).append(':');
                write(member.getValue(), out);
                separator = ",";
            }
            return out.append('}');
        }
        if (value instanceof List<?> array)
        {
            out.append('[');
            String separator = "";
            for (final Object element : array)
            {
                out.append(separator);
                write(element, out);
                separator = ",";
            }
            return out.append(']');
        }
        if (value instanceof String text)
        {
            return writeString(text, out);
        }
        if (value instanceof Double number)
        {
            // Double.toString gives "1.0E10", which is JSON, and reads back to the same double
            return out.append(number.isNaN() || number.isInfinite() ? "not finite: " + number : number.toString());
        }
        return out.append(value); // Long, Boolean, null
    }

    private static StringBuilder writeString(final String text, final StringBuilder out)
    {
        out.append('"');
        for (int i = 0; i < text.length(); i++)
        {
            final char c = text.charAt(i);
            if (c == '"' || c == '\\')
            {
                out.append('\\').append(c);
            }
            else if (c < 0x20 || Character.isSurrogate(c))
            {
                out.append(String.format("\\u%04x", (int)c));
            }
            else
            {
                out.append(c);
            }
        }
        return out.append('"');
    }
}
