package dev.refocus.internal.bindings;

import dev.refocus.Method;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One truth between C and Java: every code the Java side passes to the C ABI is the header's, read from it through
 * JavaCPP (the getters' values are compiled from {@code native/include/refocus/*.h} into the JNI glue).
 */
class NativeConstantsTest
{
    @Test
    void shouldGiveEveryMethodTheHeadersCode() throws ReflectiveOperationException
    {
        final Set<Integer> codes = new HashSet<>();
        for (final Method method : Method.values())
        {
            // a Method without a REFOCUS_<NAME> in common.h fails here with NoSuchMethodException
            final int header = (int)RefocusCommonNative.class.getMethod("REFOCUS_" + method.name()).invoke(null);
            assertEquals(header, method.nativeCode(), method.name());
            assertTrue(codes.add(header), "two methods share code " + header);
        }
        assertEquals(RefocusCommonNative.REFOCUS_METHOD_COUNT(), Method.values().length,
            "common.h declares another number of methods than dev.refocus.Method");
    }

    @Test
    void shouldLoadTheLibraryItsBindingsWereWrittenFor()
    {
        assertEquals(RefocusCommonNative.REFOCUS_VERSION_NUMBER(), RefocusCommonNative.VERSION_NUMBER,
            "common.h's REFOCUS_VERSION_NUMBER changed: update RefocusCommonNative.VERSION_NUMBER");
        assertEquals(RefocusCommonNative.VERSION_NUMBER, RefocusCommonNative.refocus_version_number());
    }

    @Test
    void shouldReadErrorCodesThatTheLibraryRecognises()
    {
        assertEquals(1, RefocusCommonNative.refocus_is_error(RefocusCommonNative.REFOCUS_ERROR_ARGUMENT));
        assertEquals(1, RefocusCommonNative.refocus_is_error(RefocusCommonNative.REFOCUS_ERROR_NAN));
        assertEquals(1, RefocusCommonNative.refocus_is_error(RefocusCommonNative.REFOCUS_ERROR_CUDA));
        assertEquals(0, RefocusCommonNative.refocus_is_error(0));
        assertTrue(RefocusCommonNative.refocus_error_name(RefocusCommonNative.REFOCUS_ERROR_NAN).contains("NaN"));
    }
}
