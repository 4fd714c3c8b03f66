package dev.ioqueue.benchmarks;

import dev.ioqueue.Backend;
import dev.ioqueue.Fds;
import dev.ioqueue.IoQueue;
import java.io.IOException;
import java.nio.channels.Pipe;
import java.nio.channels.Selector;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What a cold JVM pays for its first queue and its first fd, against NIO's first selector and pipe
 * (issue 21: median of 10 cold JVMs, on each backend, in the same run). Each sample is a fresh JVM
 * (this class's {@code main} with one of {@code nio}, {@code epoll}, {@code io_uring}) that times
 * {@code IoQueue.current()} plus {@code Fds.pipe()}, or {@code Selector.open()} plus
 * {@code Pipe.open()}, from {@code main}'s first line: the JVM's own boot is the same for both and
 * is not counted. The three kinds are interleaved, so a disturbance of the machine falls on all.
 */
public final class Startup {
    private Startup() {}

    /** In a fresh JVM: prints the microseconds its kind took. With {@code table [runs]}: runs the comparison. */
    public static void main(String[] args) throws IOException, InterruptedException {
        if (args.length > 0 && args[0].equals("table")) {
            table(args.length > 1 ? Integer.parseInt(args[1]) : 10);
            return;
        }
        long start = System.nanoTime();
        if (args[0].equals("nio")) {
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

    /** Prints the medians of {@code runs} cold JVMs per kind and the ratios against NIO. */
    static void table(int runs) throws IOException, InterruptedException {
        String[] kinds = {"nio", "epoll", "io_uring"};
        long[][] micros = new long[kinds.length][runs];
        String[] ran = new String[kinds.length];
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < kinds.length; k++) {
                String[] out = coldRun(kinds[k]).split(" ");
                micros[k][r] = Long.parseLong(out[1]);
                ran[k] = out[2];
            }
        }
        System.out.printf("%nStartup: first queue and first fd in a cold JVM (median of %d JVMs, interleaved; the JVM's boot not counted)%n", runs);
        System.out.println("| what | ran as | median ms | min–max ms | × NIO |");
        System.out.println("|---|---|---:|---:|---:|");
        double nio = median(micros[0]);
        for (int k = 0; k < kinds.length; k++) {
            long[] m = micros[k].clone();
            Arrays.sort(m);
            String what = k == 0 ? "Selector.open() + Pipe.open()" : "IoQueue.current() + Fds.pipe(), " + kinds[k];
            System.out.printf("| %s | %s | %.1f | %.1f–%.1f | %.2f |%n", what, ran[k], median(m) / 1000, m[0] / 1000.0, m[m.length - 1] / 1000.0, median(m) / nio);
        }
    }

    private static String coldRun(String kind) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(List.of(java.toString(), "--enable-native-access=ALL-UNNAMED", "-Xshare:auto"));
        if (!kind.equals("nio")) command.add("-D" + Backend.PROPERTY + "=" + kind);
        command.addAll(List.of("-cp", probeClassPath(), Startup.class.getName(), kind));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        if (p.waitFor() != 0 || !out.startsWith("micros ")) throw new IOException("startup probe " + kind + " failed: " + out);
        return out.lines().filter(l -> l.startsWith("micros ")).findFirst().orElseThrow();
    }

    /**
     * Only where this class and ioqueue-core come from, as a program that uses nothing else would
     * run: {@code Selector.open()} looks its provider up with a ServiceLoader, which opens every jar
     * of the class path, so the benchmarks' own class path (Netty, ktor, Kotlin...) made NIO's figure
     * ~60 ms instead of ~20 and flattered every ratio against it ~2.5-fold (found from outside).
     */
    static String probeClassPath() {
        try {
            return Path.of(Startup.class.getProtectionDomain().getCodeSource().getLocation().toURI()) + java.io.File.pathSeparator
                    + Path.of(IoQueue.class.getProtectionDomain().getCodeSource().getLocation().toURI());
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
