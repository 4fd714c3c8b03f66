package dev.ioqueue;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.os.Errno;
import java.io.IOException;

/**
 * The API's side of the access bridge ({@link Errors}): the exceptions the layers below throw are
 * made here, with the one rule for which errno becomes which exception. Installed when this class
 * is initialised (the bridge initialises it by name on first use).
 */
final class ErrorFactory implements Errors.Factory {
    static {
        Errors.install(new ErrorFactory());
    }

    private ErrorFactory() {}

    /** The fd of a call that takes none ({@code pipe2}, {@code socket}): left out of the message, -1 to callers. */
    static final int NO_FD = Integer.MIN_VALUE;

    /** {@code read on fd 7 failed: ECONNRESET (104): detail}; the fd is named even when negative (that may be the bug). */
    static String message(String operation, int fd, int errno, String detail) {
        StringBuilder b = new StringBuilder(java.util.Objects.requireNonNull(operation, "operation"));
        if (fd != NO_FD) b.append(" on fd ").append(fd);
        b.append(" failed: ").append(dev.ioqueue.Errno.nameOf(errno)).append(" (").append(errno).append(')');
        if (detail != null) b.append(": ").append(detail);
        return b.toString();
    }

    /** The checked exception for {@code errno}: the JDK's socket exceptions for a peer or connection failure. */
    static IOException checked(String operation, int fd, int errno, String detail) {
        return switch (errno) {
            case Errno.ECONNREFUSED -> new SyscallConnectException(operation, fd, errno, detail);
            case Errno.ETIMEDOUT -> new SyscallTimeoutException(operation, fd, errno, detail);
            case Errno.ECONNRESET, Errno.EPIPE, Errno.ENOTCONN, Errno.ECONNABORTED, Errno.EHOSTUNREACH, Errno.ENETUNREACH,
                    Errno.EADDRINUSE, Errno.EADDRNOTAVAIL, Errno.EISCONN, Errno.EALREADY, 100 /* ENETDOWN */, 112 /* EHOSTDOWN */ ->
                    new SyscallSocketException(operation, fd, errno, detail);
            default -> new SyscallIOException(operation, fd, errno, detail);
        };
    }

    @Override
    public RuntimeException syscall(String call, int fd, int errno, String detail) {
        return fd == NO_FD ? new SyscallException(call, errno, detail) : new SyscallException(call, fd, errno, detail);
    }

    @Override
    public IOException io(String call, int fd, int errno, String detail) {
        return checked(call, fd, errno, detail);
    }

    @Override
    public Error prematureClose(int fd, String detail) {
        return new PrematureCloseError(fd, detail);
    }

    @Override
    public IOException dropped(int fd, String why) {
        return new WaitDroppedException(fd, why);
    }

    @Override
    public String errnoName(int errno) {
        return dev.ioqueue.Errno.nameOf(errno);
    }

    @Override
    public int errnoOf(Throwable failure) {
        SyscallFailure f = SyscallFailure.of(failure);
        return f != null ? f.errnoNumber() : 0;
    }
}
