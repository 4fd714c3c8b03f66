package dev.ioqueue.internal.os;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The fault-injection seam: makes the N-th real call of a {@link Syscall}, made from the thread
 * that armed it, return an errno of the test's choosing instead of running.
 *
 * <p>Off unless the JVM runs with {@code -Ddev.ioqueue.faults=true}; then {@link #ENABLED} is a
 * constant false in production and the JIT removes every check.
 */
public final class Faults {
    public static final boolean ENABLED = Boolean.getBoolean("dev.ioqueue.faults");

    private record Plan(Thread thread, Syscall call, AtomicInteger countdown, int errno, AtomicInteger times) {}

    private static volatile Plan plan;
    private static final ThreadLocal<long[]> CALLS =
            ThreadLocal.withInitial(() -> new long[Syscall.values().length]);

    private Faults() {}

    /**
     * From now on, the {@code nth} call (1 = the next one) of {@code call} on this thread and the
     * {@code times - 1} calls after it fail with {@code errno}.
     */
    public static void failNth(Syscall call, int nth, int errno, int times) {
        if (!ENABLED) throw new IllegalStateException("run the JVM with -Ddev.ioqueue.faults=true");
        if (nth < 1 || times < 1) throw new IllegalArgumentException("nth and times start at 1");
        plan = new Plan(Thread.currentThread(), call, new AtomicInteger(nth), errno, new AtomicInteger(times));
    }

    public static void failNth(Syscall call, int nth, int errno) {
        failNth(call, nth, errno, 1);
    }

    /** Disarms the seam. */
    public static void clear() {
        plan = null;
    }

    /** Whether an armed fault has yet to fire. */
    public static boolean pending() {
        Plan p = plan;
        return p != null && p.times.get() > 0;
    }

    /** How many calls of {@code call} this thread has made (or had failed) since the JVM started. */
    public static long calls(Syscall call) {
        if (!ENABLED) throw new IllegalStateException("run the JVM with -Ddev.ioqueue.faults=true");
        return CALLS.get()[call.ordinal()];
    }

    /**
     * Whether the current call of {@code call} must fail; if so, its errno is already in
     * {@code capture}. Called by the handles {@link Native} wraps.
     */
    static boolean fire(Syscall call, MemorySegment capture) {
        int e = check(call);
        if (e == 0) return false;
        Native.setErrno(capture, e);
        return true;
    }

    /** The errno the current call must fail with, or 0 to make the real call. */
    static int check(Syscall call) {
        CALLS.get()[call.ordinal()]++;
        Plan p = plan;
        if (p == null || p.call != call || p.thread != Thread.currentThread()) return 0;
        if (p.countdown.get() > 1) {
            p.countdown.decrementAndGet();
            return 0;
        }
        if (p.times.getAndDecrement() <= 0) return 0;
        return p.errno;
    }
}
