package dev.ioqueue.internal.os;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * pidfd_open(2) (Linux 5.3): an fd that refers to one process and becomes readable when it exits.
 * glibc before 2.36 has no wrapper, so it goes through {@code syscall(2)}. Returns the fd or
 * {@code -errno}.
 */
public final class PidFdCalls {
    /** The same number on x86-64 and aarch64: syscalls added since 5.1 share one table. */
    public static final long SYS_PIDFD_OPEN = 434;
    /** Linux 5.10: waitid(P_PIDFD) on it does not block; the fd is close-on-exec regardless. */
    public static final int PIDFD_NONBLOCK = Unistd.O_NONBLOCK;

    /** {@code long syscall(long number, ...)}, with the two arguments of pidfd_open. */
    private static final MethodHandle SYSCALL_2 = Native.nonBlockingVariadic("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), 1);

    private PidFdCalls() {}

    /** {@code pidfd_open(pid, flags)}. */
    public static int open(int pid, int flags, MemorySegment errno) {
        try {
            return (int) Native.check((long) SYSCALL_2.invokeExact(errno, SYS_PIDFD_OPEN, (long) pid, (long) flags), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }
}
