package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.PollCalls;
import dev.ioqueue.internal.poll.Interest;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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
        if (q != null && q.completionIo()) return LoopWait.await(q, fd, owned, kind, timeoutNanos);
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
            if (events == 0 || (q != null && q.completionIo())) return events;
            int now = lastLook(fd, owned, kind);
            if (now != 0) return now;
            if (timeoutNanos > 0 && (timeoutNanos = deadline - System.nanoTime()) <= 0) return 0;
        }
    }

    /**
     * {@link #readyNow} of {@code fd}, holding {@code owned} (if not null) so it is not closed under
     * the call. A handle bound to an io_uring queue is also readable when that queue's ring keeps
     * bytes it read ahead for it, which {@code poll(2)} cannot see: its queue is asked (on its
     * thread, so the answer waits for its loop to run).
     */
    public static int lastLook(int fd, OwnedFd owned, int kind) throws IOException {
        if (owned == null) return readyNow(fd, kind);
        int events;
        if (!owned.acquire()) throw closed(fd);
        try {
            events = readyNow(fd, kind);
        } finally {
            owned.release();
        }
        QueueCore q = owned.queue();
        if (kind == Interest.READ && (events & Interest.READ_BIT) == 0 && q != null && q.completionIo() && ringKeeps(q, owned)) {
            events |= Interest.READ_BIT;
        }
        return events;
    }

    /** {@link QueueCore#keepsReadable}, asked on {@code q}'s thread; false if it can no longer answer (closed, or its thread ended). */
    private static boolean ringKeeps(QueueCore q, OwnedFd owned) {
        if (q.ownership.isOwner()) return q.keepsReadable(owned);
        CompletableFuture<Boolean> answer = new CompletableFuture<>();
        if (!q.runOnOwner(() -> answer.complete(q.keepsReadable(owned)))) return false;
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return answer.get(OperationWait.ORPHAN_CHECK_NANOS, TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    if (q.ownerEnded()) return false;
                } catch (InterruptedException e) {
                    interrupted = true; // a look is not a wait: it ends, and the status stays set
                } catch (ExecutionException e) {
                    return false; // its close took the handle meanwhile
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
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

    /** A wait on an owned fd that closed before or while it waited. */
    static IOException closed(int fd) {
        return Errors.dropped(fd, "the fd was closed (its Handle, or the plain fd through the library)");
    }
}
