package dev.ioqueue.benchmarks;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The startup floor: what any Java program pays in a cold JVM to make an epoll queue and a pipe
 * through the Foreign Function &amp; Memory API, doing no more than an epoll queue must. One
 * {@code syscall(2)} downcall shape (every argument a long, errno captured, critical), as ioqueue's
 * start binds, for {@code epoll_create1}, {@code eventfd2} (the wake-up fd), {@code epoll_ctl} and
 * {@code pipe2}; and {@code malloc} for the event array, ioqueue's second shape. No ioqueue class:
 * its {@code main} prints the microseconds from its first line, as {@link Startup}'s probes do, and
 * closes nothing (the process ends). x86-64 syscall numbers only.
 */
public final class StartupFloor {
    private static final long EPOLL_CREATE1 = 291, EVENTFD2 = 290, EPOLL_CTL = 233, PIPE2 = 293;
    private static final long O_CLOEXEC = 0x80000, O_NONBLOCK = 0x800, EPOLL_CTL_ADD = 1, EPOLLIN = 1;

    private StartupFloor() {}

    /** Prints {@code micros N floor}; exits 1 if a call failed. */
    public static void main(String[] args) throws Throwable {
        long start = System.nanoTime();
        Linker linker = Linker.nativeLinker();
        MethodHandle syscall = linker.downcallHandle(linker.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"), Linker.Option.critical(false));
        MethodHandle malloc = linker.downcallHandle(linker.defaultLookup().find("malloc").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, JAVA_LONG), Linker.Option.captureCallState("errno"));
        MemorySegment errno = Arena.global().allocate(Linker.Option.captureStateLayout());
        MemorySegment block = ((MemorySegment) malloc.invokeExact(errno, 4096L)).reinterpret(4096);
        long epfd = (long) syscall.invokeExact(errno, EPOLL_CREATE1, O_CLOEXEC, 0L, 0L, 0L, 0L, 0L);
        long wake = (long) syscall.invokeExact(errno, EVENTFD2, 0L, O_CLOEXEC | O_NONBLOCK, 0L, 0L, 0L, 0L);
        block.set(JAVA_INT, 0, (int) EPOLLIN);
        block.set(JAVA_LONG_UNALIGNED, 4, wake); // struct epoll_event is packed on x86-64
        long added = (long) syscall.invokeExact(errno, EPOLL_CTL, epfd, EPOLL_CTL_ADD, wake, block.address(), 0L, 0L);
        long piped = (long) syscall.invokeExact(errno, PIPE2, block.address() + 64, O_CLOEXEC | O_NONBLOCK, 0L, 0L, 0L, 0L);
        long took = System.nanoTime() - start;
        if (epfd < 0 || wake < 0 || added < 0 || piped < 0) {
            System.out.println("failed: epoll_create1 " + epfd + ", eventfd2 " + wake + ", epoll_ctl " + added + ", pipe2 " + piped);
            System.exit(1);
        }
        System.out.println("micros " + took / 1000 + " floor");
    }
}
