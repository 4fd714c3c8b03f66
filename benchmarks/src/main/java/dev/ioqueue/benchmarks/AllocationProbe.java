package dev.ioqueue.benchmarks;

import dev.ioqueue.Backend;
import dev.ioqueue.Fds;
import dev.ioqueue.Handle;
import dev.ioqueue.IoOperation;
import dev.ioqueue.IoQueue;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Bytes the loop thread allocates per hop of the helper ring with reused operations (issue 21: 0
 * in each of 5 fresh JVMs per backend). Each sample is a fresh JVM, so each is its own JIT's
 * compilation: an allocation that C2 removes only in some compilations shows in some samples.
 * The ring is {@link OperationRing}'s (a reusable read and write-all {@link IoOperation} per
 * pipe, owned by {@link Handle}s, direct buffers); after a warm-up, the least over windows of
 * 50,000 hops.
 */
public final class AllocationProbe {
    private static final int WINDOW = 50_000;

    private AllocationProbe() {}

    /** In a fresh JVM: prints the bytes per hop. With {@code table [jvms]}: runs the comparison. */
    public static void main(String[] args) throws IOException, InterruptedException {
        if (args.length > 0 && args[0].equals("table")) {
            table(args.length > 1 ? Integer.parseInt(args[1]) : 5);
            return;
        }
        System.out.println("bytes/hop " + bytesPerHop(Integer.parseInt(args[0])));
    }

    static double bytesPerHop(int n) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        IoQueue queue = IoQueue.current();
        Handle[] reads = new Handle[n];
        Handle[] writes = new Handle[n];
        long[] done = {0};
        try {
            for (int i = 0; i < n; i++) {
                Fds.Pipe p = Fds.pipe();
                reads[i] = Handle.of(p.readFd());
                writes[i] = Handle.of(p.writeFd());
            }
            for (int i = 0; i < n; i++) {
                Handle in = reads[i];
                Handle next = writes[(i + 1) % n];
                ByteBuffer buffer = ByteBuffer.allocateDirect(64);
                IoOperation[] ops = new IoOperation[2];
                ops[0] = IoOperation.read(buffer, (f, count) -> {
                    buffer.flip();
                    queue.submit(next, ops[1]);
                    done[0] += count;
                });
                ops[1] = IoOperation.writeFully(buffer, (f, count) -> {
                    buffer.clear();
                    queue.submit(in, ops[0]);
                });
                queue.submit(in, ops[0]);
            }
            Fds.write(writes[0].fd(), ByteBuffer.allocateDirect(1));
            long least = Long.MAX_VALUE;
            for (int w = 0; w < 30; w++) {
                long start = done[0];
                long before = threads.getCurrentThreadAllocatedBytes();
                while (done[0] - start < WINDOW) queue.runOnce(null);
                long allocated = threads.getCurrentThreadAllocatedBytes() - before;
                if (w >= 10) least = Math.min(least, allocated); // the first windows warm the JIT
            }
            return (double) least / WINDOW;
        } finally {
            for (Handle h : reads) if (h != null) h.close();
            for (Handle h : writes) if (h != null) h.close();
        }
    }

    /** Prints bytes per hop in {@code jvms} fresh JVMs per backend. */
    static void table(int jvms) throws IOException, InterruptedException {
        System.out.printf("%nAllocation: bytes the loop allocates per hop, helper ring (N=2, reused operations), %d fresh JVMs per backend%n", jvms);
        System.out.println("| backend | bytes per hop, each JVM | JVMs at 0 |");
        System.out.println("|---|---|---:|");
        for (String backend : new String[] {"epoll", "io_uring"}) {
            List<String> each = new ArrayList<>();
            int zero = 0;
            for (int j = 0; j < jvms; j++) {
                double b = Double.parseDouble(coldRun(backend));
                each.add(String.format("%.1f", b));
                if (b == 0) zero++;
            }
            System.out.printf("| %s | %s | %d of %d |%n", backend, String.join(", ", each), zero, jvms);
        }
    }

    private static String coldRun(String backend) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = List.of(java.toString(), "--enable-native-access=ALL-UNNAMED", "-D" + Backend.PROPERTY + "=" + backend,
                "-Ddev.ioqueue.heldLoopMillis=0", "-cp", System.getProperty("java.class.path"), AllocationProbe.class.getName(), "2");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        if (p.waitFor() != 0) throw new IOException("allocation probe on " + backend + " failed: " + out);
        return out.lines().filter(l -> l.startsWith("bytes/hop ")).findFirst()
                .orElseThrow(() -> new IOException("allocation probe on " + backend + ": " + out)).substring("bytes/hop ".length());
    }
}
