package dev.ioqueue;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A system call failed, unchecked: what the low-level calls ({@link Fds}, {@link Sockets}, a
 * queue's own setup) and the queue's methods throw. It wraps the checked failure a blocking or
 * suspending call would throw for the same errno ({@link #getCause()}: a {@link SyscallIOException},
 * {@link SyscallSocketException}, {@link SyscallConnectException} or {@link SyscallTimeoutException}),
 * so one {@code catch (IOException e)} style works everywhere: catch this and rethrow its cause,
 * or catch {@link UncheckedIOException}.
 *
 * <p>Unchecked, as {@link UncheckedIOException} is, because it escapes from callbacks and
 * {@link java.util.concurrent.Executor} methods, and most failures it reports (EBADF, EMFILE,
 * ENOMEM) are bugs or resource exhaustion rather than conditions to recover from locally.
 */
public final class SyscallException extends UncheckedIOException implements SyscallFailure {
    /**
     * A failure of {@code operation} on {@code fd}; the message names the call, the fd and the errno.
     *
     * @param operation the call, e.g. {@code "epoll_ctl(EPOLL_CTL_ADD)"}
     * @param fd the fd it was made on (named even when negative: that may be the bug)
     * @param errno the positive errno it failed with
     * @param detail what it means here, or null
     */
    public SyscallException(String operation, int fd, int errno, String detail) {
        this(ErrorFactory.checked(operation, fd, errno, detail));
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
        this(ErrorFactory.checked(operation, ErrorFactory.NO_FD, errno, detail));
    }

    private SyscallException(IOException cause) {
        super(cause.getMessage(), cause);
    }

    private SyscallFailure failure() {
        return (SyscallFailure) getCause();
    }

    @Override
    public String operation() {
        return failure().operation();
    }

    @Override
    public int fd() {
        return failure().fd();
    }

    @Override
    public int errnoNumber() {
        return failure().errnoNumber();
    }
}
