package dev.ioqueue.internal.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * timerfd(2) on CLOCK_MONOTONIC, the clock of {@link System#nanoTime()} on Linux. Each method
 * returns the syscall's result or {@code -errno}.
 *
 * <pre>
 * struct itimerspec {              // 32 bytes
 *     struct timespec it_interval; // offset 0: 0 for a one-shot timer
 *     struct timespec it_value;    // offset 16: the expiry; 0 disarms
 * };
 * </pre>
 */
public final class TimerFdCalls {
    public static final int CLOCK_MONOTONIC = 1;
    public static final int TFD_NONBLOCK = Unistd.O_NONBLOCK;
    public static final int TFD_CLOEXEC = Unistd.O_CLOEXEC;
    public static final int TFD_TIMER_ABSTIME = 1;
    /** {@code sizeof(struct itimerspec)}. */
    public static final long ITIMERSPEC_SIZE = 32;

    private static final MethodHandle CREATE = Native.nonBlocking("timerfd_create",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), Syscall.TIMERFD);
    private static final MethodHandle SETTIME = Native.nonBlocking("timerfd_settime",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), Syscall.TIMERFD);

    private TimerFdCalls() {}

    /** {@code timerfd_create(CLOCK_MONOTONIC, flags)}. */
    public static int create(int flags, MemorySegment errno) {
        try {
            return Native.check((int) CREATE.invokeExact(errno, CLOCK_MONOTONIC, flags), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /**
     * Arms {@code fd} to expire once at the absolute CLOCK_MONOTONIC time {@code deadlineNanos}
     * (a past one expires at once); {@code spec} is a scratch itimerspec.
     */
    public static int setAbsolute(int fd, long deadlineNanos, MemorySegment spec, MemorySegment errno) {
        return settime(fd, TFD_TIMER_ABSTIME, Math.max(1, deadlineNanos), 0, spec, errno); // 0 would disarm
    }

    /**
     * Arms {@code fd} to expire {@code delayNanos} from now, then every {@code intervalNanos} (0: once);
     * a {@code delayNanos} of 0 disarms it. Both are non-negative; {@code spec} is a scratch itimerspec.
     */
    public static int setRelative(int fd, long delayNanos, long intervalNanos, MemorySegment spec, MemorySegment errno) {
        return settime(fd, 0, delayNanos, intervalNanos, spec, errno);
    }

    private static int settime(int fd, int flags, long valueNanos, long intervalNanos, MemorySegment spec, MemorySegment errno) {
        spec.set(JAVA_LONG, 0, intervalNanos / 1_000_000_000L);
        spec.set(JAVA_LONG, 8, intervalNanos % 1_000_000_000L);
        spec.set(JAVA_LONG, 16, valueNanos / 1_000_000_000L);
        spec.set(JAVA_LONG, 24, valueNanos % 1_000_000_000L);
        try {
            return Native.check((int) SETTIME.invokeExact(errno, fd, flags, spec, MemorySegment.NULL), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }
}
