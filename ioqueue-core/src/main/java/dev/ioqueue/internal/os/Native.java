package dev.ioqueue.internal.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Optional;

/**
 * How every syscall binding is made: the linker, libc's symbols, and errno capture.
 *
 * <p>Each binding captures {@code errno} into a segment its caller owns, so a failed call costs no
 * allocation. A queue owns one capture segment; the static helpers use one per thread
 * ({@link #threadErrno()}), owned by the thread and freed with it by the GC.
 */
public final class Native {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> THREAD_ERRNO =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    private Native() {}

    /** A libc function that may block: an ordinary downcall with errno captured. */
    static MethodHandle blocking(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor, Linker.Option.captureCallState("errno"));
    }

    /**
     * A libc function that never blocks ({@code epoll_ctl}, {@code eventfd}...): a critical downcall,
     * which skips the thread-state transition. Never use it for a call that can sleep.
     */
    static MethodHandle nonBlocking(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor,
                Linker.Option.captureCallState("errno"), Linker.Option.critical(false));
    }

    static Optional<MethodHandle> optionalBlocking(String name, FunctionDescriptor descriptor) {
        return LIBC.find(name).map(s ->
                LINKER.downcallHandle(s, descriptor, Linker.Option.captureCallState("errno")));
    }

    private static MemorySegment symbol(String name) {
        return LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    }

    /** A new errno capture segment in {@code arena}. */
    public static MemorySegment newErrnoSegment(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    /** The calling thread's errno capture segment, for callers that own none. */
    public static MemorySegment threadErrno() {
        return THREAD_ERRNO.get();
    }

    /** The errno a failed call left in {@code capture}. */
    static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    /** A syscall result: {@code result} when non-negative, else {@code -errno}. */
    static int check(int result, MemorySegment capture) {
        return result >= 0 ? result : -errno(capture);
    }

    static long check(long result, MemorySegment capture) {
        return result >= 0 ? result : -errno(capture);
    }

    /** Two non-negative fds in one long, for calls that make a pair. */
    static long pack(int first, int second) {
        return ((long) first << 32) | (second & 0xFFFF_FFFFL);
    }

    /** The first fd of {@link #pack}. */
    public static int first(long pair) {
        return (int) (pair >>> 32);
    }

    /** The second fd of {@link #pack}. */
    public static int second(long pair) {
        return (int) pair;
    }

    /** Wraps the unchecked Throwable a downcall's invokeExact declares. */
    static AssertionError unreachable(Throwable t) {
        if (t instanceof RuntimeException r) throw r;
        if (t instanceof Error e) throw e;
        return new AssertionError("downcall threw " + t, t);
    }
}
