package dev.ioqueue.internal.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.util.List;
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
    // A class, not a lambda: the first lambda a program links costs it milliseconds at startup.
    private static final ThreadLocal<MemorySegment> THREAD_ERRNO = new ThreadLocal<>() {
        @Override
        protected MemorySegment initialValue() {
            return Arena.ofAuto().allocate(CAPTURE_LAYOUT);
        }
    };
    /** Whether the fault seam is on ({@code -Ddev.ioqueue.faults=true}); read here, so that a program without it never loads {@link Faults}. */
    static final boolean FAULTS = Boolean.getBoolean("dev.ioqueue.faults");

    private Native() {}

    // syscall(2) with every argument a long (a pointer as its address, its memory alive across the
    // call): one call shape (critical or not) for the syscalls a queue makes as it starts, and for
    // the rare ones. The JDK makes one downcall stub per shape, a few milliseconds each in a cold
    // JVM, where each libc wrapper's own shape would cost one more. read, write and epoll_wait, the
    // calls of every message, keep their own shapes.
    private static final FunctionDescriptor SYSCALL6 = FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG);

    /**
     * {@code syscall(2)} for a call that may sleep ({@code close}, {@code io_uring_enter}), faultable
     * as {@code call}: {@code (capture, number, a1..a6) -> long}, -1 with errno captured on failure.
     */
    static MethodHandle syscall(Syscall call) {
        return faultable(LINKER.downcallHandle(symbol("syscall"), SYSCALL6, Linker.Option.firstVariadicArg(1),
                Linker.Option.captureCallState("errno")), call);
    }

    /** {@link #syscall} for a call that never sleeps ({@code epoll_ctl}, {@code pipe2}...): a critical downcall. */
    static MethodHandle nonBlockingSyscall(Syscall call) {
        return faultable(LINKER.downcallHandle(symbol("syscall"), SYSCALL6, Linker.Option.firstVariadicArg(1),
                Linker.Option.captureCallState("errno"), Linker.Option.critical(false)), call);
    }

    /** A libc function that may block: an ordinary downcall with errno captured. */
    static MethodHandle blocking(String name, FunctionDescriptor descriptor) {
        return blocking(name, descriptor, null);
    }

    /** {@link #blocking(String, FunctionDescriptor)} that {@link Faults} can make fail as {@code call}. */
    static MethodHandle blocking(String name, FunctionDescriptor descriptor, Syscall call) {
        return faultable(LINKER.downcallHandle(symbol(name), descriptor, Linker.Option.captureCallState("errno")), call);
    }

    /**
     * A libc function that never blocks ({@code epoll_ctl}, {@code eventfd}...): a critical downcall,
     * which skips the thread-state transition. Never use it for a call that can sleep.
     */
    static MethodHandle nonBlocking(String name, FunctionDescriptor descriptor) {
        return nonBlocking(name, descriptor, null);
    }

    /** {@link #nonBlocking(String, FunctionDescriptor)} that {@link Faults} can make fail as {@code call}. */
    static MethodHandle nonBlocking(String name, FunctionDescriptor descriptor, Syscall call) {
        return faultable(LINKER.downcallHandle(symbol(name), descriptor,
                Linker.Option.captureCallState("errno"), Linker.Option.critical(false)), call);
    }

    /**
     * A handle on the static method {@code name} of {@code type} in {@code owner} (private: looked
     * up by {@code lookup}, of a nestmate), for a field that is not final to call it through. C2
     * compiles a method it reaches only through a handle that is not a constant on its own, never
     * inlined into the caller (HotSpot's C2 today: a compiler that inlined through such handles
     * would undo it, costing allocation, not correctness). Used for the capturing downcalls of
     * every message (see {@link Unistd#readAt}).
     */
    static MethodHandle callBoundary(MethodHandles.Lookup lookup, Class<?> owner, String name, MethodType type) {
        try {
            return lookup.findStatic(owner, name, type);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    static Optional<MethodHandle> optionalBlocking(String name, FunctionDescriptor descriptor, Syscall call) {
        return LIBC.find(name).map(s ->
                faultable(LINKER.downcallHandle(s, descriptor, Linker.Option.captureCallState("errno")), call));
    }

    /**
     * The fault-injection seam, in the one place every binding is made (as mio's {@code syscall!}
     * wraps every call): with {@code -Ddev.ioqueue.faults=true}, the handle first asks
     * {@link Faults} whether this call must fail, and if so returns -1 with the chosen errno in the
     * capture segment instead of calling libc; after a real call it lets {@link Faults} run a
     * test's action. Without the property the real handle is returned untouched.
     */
    private static MethodHandle faultable(MethodHandle real, Syscall call) {
        if (!FAULTS || call == null) return real;
        MethodType type = real.type(); // (MemorySegment capture, args...) -> int or long
        List<Class<?>> args = type.parameterList().subList(1, type.parameterCount());
        MethodHandle fire = MethodHandles.dropArguments(MethodHandles.insertArguments(Seam.FIRE, 0, call), 1, args);
        Object minusOne = type.returnType() == int.class ? (Object) (-1) : (Object) (-1L);
        MethodHandle fail = MethodHandles.dropArguments(MethodHandles.constant(type.returnType(), minusOne), 0, type.parameterList());
        MethodHandle after = MethodHandles.insertArguments(type.returnType() == int.class ? Seam.AFTER_INT : Seam.AFTER_LONG, 0, call);
        return MethodHandles.guardWithTest(fire, fail, MethodHandles.filterReturnValue(real, after));
    }

    /** The seam's entry points, looked up only when the seam is on. */
    private static final class Seam {
        static final MethodHandle FIRE;
        static final MethodHandle AFTER_INT;
        static final MethodHandle AFTER_LONG;

        static {
            try {
                MethodHandles.Lookup lookup = MethodHandles.lookup();
                FIRE = lookup.findStatic(Faults.class, "fire", MethodType.methodType(boolean.class, Syscall.class, MemorySegment.class));
                AFTER_INT = lookup.findStatic(Faults.class, "afterInt", MethodType.methodType(int.class, Syscall.class, int.class));
                AFTER_LONG = lookup.findStatic(Faults.class, "afterLong", MethodType.methodType(long.class, Syscall.class, long.class));
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }

    /** Stores {@code errno} in a capture segment, as a failed call would. */
    static void setErrno(MemorySegment capture, int errno) {
        ERRNO.set(capture, 0L, errno);
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
