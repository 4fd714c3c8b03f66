package dev.ioqueue.benchmarks;

import dev.ioqueue.Event;
import dev.ioqueue.Fds;
import dev.ioqueue.IoQueue;
import dev.ioqueue.ReadyCallback;
import dev.ioqueue.ReadyEvent;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Set;

/**
 * The ring on ioqueue's Java API: one {@link ReadyCallback} object per pipe, which reads the
 * byte, writes it to the next pipe and waits again. Nothing is allocated per hop.
 */
final class CallbackRing {
    private CallbackRing() {}

    /** Runs the ring on the calling thread; returns hops per second. */
    static double run(int n, int tokens, long hops, int idle, boolean persist) {
        IoQueue queue = IoQueue.current();
        Fds.Pipe[] pipes = new Fds.Pipe[n];
        Fds.Pipe[] idlePipes = new Fds.Pipe[idle];
        try (Arena arena = Arena.ofConfined()) {
            for (int i = 0; i < n; i++) pipes[i] = Fds.pipe();
            ReadyCallback never = (fd, events) -> { throw new AssertionError("an idle pipe became ready"); };
            for (int i = 0; i < idle; i++) {
                idlePipes[i] = Fds.pipe();
                queue.await(idlePipes[i].readFd(), ReadyEvent.READ, never);
            }
            MemorySegment buffer = arena.allocate(1);
            long[] done = {0};
            long[] end = {0};
            for (int i = 0; i < n; i++) {
                int next = pipes[(i + 1) % n].writeFd();
                ReadyCallback hop = new ReadyCallback() {
                    @Override
                    public void onReady(int fd, Set<Event> events) {
                        if (Fds.read(fd, buffer) == 1) {
                            Fds.write(next, buffer);
                            if (++done[0] == hops) end[0] = System.nanoTime();
                        }
                        queue.await(fd, ReadyEvent.READ, this);
                    }
                };
                if (persist) queue.persist(pipes[i].readFd());
                queue.await(pipes[i].readFd(), ReadyEvent.READ, hop);
            }
            buffer.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 1);
            for (int k = 0; k < tokens; k++) Fds.write(pipes[(int) ((long) k * n / tokens)].writeFd(), buffer);
            long start = System.nanoTime();
            while (done[0] < hops) queue.runOnce(null);
            return done[0] / ((end[0] - start) / 1e9);
        } finally {
            for (Fds.Pipe p : pipes) if (p != null) p.close();
            for (Fds.Pipe p : idlePipes) if (p != null) p.close();
        }
    }
}
