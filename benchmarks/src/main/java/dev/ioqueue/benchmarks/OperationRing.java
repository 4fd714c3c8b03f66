package dev.ioqueue.benchmarks;

import dev.ioqueue.Fds;
import dev.ioqueue.Handle;
import dev.ioqueue.IoOperation;
import dev.ioqueue.IoQueue;
import java.nio.ByteBuffer;

/**
 * The ring written with the I/O helpers: per pipe, one reusable read {@link IoOperation} and one
 * write-all operation of what it read, chained by their completions. No EAGAIN handling, nothing
 * allocated per hop. Each byte moved one pipe on is a hop, as in the raw ring. The pipes' fds are
 * owned by {@link Handle}s, bound to the queue by their first operation, so an io_uring queue reads
 * and writes them with the ring (fixed files; a plain fd would wait for readiness and make its own
 * syscall); the handles' close closes them.
 */
final class OperationRing {
    private OperationRing() {}

    /** Runs the ring on the calling thread, reading into {@code bufferSize} bytes; returns hops per second. */
    static double run(int n, int tokens, long hops, int bufferSize) {
        IoQueue queue = IoQueue.current();
        Handle[] reads = new Handle[n];
        Handle[] writes = new Handle[n];
        try {
            for (int i = 0; i < n; i++) {
                Fds.Pipe pipe = Fds.pipe();
                reads[i] = Handle.of(pipe.readFd());
                writes[i] = Handle.of(pipe.writeFd());
            }
            long[] done = {0};
            long[] end = {0};
            for (int i = 0; i < n; i++) {
                Handle in = reads[i];
                Handle next = writes[(i + 1) % n];
                ByteBuffer buffer = ByteBuffer.allocateDirect(bufferSize);
                IoOperation[] ops = new IoOperation[2];
                ops[0] = IoOperation.read(buffer, (f, count) -> {
                    buffer.flip();
                    queue.submit(next, ops[1]);
                    if ((done[0] += count) >= hops && end[0] == 0) end[0] = System.nanoTime();
                });
                ops[1] = IoOperation.writeFully(buffer, (f, count) -> {
                    buffer.clear();
                    queue.submit(in, ops[0]);
                });
                queue.submit(in, ops[0]);
            }
            ByteBuffer one = ByteBuffer.allocateDirect(1).put(0, (byte) 1);
            for (int k = 0; k < tokens; k++) Fds.write(writes[(int) ((long) k * n / tokens)].fd(), one.clear());
            long start = System.nanoTime();
            while (done[0] < hops) queue.runOnce(null);
            return done[0] / ((end[0] - start) / 1e9);
        } finally {
            for (Handle h : reads) if (h != null) h.close();
            for (Handle h : writes) if (h != null) h.close();
        }
    }
}
