package dev.ioqueue.internal;

import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.Unistd;
import java.util.BitSet;

/**
 * The fds one queue has found non-blocking, so an I/O operation checks {@code O_NONBLOCK} once per
 * fd (one {@code fcntl}) instead of once per attempt: an attempt on a blocking fd would stop the
 * whole loop. Forgotten when the fd is closed, made again, found closed behind the queue's back, or
 * has its flag changed through {@code Fds}; all are forgotten when any fd is made blocking through
 * {@code Fds} (it may share its open file, and so the flag, with fds checked here). Numbers from 2^20 up are checked every time instead of
 * growing the set. Owner thread only.
 */
final class NonBlockingFds {
    private static final int CACHED_BELOW = 1 << 20;

    /** Counts the fds made blocking through the library, by any thread: a change voids every verdict. */
    private static volatile int madeBlocking;

    private final BitSet known = new BitSet();
    private int seenMadeBlocking = madeBlocking;

    /** An fd was made blocking through {@code Fds}: it may share its file with any fd checked so far. */
    static void anyMadeBlocking() {
        synchronized (NonBlockingFds.class) {
            madeBlocking++;
        }
    }

    /**
     * @throws IllegalArgumentException if {@code fd} is blocking, saying how to fix it
     * @throws dev.ioqueue.SyscallException if {@code fcntl} fails (EBADF: not open)
     */
    void check(int fd) {
        int changes = madeBlocking;
        if (changes != seenMadeBlocking) { // a dup, or the same file elsewhere, may have been made blocking
            known.clear();
            seenMadeBlocking = changes;
        }
        if (fd < CACHED_BELOW && known.get(fd)) return;
        int flags = Unistd.fcntl(fd, Unistd.F_GETFL, Native.threadErrno());
        if (flags < 0) throw new dev.ioqueue.SyscallException("fcntl(F_GETFL)", fd, -flags);
        if ((flags & Unistd.O_NONBLOCK) == 0) {
            throw new IllegalArgumentException("fd " + fd + " is blocking: an I/O operation on it would stop the whole"
                    + " loop. Make it non-blocking first with Fds.setNonBlocking(" + fd + ", true), or open it"
                    + " with O_NONBLOCK (SOCK_NONBLOCK, EFD_NONBLOCK...)");
        }
        if (fd < CACHED_BELOW) known.set(fd);
    }

    void forget(int fd) {
        if (fd >= 0 && fd < CACHED_BELOW) known.clear(fd);
    }
}
