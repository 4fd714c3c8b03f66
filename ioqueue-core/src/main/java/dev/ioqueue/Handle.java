package dev.ioqueue;

import dev.ioqueue.internal.HandleFds;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Owns one fd and closes it exactly once: {@link #close()} unregisters the fd from the calling
 * thread's queue (its waiters never run), then closes it. Thread-safe; close it on the thread whose
 * queue waits on it, since another thread's queue is not told.
 */
public final class Handle implements AutoCloseable {
    private final int fd;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Handle(int fd) {
        this.fd = fd;
    }

    /**
     * Takes ownership of {@code fd}.
     *
     * @throws IllegalArgumentException if {@code fd} is negative
     */
    public static Handle of(int fd) {
        if (fd < 0) throw new IllegalArgumentException("fd " + fd + " is negative");
        HandleFds.add(fd); // its close goes through the library: an io_uring queue may fix its file
        return new Handle(fd);
    }

    /**
     * The fd.
     *
     * @throws IllegalStateException once closed
     */
    public int fd() {
        if (closed.get()) throw new IllegalStateException("handle of fd " + fd + " is closed");
        return fd;
    }

    /** Whether {@link #close()} has not been called. */
    public boolean isOpen() {
        return !closed.get();
    }

    /**
     * Unregisters the fd from the calling thread's queue, if it has one, then closes it; later
     * calls do nothing. The fd is closed even if a dropped waiter's {@code onDropped} throws; that
     * throwable then propagates (see {@link Fds#close(int)}).
     *
     * @throws SyscallException if {@code close(2)} fails (EBADF: someone else closed the fd)
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        Fds.close(fd);
    }

    @Override
    public String toString() {
        return "Handle[fd " + fd + (closed.get() ? ", closed]" : "]");
    }
}
