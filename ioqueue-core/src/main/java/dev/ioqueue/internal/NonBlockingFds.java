package dev.ioqueue.internal;

import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.Unistd;
import java.util.BitSet;

/**
 * The fds one queue has found non-blocking, so an I/O operation checks {@code O_NONBLOCK} once per
 * fd (one {@code fcntl}) instead of once per attempt: an attempt on a blocking fd would stop the
 * whole loop. Forgotten when the fd is closed, made again, found closed behind the queue's back, or
 * has its flag changed through {@code Fds}. Numbers from 2^20 up are checked every time instead of
 * growing the set. Owner thread only.
 */
final class NonBlockingFds {
    private static final int CACHED_BELOW = 1 << 20;

    private final BitSet known = new BitSet();

    /**
     * @throws IllegalArgumentException if {@code fd} is blocking, saying how to fix it
     * @throws dev.ioqueue.SyscallException if {@code fcntl} fails (EBADF: not open)
     */
    void check(int fd) {
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
