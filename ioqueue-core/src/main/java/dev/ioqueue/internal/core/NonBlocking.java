package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.Unistd;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one check that an fd has {@code O_NONBLOCK}, which every I/O operation and blocking call
 * needs: a syscall on a blocking fd would stop a whole loop, or pin a virtual thread's carrier.
 * Callers keep the verdict (per owned fd, per queue for plain fds) so it costs one {@code fcntl}
 * per fd, not per call. Thread-safe.
 */
public final class NonBlocking {
    /**
     * Bumped by every clearing of {@code O_NONBLOCK} through the library: the file may be shared with
     * other numbers (a dup, a child's), so every verdict kept by number is stale.
     */
    private static final AtomicInteger CLEARED = new AtomicInteger();
    /**
     * Guarded by the class for writes: per fd number below {@link #DENSE}, how many times the
     * library closed it (a plain fd or a handle's), so that a verdict kept by number alone is
     * checked again once its number was closed, and only then (the number may name another file
     * now). Read without the lock. Grown to the highest number closed, never past {@link #DENSE}.
     */
    private static volatile int[] closes = new int[1024];
    /** Numbers from here on share one count ({@link #HIGH_CLOSES}): a close of one renews the verdicts of all. */
    private static final int DENSE = 65_536;
    private static final AtomicInteger HIGH_CLOSES = new AtomicInteger();
    private static final VarHandle INTS = MethodHandles.arrayElementVarHandle(int[].class);

    private NonBlocking() {}

    /**
     * What a verdict on the number {@code fd} kept by another thread must match to stand: the
     * number's closes through the library and the clearings of {@code O_NONBLOCK}. Read it before
     * the check it stamps (a close after it makes the verdict stale). Thread-safe.
     */
    public static long stamp(int fd) {
        int closed;
        if (fd >= DENSE) {
            closed = HIGH_CLOSES.get();
        } else {
            int[] c = closes;
            closed = fd < c.length ? (int) INTS.getAcquire(c, fd) : 0;
        }
        return ((long) CLEARED.get() << 32) | (closed & 0xffffffffL);
    }

    /**
     * The number {@code fd} was closed through the library, close(2) returning {@code result} (0 or
     * minus an errno): its verdicts kept elsewhere are stale. Costs memory only for numbers that
     * were open, up to 256 KiB: a close that failed with EBADF (nothing was open at the number;
     * Linux lets the number go on every other error) grows nothing.
     */
    public static void closed(int fd, int result) {
        if (fd < 0) return;
        if (fd >= DENSE) {
            HIGH_CLOSES.incrementAndGet();
            return;
        }
        synchronized (NonBlocking.class) {
            int[] c = closes;
            if (fd >= c.length) {
                if (result == -Errno.EBADF) return; // no verdict of ours names it: none was kept past the table
                closes = c = java.util.Arrays.copyOf(c, Math.min(DENSE, Math.max(fd + 1, c.length * 2)));
            }
            INTS.getAndAddRelease(c, fd, 1);
        }
    }

    /** An fd was made blocking through the library: every verdict kept by number is stale. */
    public static void cleared() {
        CLEARED.incrementAndGet();
    }

    /**
     * @throws IllegalArgumentException if {@code fd} is blocking, saying how to fix it
     * @throws RuntimeException the API's syscall exception if {@code fcntl} fails (EBADF: not open)
     */
    public static void require(int fd) {
        int flags = Unistd.fcntl(fd, Unistd.F_GETFL, Native.threadErrno());
        if (flags < 0) throw Errors.syscall("fcntl(F_GETFL)", fd, -flags);
        if ((flags & Unistd.O_NONBLOCK) == 0) {
            throw new IllegalArgumentException("fd " + fd + " is blocking: an I/O operation on it would stop the whole"
                    + " loop (or pin a virtual thread's carrier). Make it non-blocking first with Fds.setNonBlocking(" + fd
                    + ", true), or open it with O_NONBLOCK (SOCK_NONBLOCK, EFD_NONBLOCK...)");
        }
    }

    /** {@link #require} once per owned fd. */
    public static void require(OwnedFd o) {
        if (o.nonBlocking) return;
        require(o.fd);
        o.nonBlocking = true;
    }

    /** {@link #require(int)} for a blocking call: a failed {@code fcntl} is its {@link IOException}. */
    public static void check(int fd) throws IOException {
        try {
            require(fd);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * {@link #require(OwnedFd)} for a blocking call: a failed {@code fcntl} (EBADF: the number was
     * closed behind the handle's back) is its {@link IOException}, as on a plain fd.
     */
    public static void check(OwnedFd o) throws IOException {
        try {
            require(o);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
