package dev.ioqueue.internal.os;

/**
 * Linux syscall numbers, for the calls made through {@code syscall(2)} ({@link Native#syscall}):
 * x86-64's table, or the generic one of aarch64, riscv64 and loongarch64; the calls added since
 * Linux 5.1 share one number on every architecture. Any other architecture is refused when the
 * first queue or fd is made (a number of another table would make another call).
 */
final class SyscallNumbers {
    private static final boolean GENERIC = switch (System.getProperty("os.arch")) {
        case "amd64", "x86_64" -> false;
        case "aarch64", "riscv64", "loongarch64" -> true;
        default -> throw new UnsupportedOperationException("ioqueue knows the syscall numbers of x86-64, aarch64, riscv64"
                + " and loongarch64, not those of os.arch " + System.getProperty("os.arch"));
    };

    static final long CLOSE = GENERIC ? 57 : 3;
    static final long DUP = GENERIC ? 23 : 32;
    static final long FCNTL = GENERIC ? 25 : 72;
    static final long PIPE2 = GENERIC ? 59 : 293;
    static final long EPOLL_CREATE1 = GENERIC ? 20 : 291;
    static final long EPOLL_CTL = GENERIC ? 21 : 233;
    static final long EVENTFD2 = GENERIC ? 19 : 290;
    static final long MMAP = GENERIC ? 222 : 9;
    static final long MUNMAP = GENERIC ? 215 : 11;
    static final long IO_URING_SETUP = 425;
    static final long IO_URING_ENTER = 426;
    static final long IO_URING_REGISTER = 427;
    static final long PIDFD_OPEN = 434;

    private SyscallNumbers() {}
}
