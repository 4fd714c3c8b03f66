package dev.ioqueue.internal.core;

import java.util.Arrays;

/**
 * The owned fds bound to one queue: added by the bind (any thread), removed once closed, all taken
 * by the queue's close, after which none can be added. Each knows its place ({@link OwnedFd#index})
 * so removal is constant time. Thread-safe (one lock; binds and closes are rare next to I/O).
 */
final class BoundFds {
    private final Object lock = new Object();
    private OwnedFd[] fds = new OwnedFd[16];
    private int count;
    private boolean closed;

    /**
     * Binds {@code o} to {@code queue} (this set's queue) and adds it, at once as far as the
     * queue's close can see; returns the queue it is bound to: {@code queue}, or the one that bound
     * it first.
     *
     * @throws IllegalStateException once the queue's close (or, its thread ended, the watchdog) took
     *     them all, or if {@code o} is closed
     */
    QueueCore bind(OwnedFd o, QueueCore queue) {
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException(o + " cannot be bound to the " + (queue.ownership.isClosed() ? "closed " + queue
                        : queue + ": that thread ended without closing it"));
            }
            if (!o.bindTo(queue)) return o.queue();
            if (!o.isOpen()) throw o.closedException(); // a close raced the bind, and closes the fd itself
            if (count == fds.length) fds = Arrays.copyOf(fds, count * 2);
            o.index = count;
            fds[count++] = o;
            return queue;
        }
    }

    /** Removes {@code o} if it is here. */
    void remove(OwnedFd o) {
        synchronized (lock) {
            int i = o.index;
            if (i < 0 || i >= count || fds[i] != o) return;
            OwnedFd last = fds[--count];
            fds[i] = last;
            last.index = i;
            fds[count] = null;
            o.index = -1;
        }
    }

    /** Whether one of them has the number {@code fd}. */
    boolean hasNumber(int fd) {
        synchronized (lock) {
            for (int i = 0; i < count; i++) if (fds[i].fd == fd) return true;
        }
        return false;
    }

    int count() {
        synchronized (lock) {
            return count;
        }
    }

    /**
     * Refuses every later {@link #bind} and returns the fds bound now, holding none of them after
     * (a Cleaner's action holds this set: it must not keep their queue reachable).
     */
    OwnedFd[] closeAndTake() {
        synchronized (lock) {
            closed = true;
            OwnedFd[] taken = Arrays.copyOf(fds, count);
            Arrays.fill(fds, 0, count, null);
            count = 0;
            return taken;
        }
    }
}
