package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.Unistd;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one check that an fd has {@code O_NONBLOCK}, which every I/O operation and blocking call
 * needs: a syscall on a blocking fd would stop a whole loop, or pin a virtual thread's carrier.
 * Callers keep the verdict (per owned fd, per queue for plain fds) so it costs one {@code fcntl}
 * per fd, not per call. Thread-safe.
 */
public final class NonBlocking {
    /**
     * Bumped after every close made through the library (of a plain fd or of a handle) and every
     * clearing of {@code O_NONBLOCK}, on any thread: a verdict a thread keeps by number alone, taken under an older
     * epoch, is checked again (the number may name another file now, or its file may block).
     */
    private static final AtomicInteger EPOCH = new AtomicInteger();

    private NonBlocking() {}

    /** The verdicts' epoch now: a number's verdict taken under another one is stale. */
    public static int epoch() {
        return EPOCH.get();
    }

    /** An fd was closed, or made blocking, through the library: every number's verdict kept elsewhere is stale. */
    public static void verdictsStale() {
        EPOCH.incrementAndGet();
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
