package dev.refocus;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The core's module descriptor, as compiled: the API packages exported, the internals not, the bindings opened to
 * JavaCPP alone, and nothing required but JavaCPP and JDK modules. (The tests themselves run on the class path.)
 */
class ModuleDescriptorTest
{
    @Test
    void shouldExportTheApiAndOpenOnlyTheBindingsToJavacpp() throws IOException, URISyntaxException
    {
        // the descriptor beside the core's classes (target/classes), not the first one on the class path
        final Path classes = Path.of(Predictor.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        final ModuleDescriptor module;
        try (InputStream in = Files.newInputStream(classes.resolve("module-info.class")))
        {
            module = ModuleDescriptor.read(in);
        }
        assertEquals("dev.refocus", module.name());

        final Map<String, Set<String>> exports = new TreeMap<>();
        module.exports().forEach(e -> exports.put(e.source(), new TreeSet<>(e.targets())));
        assertEquals(Map.of("dev.refocus", Set.of(), "dev.refocus.cpu", Set.of(), "dev.refocus.cuda", Set.of(),
            "dev.refocus.reference", Set.of()),
            exports, "exports (a target set names a qualified export)");

        final Map<String, Set<String>> opens = new TreeMap<>();
        module.opens().forEach(o -> opens.put(o.source(), new TreeSet<>(o.targets())));
        assertEquals(Map.of("dev.refocus.internal.bindings", Set.of("org.bytedeco.javacpp"),
            "dev.refocus.internal.bindings.cuda", Set.of("org.bytedeco.javacpp")), opens);

        final Set<String> requires = new TreeSet<>();
        module.requires().forEach(r -> requires.add(r.name()));
        assertEquals(Set.of("java.base", "java.management", "org.bytedeco.javacpp"), requires); // JMX: a JDK module
    }
}
