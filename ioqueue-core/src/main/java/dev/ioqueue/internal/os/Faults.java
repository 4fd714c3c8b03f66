package dev.ioqueue.internal.os;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The fault-injection seam: makes the N-th real call of a {@link Syscall}, made from the thread
 * that armed it, return an errno of the test's choosing instead of running; or runs a test's
 * action right after the N-th real call returns, on the calling thread, to stage a race in the
 * window between a call and what follows it.
 *
 * <p>Off unless the JVM runs with {@code -Ddev.ioqueue.faults=true}; then {@link #ENABLED} is a
 * constant false in production and the JIT removes every check.
 */
public final class Faults {
    public static final boolean ENABLED = Native.FAULTS;

    private record Plan(Thread thread, Syscall call, AtomicInteger countdown, int errno, AtomicInteger times) {}

    private record Hook(Thread thread, Syscall call, AtomicInteger countdown, Runnable action) {}

    private static volatile Plan plan;
    private static volatile Hook hook;
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

    /**
     * From now on, right after the {@code nth} real call (1 = the next one) of {@code call} on this
     * thread returns, {@code action} runs on this thread, once, before the caller sees the result.
     */
    public static void afterNth(Syscall call, int nth, Runnable action) {
        if (!ENABLED) throw new IllegalStateException("run the JVM with -Ddev.ioqueue.faults=true");
        if (nth < 1) throw new IllegalArgumentException("nth starts at 1");
        hook = new Hook(Thread.currentThread(), call, new AtomicInteger(nth), action);
    }

    /** Disarms the seam. */
    public static void clear() {
        plan = null;
        hook = null;
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

    /** A real call of {@code call} returned {@code result}: runs the armed action if it is the one. */
    static int afterInt(Syscall call, int result) {
        after(call);
        return result;
    }

    static long afterLong(Syscall call, long result) {
        after(call);
        return result;
    }

    private static void after(Syscall call) {
        Hook h = hook;
        if (h == null || h.call != call || h.thread != Thread.currentThread() || h.countdown.decrementAndGet() != 0) return;
        hook = null;
        h.action.run();
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
