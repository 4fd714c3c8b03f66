package dev.ioqueue.apidump;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ioqueue.IoQueue;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The public API of ioqueue-core (the exported package {@code dev.ioqueue}: its public types and
 * their public and protected members), dumped by reflection and compared with the checked-in
 * {@code api/ioqueue-core.api}, so that a change to it is deliberate. After a deliberate change:
 * {@code ./mvnw -pl ioqueue-core test -Dtest=PublicApiDumpTest -Dioqueue.api.update=true}, and
 * commit the file with the change.
 */
class PublicApiDumpTest {
    private static final Path DUMP = Path.of("api", "ioqueue-core.api");

    @Test
    void publicApiMatchesTheCheckedInDump() throws IOException, URISyntaxException, ClassNotFoundException {
        String actual = dump();
        if (Boolean.getBoolean("ioqueue.api.update")) {
            Files.createDirectories(DUMP.getParent());
            Files.writeString(DUMP, actual);
        }
        String expected = Files.exists(DUMP) ? Files.readString(DUMP) : "(no " + DUMP + " yet)\n";
        assertEquals(expected, actual, "the public API of ioqueue-core changed; if that is deliberate, regenerate " + DUMP
                + " with -Dioqueue.api.update=true and commit it");
    }

    static String dump() throws IOException, URISyntaxException, ClassNotFoundException {
        Path classes = Path.of(IoQueue.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path pkg = classes.resolve("dev/ioqueue");
        List<String> names = new ArrayList<>();
        try (Stream<Path> files = Files.list(pkg)) {
            files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".class")).sorted().forEach(names::add);
        }
        StringBuilder out = new StringBuilder();
        for (String file : names) {
            Class<?> c = Class.forName("dev.ioqueue." + file.substring(0, file.length() - ".class".length()), false,
                    PublicApiDumpTest.class.getClassLoader());
            if (!isVisible(c)) continue;
            out.append(describe(c)).append('\n');
            List<String> members = new ArrayList<>();
            for (Constructor<?> k : c.getDeclaredConstructors()) {
                if (visible(k.getModifiers(), c) && !k.isSynthetic()) members.add(k.toGenericString());
            }
            for (Method m : c.getDeclaredMethods()) {
                if (visible(m.getModifiers(), c) && !m.isSynthetic() && !m.isBridge()) members.add(m.toGenericString());
            }
            for (Field f : c.getDeclaredFields()) {
                if (visible(f.getModifiers(), c) && !f.isSynthetic()) members.add(f.toGenericString());
            }
            members.stream().sorted().forEach(m -> out.append("    ").append(m).append('\n'));
        }
        return out.toString();
    }

    /** Public, and (for a nested type) every enclosing type public too. */
    private static boolean isVisible(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getDeclaringClass()) {
            if (!Modifier.isPublic(k.getModifiers()) || k.isAnonymousClass() || k.isSynthetic()) return false;
        }
        return true;
    }

    /** Public, or protected in a class that can be extended. */
    private static boolean visible(int modifiers, Class<?> owner) {
        if (Modifier.isPublic(modifiers)) return true;
        return Modifier.isProtected(modifiers) && !Modifier.isFinal(owner.getModifiers());
    }

    private static String describe(Class<?> c) {
        StringBuilder b = new StringBuilder(c.toGenericString());
        if (c.getGenericSuperclass() != null && c.getSuperclass() != Object.class && !c.isEnum() && !c.isRecord()) {
            b.append(" extends ").append(c.getGenericSuperclass().getTypeName());
        }
        var interfaces = c.getGenericInterfaces();
        if (interfaces.length > 0) {
            b.append(c.isInterface() ? " extends " : " implements ");
            for (int i = 0; i < interfaces.length; i++) b.append(i == 0 ? "" : ", ").append(interfaces[i].getTypeName());
        }
        if (c.isSealed()) {
            b.append(" permits ");
            var permitted = c.getPermittedSubclasses();
            for (int i = 0; i < permitted.length; i++) b.append(i == 0 ? "" : ", ").append(permitted[i].getName());
        }
        return b.toString();
    }
}
