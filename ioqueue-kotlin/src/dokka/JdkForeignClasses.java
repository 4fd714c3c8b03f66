import java.net.URI;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

/**
 * Copies the JDK's own java.lang.foreign classes (final since Java 22) out of the JDK that runs it
 * into the directory named by its argument. Dokka analyses the sources inside Maven's JVM, which
 * may be a JDK 17 without them; with this directory on its class path it resolves MemorySegment
 * instead of printing "ERROR CLASS" in the signatures. Run with the build's JDK 25 toolchain.
 */
public class JdkForeignClasses {
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]).resolve("java/lang/foreign");
        Files.createDirectories(out);
        Path source = FileSystems.getFileSystem(URI.create("jrt:/")).getPath("/modules/java.base/java/lang/foreign");
        try (Stream<Path> classes = Files.list(source)) {
            for (Path p : (Iterable<Path>) classes::iterator) {
                Files.copy(p, out.resolve(p.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
