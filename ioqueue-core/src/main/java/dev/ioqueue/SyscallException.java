package dev.ioqueue;

/**
 * A system call failed. Carries the call, the fd it was made on (-1 if none) and the errno, as an
 * {@link Errno} to compare with ({@code e.errno() == Errno.ECONNRESET}) and as a number.
 *
 * <p>Unchecked, like {@link java.io.UncheckedIOException}: it escapes from callbacks and
 * {@link java.util.concurrent.Executor} methods, and most failures it reports (EBADF, EMFILE,
 * ENOMEM) are bugs or resource exhaustion rather than conditions to recover from locally.
 */
public final class SyscallException extends RuntimeException {
    /** The failed call. */
    private final String operation;
    /** The fd it was made on, or -1. */
    private final int fd;
    /** The errno number it failed with. */
    private final int errno;

    /**
     * A failure of a call made on an fd; the message names the call, the fd and the errno.
     *
     * @param operation the call, e.g. {@code "epoll_ctl(EPOLL_CTL_ADD)"}
     * @param fd the fd it was made on (named even when negative: that may be the bug)
     * @param errno the positive errno it failed with
     * @param detail what it means here, or null
     */
    public SyscallException(String operation, int fd, int errno, String detail) {
        super(message(operation, true, fd, errno, detail));
        this.operation = operation;
        this.fd = fd;
        this.errno = errno;
    }

    /** A failure on an fd without a detail: {@code read on fd 7 failed: EBADF (9)}. */
    public SyscallException(String operation, int fd, int errno) {
        this(operation, fd, errno, null);
    }

    /**
     * A failure of a call that takes no fd ({@code pipe2}, {@code socket}...); {@link #fd()} is -1.
     *
     * @param operation the call
     * @param errno the positive errno it failed with
     * @param detail what it means here, or null
     */
    public SyscallException(String operation, int errno, String detail) {
        super(message(operation, false, -1, errno, detail));
        this.operation = operation;
        this.fd = -1;
        this.errno = errno;
    }

    private static String message(String operation, boolean onFd, int fd, int errno, String detail) {
        StringBuilder b = new StringBuilder(java.util.Objects.requireNonNull(operation, "operation"));
        if (onFd) b.append(" on fd ").append(fd);
        b.append(" failed: ").append(Errno.nameOf(errno)).append(" (").append(errno).append(')');
        if (detail != null) b.append(": ").append(detail);
        return b.toString();
    }

    /** The failed call, e.g. {@code "read"}. */
    public String operation() {
        return operation;
    }

    /** The fd the call was made on, or -1 for a call that takes none. */
    public int fd() {
        return fd;
    }

    /** The errno, e.g. {@link Errno#EBADF}; {@link Errno#UNKNOWN} for a number without a name. */
    public Errno errno() {
        return Errno.of(errno);
    }

    /** The errno number, e.g. 9. */
    public int errnoNumber() {
        return errno;
    }

    /** The errno name, e.g. {@code "EBADF"} ({@code "errno 200"} for a number without a name). */
    public String errnoName() {
        return Errno.nameOf(errno);
    }
}
