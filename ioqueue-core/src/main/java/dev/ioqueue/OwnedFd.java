package dev.ioqueue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The one fd a {@link TimerFd}, {@link EventFd}, {@link Inotify} or {@link PidFd} owns: refused
 * once closed (its number may already name another file), and closed exactly once through
 * {@link Fds#close}, so the calling thread's queue unregisters it first. Thread-safe.
 */
final class OwnedFd {
    private final String owner;
    private final int fd;
    private final Handle handle;

    /** Takes {@code fd}, just made on this thread, for the object {@code owner} names. */
    OwnedFd(String owner, int fd) {
        this.owner = owner;
        this.fd = Fds.opened(fd);
        this.handle = Handle.of(fd);
    }

    /** @throws IllegalStateException once closed */
    int fd() {
        if (!handle.isOpen()) throw new IllegalStateException(this + " is closed");
        return fd;
    }

    boolean isOpen() {
        return handle.isOpen();
    }

    void close() {
        handle.close();
    }

    /**
     * Reads the 8-byte count a timerfd or an eventfd hands out into {@code cell} (a heap segment of
     * one long, which the caller keeps to itself while this runs): the count, or 0 when none is
     * pending (EAGAIN).
     */
    long readCount(MemorySegment cell) {
        int n = Fds.read(fd(), cell);
        if (n == Fds.WOULD_BLOCK) return 0;
        if (n != Long.BYTES) throw new IllegalStateException(this + ": read " + n + " bytes of an 8-byte count");
        return cell.get(ValueLayout.JAVA_LONG, 0);
    }

    @Override
    public String toString() {
        return owner + "[fd " + fd + (handle.isOpen() ? "]" : ", closed]");
    }
}
