package dev.ioqueue.benchmarks;

import dev.ioqueue.Backend;
import dev.ioqueue.Fds;
import dev.ioqueue.IoQueue;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Pipe;
import java.nio.channels.Selector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

/**
 * What a cold JVM pays for its first queue and its first fd, against NIO's first selector and pipe
 * (issue 21: median of 10 cold JVMs, on each backend, in the same run). Each sample is a fresh JVM
 * (this class's {@code main} with one of {@code nio}, {@code epoll}, {@code io_uring}) that times
 * {@code IoQueue.current()} plus {@code Fds.pipe()}, or {@code Selector.open()} plus
 * {@code Pipe.open()}, from {@code main}'s first line: the JVM's own boot is the same for both and
 * is not counted. Beside them, the floor of any FFM program ({@link StartupFloor}: the same
 * syscalls and call shapes an epoll queue's start needs, nothing else), so each figure is also a
 * fraction of what the JVM can do here. The kinds are interleaved, so a disturbance of the machine
 * falls on all; then all again with the JDK's AOT cache.
 */
public final class Startup {
    private Startup() {}

    /**
     * In a fresh JVM: prints the microseconds its kind ({@code nio}, {@code epoll}, {@code io_uring},
     * or {@code noop}: nothing) took. With {@code table [runs]}: runs the comparison.
     */
    public static void main(String[] args) throws IOException, InterruptedException {
        if (args.length > 0 && args[0].equals("table")) {
            table(args.length > 1 ? Integer.parseInt(args[1]) : 10);
            return;
        }
        long start = System.nanoTime();
        if (args[0].equals("noop")) { // the baseline of the whole-JVM column: a JVM that does nothing
            System.out.println("micros 0 noop");
        } else if (args[0].equals("nio")) {
            try (Selector selector = Selector.open()) {
                Pipe pipe = Pipe.open();
                long took = System.nanoTime() - start;
                pipe.source().close();
                pipe.sink().close();
                System.out.println("micros " + took / 1000 + " " + selector.provider().getClass().getSimpleName());
            }
        } else {
            IoQueue queue = IoQueue.current();
            try (Fds.Pipe pipe = Fds.pipe()) {
                long took = System.nanoTime() - start;
                System.out.println("micros " + took / 1000 + " " + queue.backend());
            }
        }
    }

    /**
     * Prints the medians of {@code runs} cold JVMs per kind, with ratios against NIO and against the
     * FFM floor ({@link StartupFloor}); then the same with the JDK's AOT cache, one cache per kind
     * made by a training run of that kind.
     */
    static void table(int runs) throws IOException, InterruptedException {
        boolean floor = System.getProperty("os.arch").equals("amd64"); // StartupFloor's syscall numbers
        List<String> kinds = new ArrayList<>(List.of("noop", "nio", "epoll", "io_uring"));
        if (floor) kinds.add(2, "floor");
        Path jars = Files.createTempDirectory("ioqueue-startup");
        try {
            String classPath = probeJars(jars);
            System.out.printf("%nStartup: first queue and first fd in a cold JVM (median of %d JVMs, interleaved). From main: timed from main's first"
                    + " line; whole JVM: the child process from start to exit, less a JVM that does nothing (the same options)%n", runs);
            if (!floor) System.out.println("(no FFM floor row: StartupFloor knows x86-64's syscall numbers only)");
            rows(kinds, runs, classPath, kind -> List.of());
            for (String kind : kinds) coldRun(kind, classPath, List.of("-XX:AOTCacheOutput=" + jars.resolve(kind + ".aot")));
            System.out.printf("%nThe same with the JDK's AOT cache (one per kind, from a training run of it: java -XX:AOTCacheOutput=...;"
                    + " -XX:AOTMode=on, so a cache the JVM cannot use fails the run). The cache loads and links classes before main:"
                    + " the whole-JVM column counts that, the from-main column does not%n");
            rows(kinds, runs, classPath, kind -> List.of("-XX:AOTMode=on", "-XX:AOTCache=" + jars.resolve(kind + ".aot")));
        } finally {
            try (var files = Files.list(jars)) {
                for (Path f : files.toList()) Files.delete(f);
            }
            Files.delete(jars);
        }
    }

    private static void rows(List<String> kinds, int runs, String classPath, java.util.function.Function<String, List<String>> options)
            throws IOException, InterruptedException {
        long[][] micros = new long[kinds.size()][runs];
        long[][] whole = new long[kinds.size()][runs];
        String[] ran = new String[kinds.size()];
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < kinds.size(); k++) {
                String[] out = coldRun(kinds.get(k), classPath, options.apply(kinds.get(k))).split(" ");
                micros[k][r] = Long.parseLong(out[1]);
                ran[k] = out[2];
                whole[k][r] = Long.parseLong(out[3]);
            }
        }
        System.out.println("| what | ran as | from main, median ms | min–max ms | × NIO | × FFM floor | whole JVM − no-op JVM, median ms | × NIO |");
        System.out.println("|---|---|---:|---:|---:|---:|---:|---:|");
        double noop = median(whole[kinds.indexOf("noop")]);
        int nioAt = kinds.indexOf("nio");
        double nio = median(micros[nioAt]);
        double nioWhole = median(whole[nioAt]) - noop;
        int floorAt = kinds.indexOf("floor");
        double floor = floorAt < 0 ? Double.NaN : median(micros[floorAt]);
        for (int k = 0; k < kinds.size(); k++) {
            String kind = kinds.get(k);
            if (kind.equals("noop")) continue;
            long[] m = micros[k].clone();
            Arrays.sort(m);
            String what = switch (kind) {
                case "nio" -> "Selector.open() + Pipe.open()";
                case "floor" -> "FFM floor: epoll fd, eventfd, epoll_ctl, pipe (StartupFloor)";
                default -> "IoQueue.current() + Fds.pipe(), " + kind;
            };
            String overFloor = kind.equals("nio") || kind.equals("floor") || floorAt < 0 ? "–" : String.format("%.2f", median(m) / floor);
            double added = median(whole[k]) - noop;
            System.out.printf("| %s | %s | %.1f | %.1f–%.1f | %.2f | %s | %.1f | %.2f |%n", what, ran[k], median(m) / 1000, m[0] / 1000.0,
                    m[m.length - 1] / 1000.0, median(m) / nio, overFloor, added / 1000, added / nioWhole);
        }
        System.out.printf("(a no-op JVM: %.1f ms from start to exit)%n", noop / 1000);
    }

    private static String coldRun(String kind, String classPath, List<String> options) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(List.of(java.toString(), "--enable-native-access=ALL-UNNAMED"));
        command.addAll(options);
        if (kind.equals("epoll") || kind.equals("io_uring")) command.add("-D" + Backend.PROPERTY + "=" + kind);
        String main = kind.equals("floor") ? StartupFloor.class.getName() : Startup.class.getName();
        command.addAll(List.of("-cp", classPath, main, kind));
        long started = System.nanoTime();
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        int exit = p.waitFor();
        long wholeMicros = (System.nanoTime() - started) / 1000;
        if (exit != 0 || out.lines().noneMatch(l -> l.startsWith("micros "))) {
            throw new IOException("startup probe " + kind + " " + options + " failed: " + out);
        }
        return out.lines().filter(l -> l.startsWith("micros ")).findFirst().orElseThrow() + " " + wholeMicros;
    }

    /**
     * Two jars in {@code dir}: the probes (this class and {@link StartupFloor}) and ioqueue-core
     * (its jar as built, or its classes directory packed); jars, because the AOT cache takes no
     * directory. Only these, as a program that uses nothing else would run: {@code Selector.open()}
     * looks its provider up with a ServiceLoader, which opens every jar of the class path, so the
     * benchmarks' own class path (Netty, ktor, Kotlin...) made NIO's figure ~60 ms instead of ~20
     * and flattered every ratio against it ~2.5-fold (found from outside).
     */
    private static String probeJars(Path dir) throws IOException {
        Path probes = dir.resolve("probes.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(probes))) {
            for (Class<?> c : List.of(Startup.class, StartupFloor.class)) {
                String entry = c.getName().replace('.', '/') + ".class";
                out.putNextEntry(new JarEntry(entry));
                try (InputStream in = c.getClassLoader().getResourceAsStream(entry)) {
                    in.transferTo(out);
                }
            }
        }
        Path core = location(IoQueue.class);
        if (Files.isDirectory(core)) {
            Path packed = dir.resolve("ioqueue-core.jar");
            try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(packed)); var files = Files.walk(core)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    out.putNextEntry(new JarEntry(core.relativize(f).toString().replace(java.io.File.separatorChar, '/')));
                    Files.copy(f, out);
                }
            }
            core = packed;
        }
        return probes + java.io.File.pathSeparator + core;
    }

    private static Path location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double median(long[] values) {
        long[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2.0;
    }
}
