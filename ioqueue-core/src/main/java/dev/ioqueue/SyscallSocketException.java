package dev.ioqueue;

/**
 * A network peer or connection failed (ECONNRESET, EPIPE, ENOTCONN, ECONNABORTED, EHOSTUNREACH, ENETUNREACH, EADDRINUSE, EADDRNOTAVAIL...): the JDK's {@link java.net.SocketException}, carrying the call, the fd and the errno ({@link SyscallFailure}).
 */
public final class SyscallSocketException extends java.net.SocketException implements SyscallFailure {
    private final String operation;
    private final int fd;
    private final int errno;

    /** {@code operation} on {@code fd} ({@code Integer.MIN_VALUE}: a call that takes none) failed with {@code errno}; {@code detail} says what it means here, or is null. */
    public SyscallSocketException(String operation, int fd, int errno, String detail) {
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
