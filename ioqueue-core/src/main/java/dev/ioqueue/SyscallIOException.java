package dev.ioqueue;

import java.io.IOException;

/**
 * A system call failed with an errno that is not about a network peer (EBADF, EIO, EMFILE...): a
 * checked {@link IOException} carrying the call, the fd and the errno ({@link SyscallFailure}).
 * Peer and connection failures are {@link SyscallSocketException}, {@link SyscallConnectException}
 * and {@link SyscallTimeoutException}, which are the JDK's own {@code SocketException} subclasses.
 */
public final class SyscallIOException extends IOException implements SyscallFailure {
    private final String operation;
    private final int fd;
    private final int errno;

    /** {@code operation} on {@code fd} ({@code Integer.MIN_VALUE}: a call that takes none) failed with {@code errno}; {@code detail} says what it means here, or is null. */
    public SyscallIOException(String operation, int fd, int errno, String detail) {
        super(ErrorFactory.message(operation, fd, errno, detail));
        this.operation = operation;
        this.fd = fd;
        this.errno = errno;
    }

    @Override
    public String operation() {
        return operation;
    }

    @Override
    public int fd() {
        return fd == ErrorFactory.NO_FD ? -1 : fd;
    }

    @Override
    public int errnoNumber() {
        return errno;
    }
}
