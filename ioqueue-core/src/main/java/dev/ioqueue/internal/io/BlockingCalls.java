package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.core.NonBlocking;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.poll.Interest;
import dev.ioqueue.internal.poll.QueueFds;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;

/**
 * Blocking reads, writes and accepts for threads without a loop (virtual threads above all): the
 * syscall on the calling thread, and while it would block, a park until a blocking poller reports
 * the fd ready ({@link ParkedWait}; the thread arms the fd itself, no loop takes part). The rules
 * are the I/O operations': a spurious wake-up means another try; HANGUP or ERROR with nothing to do
 * ends a read with end-of-file and fails a write with EPIPE.
 *
 * <p>A plain fd is under mio's rule (close it only after the calls on it returned). An owned fd
 * cannot be closed under a syscall: the call holds it ({@link OwnedFd#acquire}) around each
 * syscall, the {@code epoll_ctl} that arms it included, and a close while the thread waits wakes it
 * with the dropped-wait exception. Waiting binds it to no queue. An owned fd bound to an io_uring
 * queue is read and written through that queue ({@link OperationWait}), since the bytes the ring
 * read ahead are kept there, in order; accepting needs no ring, so a listener waits as any other.
 *
 * <p>Thread-safe; the facade has refused calls from inside a loop and bad arguments.
 */
public final class BlockingCalls {
    /**
     * The last plain fd this thread found non-blocking, and the {@link NonBlocking#stamp} it was
     * found under: a thread that keeps using one fd checks it once, again after a close of that
     * number or a clearing of {@code O_NONBLOCK} through the library on any thread.
     */
    private static final ThreadLocal<long[]> CHECKED = ThreadLocal.withInitial(() -> new long[] {-1, 0});

    private BlockingCalls() {}

    // ---- plain fds ----

    /** Reads once into {@code dst}: the count, or -1 at end-of-file; blocks until data or end-of-file. */
    public static int read(int fd, ByteBuffer dst) throws IOException {
        checkNonBlocking(fd);
        int woke = 0;
        while (true) {
            int n = readOnce(fd, dst);
            if (n != FdIo.WOULD_BLOCK) return n;
            if (Interest.dead(woke) && deadNow(fd, Interest.READ)) return FdIo.EOF;
            woke = ParkedWait.await(fd, null, Interest.READ, -1);
        }
    }

    /** Writes once from {@code src}: the count, which may be short; blocks until something fits. */
    public static int write(int fd, ByteBuffer src) throws IOException {
        checkNonBlocking(fd);
        int woke = 0;
        while (true) {
            int n = writeOnce(fd, src);
            if (n != FdIo.WOULD_BLOCK) return n;
            if (Interest.dead(woke) && deadNow(fd, Interest.WRITE)) throw deadWrite(fd);
            woke = ParkedWait.await(fd, null, Interest.WRITE, -1);
        }
    }

    /** Accepts one connection: its non-blocking, close-on-exec fd. Several threads may wait on one listener. */
    public static int accept(int listenFd) throws IOException {
        checkNonBlocking(listenFd);
        while (true) {
            int fd = acceptOnce(listenFd);
            if (fd != FdIo.WOULD_BLOCK) return fd;
            ParkedWait.await(listenFd, null, Interest.READ, -1);
        }
    }

    // ---- owned fds ----

    /**
     * {@link #read(int, ByteBuffer)} on an owned fd.
     *
     * @throws ClosedChannelException if it is closed when a syscall is due
     */
    public static int read(OwnedFd o, ByteBuffer dst) throws IOException {
        QueueCore ring = ringQueue(o);
        if (ring != null) refuseOwnRing(ring, o);
        if (ring != null) return dst.hasRemaining() ? (int) OperationWait.run(ring, o, Interest.READ, Transfers.read(dst)) : 0;
        int woke = 0;
        while (true) {
            if (!o.acquire()) throw closed(o);
            int n;
            boolean dead;
            try {
                NonBlocking.check(o);
                n = readOnce(o.fd, dst);
                dead = n == FdIo.WOULD_BLOCK && Interest.dead(woke) && deadNow(o.fd, Interest.READ);
            } finally {
                o.release();
            }
            if (n != FdIo.WOULD_BLOCK) return n;
            if (dead) return FdIo.EOF;
            woke = ParkedWait.await(o.fd, o, Interest.READ, -1);
        }
    }

    /** {@link #write(int, ByteBuffer)} on an owned fd. */
    public static int write(OwnedFd o, ByteBuffer src) throws IOException {
        QueueCore ring = ringQueue(o);
        if (ring != null) refuseOwnRing(ring, o);
        if (ring != null) return src.hasRemaining() ? (int) OperationWait.run(ring, o, Interest.WRITE, Transfers.write(src, false)) : 0;
        int woke = 0;
        while (true) {
            if (!o.acquire()) throw closed(o);
            int n;
            boolean dead;
            try {
                NonBlocking.check(o);
                n = writeOnce(o.fd, src);
                dead = n == FdIo.WOULD_BLOCK && Interest.dead(woke) && deadNow(o.fd, Interest.WRITE);
            } finally {
                o.release();
            }
            if (n != FdIo.WOULD_BLOCK) return n;
            if (dead) throw deadWrite(o.fd);
            woke = ParkedWait.await(o.fd, o, Interest.WRITE, -1);
        }
    }

    /** Accepts one connection on an owned listening socket: the new fd. Several threads may wait on one listener. */
    public static int accept(OwnedFd o) throws IOException {
        ringQueue(o);
        while (true) {
            if (!o.acquire()) throw closed(o);
            int fd;
            try {
                NonBlocking.check(o);
                fd = acceptOnce(o.fd);
            } finally {
                o.release();
            }
            if (fd != FdIo.WOULD_BLOCK) return fd;
            ParkedWait.await(o.fd, o, Interest.READ, -1);
        }
    }

    /**
     * The io_uring queue {@code o} is bound to, whose ring its reads and writes must go through, or
     * null (unbound, or bound to an epoll queue: the syscall is made here).
     *
     * @throws ClosedChannelException if it is closed
     */
    private static QueueCore ringQueue(OwnedFd o) throws IOException {
        if (!o.isOpen()) throw closed(o);
        QueueCore q = o.queue();
        if (q == null) return null;
        if (q.ownerEnded()) throw OperationWait.orphaned(q, o);
        return q.completionIo() ? q : null;
    }

    /**
     * Refuses a blocking call on a handle of the calling thread's own io_uring queue (outside its
     * loop: inside, the facade refused it already): that queue moves the handle's bytes, so the
     * call would wait for a loop only this thread can run.
     */
    static void refuseOwnRing(QueueCore q, OwnedFd o) {
        if (q.ownership.isOwner()) {
            throw new IllegalStateException("blocking call on " + o + ", which is bound to this thread's own io_uring queue: that queue"
                    + " reads and writes it, so this thread would wait for its own loop; use an IoOperation here, or block on another thread");
        }
    }

    // ---- the steps ----

    private static int readOnce(int fd, ByteBuffer dst) throws IOException {
        try {
            return FdIo.read(fd, dst);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static int writeOnce(int fd, ByteBuffer src) throws IOException {
        try {
            return FdIo.write(fd, src);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static int acceptOnce(int listenFd) throws IOException {
        try {
            return Transfers.accept(listenFd);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Whether the fd itself reports HANGUP or ERROR now, after a wake-up that said so and a syscall
     * that would still block: a blocking poller's report of a number may come from the number's
     * earlier file (a waiter that gave up leaves its oneshot entry armed, see {@link BlockingPoller}),
     * which must not end a live fd's read or fail its write. One {@code poll(2)}, on this path only.
     */
    private static boolean deadNow(int fd, int kind) throws IOException {
        return Interest.dead(BlockingWait.readyNowChecked(fd, kind));
    }

    private static IOException deadWrite(int fd) {
        return Errors.io("write", fd, Errno.EPIPE, "the fd reported HANGUP or ERROR but a write would still block");
    }

    private static ClosedChannelException closed(OwnedFd o) {
        ClosedChannelException e = new ClosedChannelException();
        e.initCause(o.closedException());
        return e;
    }

    /**
     * Refuses a blocking fd, whose syscall would block inside the call and pin a virtual thread's
     * carrier (checked once per fd in a row on each thread), and the blocking pollers' own fds.
     */
    private static void checkNonBlocking(int fd) throws IOException {
        refuseOwn("blocking call", fd); // every time: the number may have become a queue's since the last call
        long[] last = CHECKED.get();
        long stamp = NonBlocking.stamp(fd); // read before the check: a close after it makes this verdict stale
        if (last[0] == fd && last[1] == stamp) return;
        NonBlocking.check(fd);
        last[0] = fd;
        last[1] = stamp;
    }

    /**
     * The plain fd {@code fd} is about to be closed through the library: threads blocked on it in
     * the blocking pollers wake (their calls end with the dropped-wait exception).
     */
    public static void closingPlain(int fd) {
        BlockingPollers.closingPlain(fd);
    }

    /**
     * Refuses one of the blocking pollers' own fds, and one of an open queue's (a stale number of the
     * caller's may name one: a blocking read of a queue's wake-up eventfd would take its wake-ups).
     *
     * @throws IllegalArgumentException if {@code fd} is one of them
     */
    public static void refuseOwn(String call, int fd) {
        BlockingPollers.refuseOwn(call, fd);
        if (QueueFds.contains(fd)) {
            throw new IllegalArgumentException(call + ": fd " + fd + " is one of an open queue's own fds (its epoll, wake-up"
                    + " eventfd or io_uring fd), which only that queue may use or close: was the fd closed before this call?");
        }
    }
}
