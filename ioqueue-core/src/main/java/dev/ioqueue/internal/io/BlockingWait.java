package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.PollCalls;
import dev.ioqueue.internal.poll.Interest;
import dev.ioqueue.internal.uring.RingStream;
import java.io.IOException;
import java.io.InterruptedIOException;

/**
 * Where a thread without a loop waits for an fd to be ready: on its own thread through a
 * {@link BlockingPoller} ({@link ParkedWait}), which any plain fd and any owned fd not bound to an
 * io_uring queue use; or, for an owned fd bound to an io_uring queue (whose ring keeps what it read
 * ahead of it), in that queue ({@link LoopWait}). No fd is bound to any queue by waiting here.
 * Thread-safe; the facade has refused calls from inside a loop.
 */
public final class BlockingWait {
    private BlockingWait() {}

    /**
     * Blocks until {@code fd} (of {@code owned}, or a plain fd if null) is ready for {@code kind}, at
     * most {@code timeoutNanos} (negative: no limit); returns the events (bits of {@link Interest}),
     * or what a last look finds once the time is up (often 0).
     *
     * @throws InterruptedIOException if the thread is interrupted before or while it waits (the
     *     interrupt status stays set, the waiter is withdrawn, the fd left open)
     * @throws IOException the API's dropped-wait exception if {@code owned} is closed meanwhile (or
     *     its queue dropped the wait), or the failure of {@code epoll_ctl} naming the fd and errno
     */
    public static int await(int fd, OwnedFd owned, int kind, long timeoutNanos) throws IOException {
        QueueCore q = owned == null ? null : owned.queue();
        if (q != null && q.ownerEnded()) throw OperationWait.orphaned(q, owned);
        if (q != null && q.completionIo()) {
            BlockingCalls.refuseOwnRing(q, owned);
            return LoopWait.await(q, fd, owned, kind, timeoutNanos);
        }
        return ParkedWait.await(fd, owned, kind, timeoutNanos);
    }

    /**
     * {@link #await}, for a caller told the events rather than one that retries its syscall
     * ({@code Fds.awaitReady}): a blocking poller's report of an fd number may come from the
     * number's earlier file (a waiter that gave up leaves at most one report behind, see
     * {@link BlockingPoller}), so the fd is looked at with {@code poll(2)}, and waited for again if
     * it is not ready now. A loop's wait (a handle bound to an io_uring loop) knows its own fds.
     */
    public static int awaitReported(int fd, OwnedFd owned, int kind, long timeoutNanos) throws IOException {
        long deadline = timeoutNanos > 0 ? System.nanoTime() + timeoutNanos : 0;
        while (true) {
            int events = await(fd, owned, kind, timeoutNanos);
            QueueCore q = owned == null ? null : owned.queue();
            if (events == 0) return events;
            if (q != null && q.completionIo()) return events | extras(fd, owned, kind);
            int now = lastLook(fd, owned, kind);
            if (now != 0) return now;
            if (timeoutNanos > 0 && (timeoutNanos = deadline - System.nanoTime()) <= 0) return 0;
        }
    }

    /**
     * {@link #readyNow} of {@code fd}, holding {@code owned} (if not null) so it is not closed under
     * the call. A handle whose io_uring queue's ring kept bytes it read ahead for it is readable
     * too, though {@code poll(2)} cannot see them ({@link OwnedFd#ringKeepsReadable}).
     */
    public static int lastLook(int fd, OwnedFd owned, int kind) throws IOException {
        if (owned == null) return readyNowChecked(fd, kind);
        int events;
        if (!owned.acquire()) throw closed(fd, owned);
        try {
            events = readyNowChecked(fd, kind);
        } finally {
            owned.release();
        }
        if (kind == Interest.READ && (events & Interest.READ_BIT) == 0 && ringKeeps(owned)) events |= Interest.READ_BIT;
        // An error the ring's read took (a reset) is no longer the fd's to report: reported as epoll would have.
        if ((owned.ringLookState() & RingStream.ERROR_BIT) != 0) events |= Interest.ERROR_BIT;
        return events;
    }

    /**
     * Whether {@code owned}'s ring keeps bytes for its next read. If it says no while a ring read
     * is armed and the fd shows nothing, the kernel may have taken bytes its queue has not reaped
     * yet (a moment inside the loop's own code): its queue is asked once, waiting at most
     * {@link #RING_LOOK_NANOS}, so a look neither misses bytes in that moment nor waits for a busy
     * or idle loop.
     */
    private static boolean ringKeeps(OwnedFd owned) {
        int state = owned.ringLookState();
        if ((state & RingStream.KEPT_BIT) != 0) return true;
        if ((state & RingStream.READING_BIT) == 0) return false;
        QueueCore q = owned.queue();
        if (q == null || q.ownership.isOwner()) return false;
        java.util.concurrent.CountDownLatch answered = new java.util.concurrent.CountDownLatch(1);
        if (q.runOnOwner(answered::countDown)) {
            try {
                answered.await(RING_LOOK_NANOS, java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // a look is not a wait: it ends, the status kept
            }
        }
        return (owned.ringLookState() & RingStream.KEPT_BIT) != 0;
    }

    /** How long a look waits at most for a ring's queue to reap what its kernel may have taken. */
    private static final long RING_LOOK_NANOS = 2_000_000L;

    /**
     * The ERROR and HANGUP a look finds now, for a wait its io_uring queue ended (kept bytes wake it
     * with READ alone): reported as epoll's wait reports them after a peer's reset; none if the
     * handle closed meanwhile.
     */
    private static int extras(int fd, OwnedFd owned, int kind) {
        try {
            return lastLook(fd, owned, kind) & (Interest.ERROR_BIT | Interest.HANGUP_BIT);
        } catch (IOException closedMeanwhile) {
            return 0;
        }
    }

    /** {@link #readyNow} for a blocking call: a failed {@code poll} (EBADF: not open) is its {@link IOException}, as a wait's. */
    static int readyNowChecked(int fd, int kind) throws IOException {
        try {
            return readyNow(fd, kind);
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** What {@code poll(2)} with a zero timeout says of {@code fd} for {@code kind}, as bits of {@code Interest}. */
    public static int readyNow(int fd, int kind) {
        int wanted = switch (kind) {
            case Interest.READ -> PollCalls.POLLIN;
            case Interest.WRITE -> PollCalls.POLLOUT;
            default -> PollCalls.POLLPRI;
        };
        while (true) {
            int r = PollCalls.readyNow(fd, wanted, Native.threadErrno());
            if (r == -Errno.EINTR) continue;
            if (r < 0) throw Errors.syscall("poll", fd, -r);
            if ((r & PollCalls.POLLNVAL) != 0) throw Errors.syscall("poll", fd, Errno.EBADF, "not open");
            int mask = 0;
            if ((r & PollCalls.POLLIN) != 0) mask |= Interest.READ_BIT;
            if ((r & PollCalls.POLLOUT) != 0) mask |= Interest.WRITE_BIT;
            if ((r & PollCalls.POLLPRI) != 0) mask |= Interest.PRIORITY_BIT;
            if ((r & PollCalls.POLLERR) != 0) mask |= Interest.ERROR_BIT;
            if ((r & PollCalls.POLLHUP) != 0) mask |= Interest.HANGUP_BIT;
            return mask;
        }
    }

    static InterruptedIOException interrupted(int fd) {
        return new InterruptedIOException("the wait on fd " + fd + " was interrupted");
    }

    /**
     * {@code e}, thrown by one step of a full read or write, made to say that {@code moved} bytes
     * had moved before it in the call ({@link InterruptedIOException#bytesTransferred}, as the JDK
     * defines it), so a caller whose buffer does not show it (an array) knows what went.
     */
    public static InterruptedIOException movedBefore(InterruptedIOException e, int moved) {
        e.bytesTransferred = moved;
        return e;
    }

    /**
     * A wait on an owned fd that closed before or while it waited: by its owner, or (its queue's
     * thread having ended without closing the queue) by the watchdog or Cleaner, which the
     * message then says, as a wait in that queue does.
     */
    static IOException closed(int fd, OwnedFd owned) {
        QueueCore q = owned == null ? null : owned.queue();
        if (q != null && q.ownerEnded()) return OperationWait.orphaned(q, owned);
        return Errors.dropped(fd, "the fd was closed (its Handle, or the plain fd through the library)");
    }
}
