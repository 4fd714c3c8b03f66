package dev.ioqueue.internal;

import dev.ioqueue.SyscallException;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.Unistd;

/**
 * The fds found non-blocking, process-wide, so I/O operations and blocking calls check
 * {@code O_NONBLOCK} once per fd (one {@code fcntl}) instead of once per call: an attempt on a
 * blocking fd would stop a whole loop, or pin a virtual thread's carrier. A verdict is forgotten
 * when the fd is closed or made through the library, or found closed behind a queue's back, or its
 * flag is changed through {@code Fds}; every verdict is forgotten when any fd is made blocking
 * through {@code Fds} (it may share its open file, and so the flag, with fds checked before).
 * Thread-safe.
 */
public final class NonBlockingFds {
    private static final FdBits KNOWN = new FdBits();

    private NonBlockingFds() {}

    /**
     * @throws IllegalArgumentException if {@code fd} is blocking, saying how to fix it
     * @throws SyscallException if {@code fcntl} fails (EBADF: not open)
     */
    public static void check(int fd) {
        if (KNOWN.contains(fd)) return;
        int flags = Unistd.fcntl(fd, Unistd.F_GETFL, Native.threadErrno());
        if (flags < 0) throw new SyscallException("fcntl(F_GETFL)", fd, -flags);
        if ((flags & Unistd.O_NONBLOCK) == 0) {
            throw new IllegalArgumentException("fd " + fd + " is blocking: an I/O operation on it would stop the whole"
                    + " loop (or pin a virtual thread's carrier). Make it non-blocking first with Fds.setNonBlocking(" + fd
                    + ", true), or open it with O_NONBLOCK (SOCK_NONBLOCK, EFD_NONBLOCK...)");
        }
        KNOWN.add(fd);
    }

    /** {@code fd} was closed or made, or had its flag changed: check it again next time. */
    public static void forget(int fd) {
        KNOWN.remove(fd);
    }

    /** An fd was made blocking through {@code Fds}: any fd checked so far may share its file. */
    public static void forgetAll() {
        KNOWN.clear();
    }
}
