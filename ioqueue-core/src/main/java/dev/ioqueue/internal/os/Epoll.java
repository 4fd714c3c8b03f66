package dev.ioqueue.internal.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * epoll(7): a faithful mirror of {@code <sys/epoll.h>}, one method per syscall. Every method returns
 * the syscall's result, or {@code -errno} when it failed; policy lives in the queue above.
 *
 * <pre>
 * struct epoll_event {          // __attribute__((packed)) on x86-64: 12 bytes
 *     uint32_t     events;      // offset 0
 *     epoll_data_t data;        // offset 4 (x86-64), 8 elsewhere; a uint64_t here
 * };
 * </pre>
 */
public final class Epoll {
    public static final int EPOLLIN = 0x001;
    public static final int EPOLLPRI = 0x002;
    public static final int EPOLLOUT = 0x004;
    public static final int EPOLLERR = 0x008;
    public static final int EPOLLHUP = 0x010;
    public static final int EPOLLRDHUP = 0x2000;
    /** Reports the fd once, then disables it until an {@code EPOLL_CTL_MOD} arms it again. */
    public static final int EPOLLONESHOT = 1 << 30;

    public static final int EPOLL_CTL_ADD = 1;
    public static final int EPOLL_CTL_DEL = 2;
    public static final int EPOLL_CTL_MOD = 3;

    private static final int EPOLL_CLOEXEC = 0x80000; // O_CLOEXEC

    private static final boolean PACKED = switch (System.getProperty("os.arch")) {
        case "amd64", "x86_64" -> true;
        default -> false;
    };
    /** {@code sizeof(struct epoll_event)}. */
    public static final long EVENT_SIZE = PACKED ? 12 : 16;
    private static final long DATA_OFFSET = PACKED ? 4 : 8;
    /** {@code sizeof(struct timespec)}. */
    public static final long TIMESPEC_SIZE = 16;

    // A queue's start makes both, through syscall(2)'s critical shape (Native.nonBlockingSyscall).
    private static final MethodHandle EPOLL_CREATE1 = Native.nonBlockingSyscall(Syscall.EPOLL_CREATE);
    private static final MethodHandle EPOLL_CTL = Native.nonBlockingSyscall(Syscall.EPOLL_CTL);

    private Epoll() {}

    /** {@code epoll_create1(EPOLL_CLOEXEC)}. */
    public static int create(MemorySegment errno) {
        try {
            return (int) Native.check((long) EPOLL_CREATE1.invokeExact(errno, SyscallNumbers.EPOLL_CREATE1, (long) EPOLL_CLOEXEC,
                    0L, 0L, 0L, 0L, 0L), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code epoll_ctl(epfd, op, fd, {events, data})}; {@code scratch}, native memory, holds the one event. */
    public static int ctl(int epfd, int op, int fd, int events, long data, MemorySegment scratch, MemorySegment errno) {
        scratch.set(JAVA_INT, 0, events);
        scratch.set(JAVA_LONG_UNALIGNED, DATA_OFFSET, data);
        try {
            return (int) Native.check((long) EPOLL_CTL.invokeExact(errno, SyscallNumbers.EPOLL_CTL, (long) epfd, (long) op,
                    (long) fd, scratch.address(), 0L, 0L), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /**
     * Waits for events: {@code timeoutNanos < 0} forever, {@code 0} not at all. A positive timeout
     * is exact with {@code epoll_pwait2} and rounded up to a millisecond with {@code epoll_wait}, so
     * the call never returns before it expires for want of precision.
     */
    public static int wait(int epfd, MemorySegment events, int maxEvents, long timeoutNanos,
                           MemorySegment timespec, MemorySegment errno) {
        try {
            return (int) WaitCall.handle.invokeExact(epfd, events, maxEvents, timeoutNanos, timespec, errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    // The loop's every round waits: kept out of its callers' compilations, as Unistd.readAt is
    // (the capture segment's slice is removed only when C2 compiles the call on its own).
    // Bound on first use: making a queue waits for nothing.
    private static final class WaitCall {
        static MethodHandle handle = Native.callBoundary(MethodHandles.lookup(), Epoll.class, "waitNow", MethodType.methodType(
                int.class, int.class, MemorySegment.class, int.class, long.class, MemorySegment.class, MemorySegment.class));
        /** {@code epoll_wait}: for waits without a time limit or none (and where {@code epoll_pwait2} is missing). */
        static final MethodHandle EPOLL_WAIT = Native.blocking("epoll_wait",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Syscall.EPOLL_WAIT);
        /** {@code epoll_pwait2} (Linux 5.11, glibc 2.35) takes a timespec: no rounding to milliseconds. */
        static final MethodHandle EPOLL_PWAIT2 = Native.optionalBlocking("epoll_pwait2",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS), Syscall.EPOLL_WAIT).orElse(null);
        // Plain, not volatile: a thread that misses the fallback just meets ENOSYS once itself.
        static boolean pwait2Works = EPOLL_PWAIT2 != null;
    }

    private static int waitNow(int epfd, MemorySegment events, int maxEvents, long timeoutNanos,
                               MemorySegment timespec, MemorySegment errno) {
        try {
            if (timeoutNanos > 0 && WaitCall.pwait2Works) {
                timespec.set(JAVA_LONG, 0, timeoutNanos / 1_000_000_000L);
                timespec.set(JAVA_LONG, 8, timeoutNanos % 1_000_000_000L);
                int n = (int) WaitCall.EPOLL_PWAIT2.invokeExact(errno, epfd, events, maxEvents, timespec, MemorySegment.NULL);
                if (n >= 0 || Native.errno(errno) != Errno.ENOSYS) return Native.check(n, errno);
                WaitCall.pwait2Works = false; // a kernel (or seccomp filter) without it: fall back for good
            }
            int millis = timeoutNanos <= 0 ? (int) Math.max(timeoutNanos, -1)
                    : (int) Math.min(Integer.MAX_VALUE, (timeoutNanos + 999_999) / 1_000_000);
            return Native.check((int) WaitCall.EPOLL_WAIT.invokeExact(errno, epfd, events, maxEvents, millis), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** The {@code events} field of the i-th reported event. */
    public static int events(MemorySegment events, int i) {
        return events.get(JAVA_INT, i * EVENT_SIZE);
    }

    /** The {@code data} field of the i-th reported event. */
    public static long data(MemorySegment events, int i) {
        return events.get(JAVA_LONG_UNALIGNED, i * EVENT_SIZE + DATA_OFFSET);
    }

    /** An array of {@code count} events in {@code arena}. */
    public static MemorySegment allocateEvents(Arena arena, int count) {
        return arena.allocate(EVENT_SIZE * count, 8);
    }
}
