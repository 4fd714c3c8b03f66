package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.epoll.EpollPoller;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.uring.UringPoller;

/** Making a thread's queue on the backend asked for, and when {@link QueueCore#AUTO} falls back to epoll. */
public final class QueueOpening {
    private QueueOpening() {}

    /**
     * A queue for the calling thread on {@code backend}: {@link QueueCore#AUTO} takes io_uring where
     * the kernel and the process allow it, else epoll (the refusal logged with its errno: at INFO
     * the first time in the process, at DEBUG after). Its backend is logged at DEBUG (by the
     * watchdog thread, a moment later), and the watchdog watches its loop from now on.
     *
     * @throws RuntimeException the API's syscall exception if the backend cannot be set up
     * @throws IllegalArgumentException if the held-loop threshold property is not a whole number
     *     of milliseconds, 0 or more (read when the first queue is made)
     */
    public static QueueCore open(int backend, Waiters users) {
        Watchdog.checkThreshold(); // a mistyped property is refused before anything is made
        QueueCore q = make(backend, users);
        try {
            Watchdog.watch(q); // which also logs its backend at DEBUG
        } catch (RuntimeException | Error e) { // the threshold property changed since the check: refused, nothing kept
            q.close();
            throw e;
        }
        return q;
    }

    private static QueueCore make(int backend, Waiters users) {
        if (backend == QueueCore.EPOLL) return new QueueCore(new EpollPoller(), null, users);
        UringPoller ring;
        try {
            ring = UringPoller.open();
        } catch (RuntimeException refused) {
            if (backend == QueueCore.IO_URING || !fallsBack(refused)) throw refused;
            QueueEvents.ringRefused(refused);
            return new QueueCore(new EpollPoller(), null, users);
        }
        try {
            return new QueueCore(ring, ring, users);
        } catch (Throwable t) {
            ring.close();
            throw t;
        }
    }

    /**
     * Whether AUTO takes epoll after io_uring failed so: only where io_uring is missing or refused.
     * A size property mistyped (IllegalArgumentException) is the user's to fix, and fds or memory
     * running out (EMFILE, ENFILE, ENOMEM) would fail epoll too, or make a group of mixed backends.
     */
    private static boolean fallsBack(RuntimeException refused) {
        if (refused instanceof IllegalArgumentException) return false;
        int errno = Errors.errnoOf(refused);
        return errno != Errno.EMFILE && errno != Errno.ENFILE && errno != Errno.ENOMEM;
    }
}
