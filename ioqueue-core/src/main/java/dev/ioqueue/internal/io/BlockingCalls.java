package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.core.NonBlocking;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.core.Transfer;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.poll.Interest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;

/**
 * Blocking reads, writes and accepts for threads without a loop (virtual threads above all): the
 * syscall on the calling thread, and while it would block, a park until a queue reports the fd
 * ready ({@link BlockingWait}). The rules are the I/O operations': a spurious wake-up means another
 * try; HANGUP or ERROR with nothing to do ends a read with end-of-file and fails a write with EPIPE.
 *
 * <p>A plain fd waits in the shared queue, under mio's rule (close it only after the calls on it
 * returned). An owned fd waits in its own queue and cannot be closed under a syscall: the call
 * holds it ({@link OwnedFd#acquire}); a close while the thread waits wakes it with the dropped-wait
 * exception. An owned fd whose queue runs a ring is read through that queue ({@link OperationWait}),
 * since the bytes the ring read ahead are kept there, in order.
 *
 * <p>Thread-safe; the facade has refused calls from inside a loop and bad arguments.
 */
public final class BlockingCalls {
    /** The last plain fd this thread found non-blocking: a thread that keeps using one fd checks it once. */
    private static final ThreadLocal<int[]> CHECKED = ThreadLocal.withInitial(() -> new int[] {-1});

    private BlockingCalls() {}

    // ---- plain fds ----

    /** Reads once into {@code dst}: the count, or -1 at end-of-file; blocks until data or end-of-file. */
    public static int read(QueueCore shared, int fd, ByteBuffer dst) throws IOException {
        checkNonBlocking(fd);
        int woke = 0;
        while (true) {
            int n = readOnce(fd, dst);
            if (n != FdIo.WOULD_BLOCK) return n;
            if (Interest.dead(woke)) return FdIo.EOF;
            woke = BlockingWait.await(shared, fd, null, Interest.READ, -1);
        }
    }

    /** Writes once from {@code src}: the count, which may be short; blocks until something fits. */
    public static int write(QueueCore shared, int fd, ByteBuffer src) throws IOException {
        checkNonBlocking(fd);
        int woke = 0;
        while (true) {
            int n = writeOnce(fd, src);
            if (n != FdIo.WOULD_BLOCK) return n;
            if (Interest.dead(woke)) throw deadWrite(fd);
            woke = BlockingWait.await(shared, fd, null, Interest.WRITE, -1);
        }
    }

    /** Accepts one connection: its non-blocking, close-on-exec fd. */
    public static int accept(QueueCore shared, int listenFd) throws IOException {
        checkNonBlocking(listenFd);
        while (true) {
            int fd = acceptOnce(listenFd);
            if (fd != FdIo.WOULD_BLOCK) return fd;
            BlockingWait.await(shared, listenFd, null, Interest.READ, -1);
        }
    }

    // ---- owned fds ----

    /** {@link #read(QueueCore, int, ByteBuffer)} on an owned fd bound to {@code home}. */
    public static int read(QueueCore home, OwnedFd o, ByteBuffer dst) throws IOException {
        if (home.completionIo()) {
            if (!dst.hasRemaining()) return 0;
            return (int) OperationWait.run(home, o, Interest.READ, Transfers.read(dst));
        }
        checkNonBlocking(o);
        int woke = 0;
        while (true) {
            if (!o.acquire()) throw closed(o);
            int n;
            try {
                n = readOnce(o.fd, dst);
            } finally {
                o.release();
            }
            if (n != FdIo.WOULD_BLOCK) return n;
            if (Interest.dead(woke)) return FdIo.EOF;
            woke = BlockingWait.await(home, o.fd, o, Interest.READ, -1);
        }
    }

    /** {@link #write(QueueCore, int, ByteBuffer)} on an owned fd bound to {@code home}. */
    public static int write(QueueCore home, OwnedFd o, ByteBuffer src) throws IOException {
        if (home.completionIo()) {
            if (!src.hasRemaining()) return 0;
            return (int) OperationWait.run(home, o, Interest.WRITE, Transfers.write(src, false));
        }
        checkNonBlocking(o);
        int woke = 0;
        while (true) {
            if (!o.acquire()) throw closed(o);
            int n;
            try {
                n = writeOnce(o.fd, src);
            } finally {
                o.release();
            }
            if (n != FdIo.WOULD_BLOCK) return n;
            if (Interest.dead(woke)) throw deadWrite(o.fd);
            woke = BlockingWait.await(home, o.fd, o, Interest.WRITE, -1);
        }
    }

    /** Accepts one connection on an owned listening socket bound to {@code home}: the new fd. */
    public static int accept(QueueCore home, OwnedFd o) throws IOException {
        checkNonBlocking(o);
        while (true) {
            if (!o.acquire()) throw closed(o);
            int fd;
            try {
                fd = acceptOnce(o.fd);
            } finally {
                o.release();
            }
            if (fd != FdIo.WOULD_BLOCK) return fd;
            BlockingWait.await(home, o.fd, o, Interest.READ, -1);
        }
    }

    /** Runs {@code transfer} through {@code o}'s queue and blocks until it ends (the ring path for other calls). */
    public static long perform(QueueCore home, OwnedFd o, int kind, Transfer transfer) throws IOException {
        return OperationWait.run(home, o, kind, transfer);
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

    private static IOException deadWrite(int fd) {
        return Errors.io("write", fd, Errno.EPIPE, "the fd reported HANGUP or ERROR but a write would still block");
    }

    private static ClosedChannelException closed(OwnedFd o) {
        ClosedChannelException e = new ClosedChannelException();
        e.initCause(o.closedException());
        return e;
    }

    private static void checkNonBlocking(OwnedFd o) throws IOException {
        if (!o.acquire()) throw closed(o); // held: its number cannot name another file meanwhile
        try {
            NonBlocking.require(o);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        } finally {
            o.release();
        }
    }

    /**
     * Refuses a blocking fd, whose syscall would block inside the call and pin a virtual thread's
     * carrier (checked once per fd in a row on each thread).
     */
    private static void checkNonBlocking(int fd) throws IOException {
        int[] last = CHECKED.get();
        if (last[0] == fd) return;
        try {
            NonBlocking.require(fd);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        last[0] = fd;
    }

    /** Forgets the calling thread's verdict (its fd was made blocking, or closed, on this thread). */
    public static void forgetNonBlocking() {
        CHECKED.get()[0] = -1;
    }
}
