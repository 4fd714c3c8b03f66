package dev.ioqueue;

/**
 * An fd was closed behind the back of a queue that waited on it. A programming error, not meant to
 * be caught: own fds with a {@link Handle} (its close is exact from any thread), or close a plain
 * fd through {@link Fds#close(int)} on the thread of the queue that uses it, or after
 * {@link IoQueue#unregister(int)} (mio's rule).
 *
 * <p>The queue notices where the kernel tells it: a failed {@code epoll_ctl} when the number is
 * waited on again or unregistered, or an event for a registration it no longer knows. The dead
 * waiters are dropped (they could never run) and the queue keeps working.
 */
public final class PrematureCloseError extends Error {
    /** The fd that was closed. */
    private final int fd;

    /**
     * @param fd the fd found closed
     * @param detail where and how the queue found it
     */
    public PrematureCloseError(int fd, String detail) {
        super("fd " + fd + " was closed while a waiter waited on it (close it through Handle, Fds.close, or after unregister): " + detail);
        this.fd = fd;
    }

    /** The fd that was closed. */
    public int fd() {
        return fd;
    }
}
