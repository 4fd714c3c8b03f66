package dev.ioqueue;

import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.io.FdWatch;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The one fd a {@link TimerFd}, {@link EventFd}, {@link Inotify} or {@link PidFd} owns, through a
 * {@link Handle}: refused once closed, closed exactly once from any thread, bound to the queue of
 * its first watch. Thread-safe.
 */
final class TypedFd {
    final Handle handle;

    /** Takes {@code fd}, just made, for the object {@code kind} names. */
    TypedFd(String kind, int fd) {
        this.handle = Handle.owning(fd, kind);
    }

    /** @throws IllegalStateException once closed */
    int fd() {
        return handle.fd();
    }

    /**
     * Holds the fd for one syscall on it and returns its number: a close from another thread waits
     * until {@link #release()} (the fd is closed then), so the number names this object's file
     * throughout, never one a concurrent close let the kernel hand out again. Pair with
     * {@link #release()} in a {@code finally}.
     *
     * @throws IllegalStateException once closed (or closing)
     */
    int acquire() {
        OwnedFd o = handle.owned;
        if (!o.acquire()) throw o.closedException();
        return o.fd;
    }

    /** Ends an {@link #acquire()}. */
    void release() {
        handle.owned.release();
    }

    /** {@code call} on the fd, held between {@link #acquire()} and {@link #release()} (for calls that allocate anyway). */
    int held(java.util.function.IntUnaryOperator call) {
        int fd = acquire();
        try {
            return call.applyAsInt(fd);
        } finally {
            release();
        }
    }

    boolean isOpen() {
        return handle.isOpen();
    }

    void close() {
        handle.close();
    }

    /** The owned fd, for a watch. */
    OwnedFd owned() {
        return handle.owned;
    }

    /** The queue a watch on {@code queue} runs in: the fd is bound to it (the first watch binds it). */
    QueueCore watchQueue(IoQueue queue) {
        queue.core.ownership.checkOpen("watch");
        QueueCore q = queue.core.bind(handle.owned);
        if (q != queue.core) {
            throw new IllegalStateException(handle + " belongs to the queue of thread " + q.ownership.ownerName()
                    + ": watch it there");
        }
        return q;
    }

    /** A started watch as the API's {@link Cancellable}. */
    static Cancellable started(FdWatch watch) {
        watch.start();
        return watch::cancel;
    }

    /**
     * Reads the 8-byte count a timerfd or an eventfd hands out into {@code cell} (a heap segment of
     * one long, which the caller keeps to itself while this runs): the count, or 0 when none is
     * pending (EAGAIN).
     */
    long readCount(MemorySegment cell) {
        int fd = acquire();
        int n;
        try {
            n = Fds.read(fd, cell);
        } finally {
            release();
        }
        if (n == Fds.WOULD_BLOCK) return 0;
        if (n != Long.BYTES) throw new IllegalStateException(this + ": read " + n + " bytes of an 8-byte count");
        return cell.get(ValueLayout.JAVA_LONG, 0);
    }

    @Override
    public String toString() {
        return handle.toString();
    }
}
