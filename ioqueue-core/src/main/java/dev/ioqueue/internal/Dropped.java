package dev.ioqueue.internal;

import dev.ioqueue.ReadyCallback;
import java.util.Arrays;

/**
 * Waiters removed without running, to be told through {@link ReadyCallback#onDropped} once the
 * queue's own state is consistent again: collected first, told after, so a throwing
 * {@code onDropped} can never leave the queue half-updated or another waiter untold. Owner thread
 * only; reused.
 */
final class Dropped {
    private int[] fds = new int[8];
    private ReadyCallback[] waiters = new ReadyCallback[8];
    private int size;

    void add(int fd, ReadyCallback waiter) {
        if (size == fds.length) {
            fds = Arrays.copyOf(fds, size * 2);
            waiters = Arrays.copyOf(waiters, size * 2);
        }
        fds[size] = fd;
        waiters[size++] = waiter;
    }

    boolean isEmpty() {
        return size == 0;
    }

    /**
     * Tells every collected waiter, each exactly once, even if some throw; returns {@code failure}
     * with what they threw added ({@link Failures#add}).
     */
    Throwable tell(Throwable failure) {
        while (size > 0) {
            int i = --size; // last first is fine: each is told once, none is skipped
            ReadyCallback w = waiters[i];
            int fd = fds[i];
            waiters[i] = null;
            try {
                w.onDropped(fd);
            } catch (Throwable t) {
                failure = Failures.add(failure, t);
            }
        }
        return failure;
    }

    /** {@link #tell} and rethrow what was thrown. */
    void tellAndRethrow() {
        Failures.rethrow(tell(null));
    }
}
