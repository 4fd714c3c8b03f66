package dev.ioqueue.internal.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** eventfd(2): a kernel counter readable as an fd. The queue's wake-up and a user fd kind. */
public final class EventFdCalls {
    public static final int EFD_NONBLOCK = Unistd.O_NONBLOCK;
    public static final int EFD_CLOEXEC = Unistd.O_CLOEXEC;
    /** Each read takes 1 from the counter instead of all of it. */
    public static final int EFD_SEMAPHORE = 1;

    /** {@code eventfd2}, which libc's {@code eventfd} calls: through syscall(2)'s critical shape, as a queue's start makes it. */
    private static final MethodHandle EVENTFD = Native.nonBlockingSyscall(Syscall.EVENTFD);

    /**
     * The wake-up write, made from any thread: critical (non-blocking fd) and errno-free. Bound at
     * the first wake-up (a queue's start makes none); made again at the next one if binding failed
     * (as {@link Unistd#close}'s: a queue must never become impossible to wake).
     */
    private static volatile MethodHandle signal;
    /** The constant 1 every wake-up adds; written, never freed, shared by all queues. */
    private static final MemorySegment ONE = Arena.global().allocate(JAVA_LONG);

    static {
        ONE.set(JAVA_LONG, 0, 1L);
    }

    private EventFdCalls() {}

    /** {@code eventfd(initial, flags)}. */
    public static int create(int initial, int flags, MemorySegment errno) {
        try {
            return (int) Native.check((long) EVENTFD.invokeExact(errno, SyscallNumbers.EVENTFD2, (long) initial, (long) flags,
                    0L, 0L, 0L, 0L), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /**
     * Adds 1 to a non-blocking eventfd from any thread. The only failure, EAGAIN at a counter of
     * 2^64-2, means a wake-up is pending anyway, so the result is ignored.
     */
    public static void signal(int fd) {
        try {
            MethodHandle h = signal;
            if (h == null) {
                signal = h = Linker.nativeLinker().downcallHandle(Linker.nativeLinker().defaultLookup().find("write").orElseThrow(),
                        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), Linker.Option.critical(false));
            }
            long ignored = (long) h.invokeExact(fd, ONE, 8L);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }
}
