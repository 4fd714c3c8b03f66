package dev.ioqueue;

/**
 * An fd was closed while a waiter of this queue waited on it, behind the queue's back. A
 * programming error, not meant to be caught: close fds through {@link Handle#close()},
 * {@link Fds#close(int)}, or after {@link IoQueue#unregister(int)}.
 *
 * <p>The queue notices when the fd's number is waited on again, at {@code unregister}, or when its
 * registration is found stale while polling. The dead waiters are dropped (they could never run)
 * and the queue keeps working.
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
