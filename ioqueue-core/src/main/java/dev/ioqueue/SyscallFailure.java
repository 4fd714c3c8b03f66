package dev.ioqueue;

/**
 * What every failure of a system call reported by this library carries, checked
 * ({@link SyscallIOException}, {@link SyscallSocketException}, {@link SyscallConnectException},
 * {@link SyscallTimeoutException}) or unchecked ({@link SyscallException}): the call, the fd it was
 * made on and the errno. {@code catch (IOException e)} catches the checked ones, and
 * {@link #of(Throwable)} finds the errno in any of them:
 *
 * <pre>{@code
 * try { ... } catch (IOException e) {
 *     if (SyscallFailure.of(e) instanceof SyscallFailure f && f.errno() == Errno.ECONNRESET) ...
 * }
 * }</pre>
 *
 * Immutable; thread-safe.
 */
public sealed interface SyscallFailure
        permits SyscallException, SyscallIOException, SyscallSocketException, SyscallConnectException, SyscallTimeoutException {
    /** The failed call, e.g. {@code "read"} or {@code "epoll_ctl(EPOLL_CTL_ADD)"}. */
    String operation();

    /** The fd the call was made on, or -1 for a call that takes none ({@code pipe2}, {@code socket}). */
    int fd();

    /** The errno, e.g. {@link Errno#ECONNRESET}; {@link Errno#UNKNOWN} for a number without a name. */
    default Errno errno() {
        return Errno.of(errnoNumber());
    }

    /** The errno number, e.g. 104. */
    int errnoNumber();

    /** The errno name, e.g. {@code "ECONNRESET"} ({@code "errno 200"} for a number without a name). */
    default String errnoName() {
        return Errno.nameOf(errnoNumber());
    }

    /** The syscall failure {@code t} is, or wraps (its cause chain, an {@link java.io.UncheckedIOException}); null if none. */
    static SyscallFailure of(Throwable t) {
        for (int depth = 0; t != null && depth < 16; depth++, t = t.getCause()) {
            if (t instanceof SyscallFailure f) return f;
        }
        return null;
    }
}
