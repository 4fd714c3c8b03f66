package dev.ioqueue.internal.os;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * pidfd_open(2) (Linux 5.3): an fd that refers to one process and becomes readable when it exits.
 * glibc before 2.36 has no wrapper, so it goes through {@code syscall(2)}. Returns the fd or
 * {@code -errno}.
 */
public final class PidFdCalls {
    /** Linux 5.10: waitid(P_PIDFD) on it does not block; the fd is close-on-exec regardless. */
    public static final int PIDFD_NONBLOCK = Unistd.O_NONBLOCK;

    private static final MethodHandle PIDFD_OPEN = Native.nonBlockingSyscall(null);

    private PidFdCalls() {}

    /** {@code pidfd_open(pid, flags)}. */
    public static int open(int pid, int flags, MemorySegment errno) {
        try {
            return (int) Native.check((long) PIDFD_OPEN.invokeExact(errno, SyscallNumbers.PIDFD_OPEN, (long) pid, (long) flags, 0L, 0L, 0L, 0L), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }
}
