package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Failures;
import java.util.Arrays;

/**
 * Waiters removed without running, to be told they were dropped once the queue's own state is
 * consistent again: collected first, told after, so a throwing {@code onDropped} can never leave
 * the queue half-updated or another waiter untold. Owner thread only; reused.
 */
final class Dropped {
    private final Waiters users;
    private int[] fds = new int[8];
    private Object[] waiters = new Object[8];
    private int size;

    Dropped(Waiters users) {
        this.users = users;
    }

    void add(int fd, Object waiter) {
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
            Object w = waiters[i];
            int fd = fds[i];
            waiters[i] = null;
            try {
                Waiters.dropped(users, w, fd);
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
