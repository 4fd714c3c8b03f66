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
 * owned by {@link Handle}s, so an io_uring queue uses them as fixed files.
 */
final class OperationRing {
    private OperationRing() {}

    /** Runs the ring on the calling thread, reading into {@code bufferSize} bytes; returns hops per second. */
    static double run(int n, int tokens, long hops, int bufferSize) {
        IoQueue queue = IoQueue.current();
        Fds.Pipe[] pipes = new Fds.Pipe[n];
        Handle[] handles = new Handle[2 * n];
        try {
            for (int i = 0; i < n; i++) {
                pipes[i] = Fds.pipe();
                handles[2 * i] = Handle.of(pipes[i].readFd());
                handles[2 * i + 1] = Handle.of(pipes[i].writeFd());
            }
            long[] done = {0};
            long[] end = {0};
            for (int i = 0; i < n; i++) {
                int fd = pipes[i].readFd();
                int next = pipes[(i + 1) % n].writeFd();
                ByteBuffer buffer = ByteBuffer.allocateDirect(bufferSize);
                IoOperation[] ops = new IoOperation[2];
                ops[0] = IoOperation.read(buffer, (f, count) -> {
                    buffer.flip();
                    queue.submit(next, ops[1]);
                    if ((done[0] += count) >= hops && end[0] == 0) end[0] = System.nanoTime();
                });
                ops[1] = IoOperation.writeFully(buffer, (f, count) -> {
                    buffer.clear();
                    queue.submit(fd, ops[0]);
                });
                queue.submit(fd, ops[0]);
            }
            ByteBuffer one = ByteBuffer.allocateDirect(1).put(0, (byte) 1);
            for (int k = 0; k < tokens; k++) Fds.write(pipes[(int) ((long) k * n / tokens)].writeFd(), one.clear());
            long start = System.nanoTime();
            while (done[0] < hops) queue.runOnce(null);
            return done[0] / ((end[0] - start) / 1e9);
        } finally {
            for (Handle h : handles) if (h != null) h.close();
        }
    }
}
