package dev.ioqueue;

/**
 * A connection timed out (ETIMEDOUT, or a connect's own time limit passed): the JDK's {@link java.net.SocketTimeoutException}, carrying the call, the fd and the errno ({@link SyscallFailure}).
 */
public final class SyscallTimeoutException extends java.net.SocketTimeoutException implements SyscallFailure {
    private final String operation;
    private final int fd;
    private final int errno;

    /** {@code operation} on {@code fd} ({@code Integer.MIN_VALUE}: a call that takes none) failed with {@code errno}; {@code detail} says what it means here, or is null. */
    public SyscallTimeoutException(String operation, int fd, int errno, String detail) {
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
