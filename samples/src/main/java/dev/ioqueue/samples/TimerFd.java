package dev.ioqueue.samples;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.ioqueue.SyscallException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.time.Duration;

/** timerfd(2) through java.lang.foreign: a kernel timer readable as an fd. */
final class TimerFd {
    private static final int CLOCK_MONOTONIC = 1;
    private static final int TFD_NONBLOCK = 0x800;
    private static final int TFD_CLOEXEC = 0x80000;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final VarHandle ERRNO =
            Linker.Option.captureStateLayout().varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle CREATE = LINKER.downcallHandle(
            LINKER.defaultLookup().find("timerfd_create").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), Linker.Option.captureCallState("errno"));
    private static final MethodHandle SETTIME = LINKER.downcallHandle(
            LINKER.defaultLookup().find("timerfd_settime").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), Linker.Option.captureCallState("errno"));

    private TimerFd() {}

    /** A non-blocking, close-on-exec timerfd that fires every {@code period}, first after one period. */
    static int periodic(Duration period) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
            int fd = (int) CREATE.invokeExact(state, CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
            if (fd < 0) throw new SyscallException("timerfd_create", -1, (int) ERRNO.get(state, 0L));
            // struct itimerspec { struct timespec it_interval, it_value; }
            MemorySegment spec = arena.allocate(32, 8);
            long sec = period.toSeconds();
            long nsec = period.toNanosPart();
            spec.set(JAVA_LONG, 0, sec);
            spec.set(JAVA_LONG, 8, nsec);
            spec.set(JAVA_LONG, 16, sec);
            spec.set(JAVA_LONG, 24, nsec);
            int r = (int) SETTIME.invokeExact(state, fd, 0, spec, MemorySegment.NULL);
            if (r < 0) throw new SyscallException("timerfd_settime", fd, (int) ERRNO.get(state, 0L));
            return fd;
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
