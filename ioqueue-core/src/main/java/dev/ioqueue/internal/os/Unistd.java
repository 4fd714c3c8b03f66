package dev.ioqueue.internal.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * The fd basics of {@code <unistd.h>} and {@code <fcntl.h>}: read, write, close, pipe2, dup, open,
 * fcntl. Each returns the syscall's result or {@code -errno}.
 */
public final class Unistd {
    public static final int O_RDONLY = 0;
    public static final int O_RDWR = 2;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_CLOEXEC = 0x80000;
    public static final int O_DIRECTORY = 0x10000;
    public static final int F_GETFD = 1;
    public static final int F_SETFD = 2;
    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    public static final int F_DUPFD_CLOEXEC = 1030;
    /** Succeeds on pipes and FIFOs only. */
    public static final int F_GETPIPE_SZ = 1032;
    public static final int FD_CLOEXEC = 1;

    // What a queue and its first fds call (pipe2, fcntl), and the rare calls, go through
    // syscall(2)'s critical shape (Native.nonBlockingSyscall): each new downcall shape costs a cold JVM
    // milliseconds to make.
    private static final MethodHandle PIPE2 = Native.nonBlockingSyscall(Syscall.PIPE);
    private static final MethodHandle FCNTL = Native.nonBlockingSyscall(null);
    private static final MethodHandle DUP = Native.nonBlockingSyscall(null);
    /**
     * close may sleep (a socket lingering, a file flushing): the ordinary shape, bound at the first
     * close (an epoll queue's start closes nothing). A field, not a holder class: a binding that
     * failed (a StackOverflowError in the close of a finally block) is made again at the next
     * close, where a class whose initializer failed would refuse every later close.
     */
    private static volatile MethodHandle close;

    private static MethodHandle closeHandle() {
        MethodHandle h = close;
        if (h == null) close = h = Native.syscall(Syscall.CLOSE);
        return h;
    }

    // read and write, the calls of every message, are bound on first use (a class of their own): a
    // queue and its first fds make no read or write. They may block on a blocking fd, so they are
    // ordinary (non-critical) downcalls. Both read/write at a raw address inside the memory of
    // `keep`, which the call holds alive (its arena cannot be closed under the call) as it does any
    // segment argument: `keep` is passed as a fourth argument, which read(2) and write(2) ignore (on
    // x86-64 and AArch64 it is a register the callee never reads). This way a direct ByteBuffer's
    // position needs no slice, and no allocation, per call.
    private static final class At {
        static final MethodHandle READ = Native.blocking("read",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS), Syscall.READ);
        static final MethodHandle WRITE = Native.blocking("write",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS), Syscall.WRITE);
    }

    private static final class Open {
        static final MethodHandle HANDLE = Native.blocking("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    }

    private Unistd() {}

    /**
     * {@code read(fd, buf, count)} into native {@code buf} (at most its size): {@link #readAt} at its
     * address, so that every read and write goes through the one call boundary below.
     */
    public static long read(int fd, MemorySegment buf, long count, MemorySegment errno) {
        return readAt(fd, buf.address(), Math.min(count, buf.byteSize()), buf, errno);
    }

    /** {@code write(fd, buf, count)} from native {@code buf}, as {@link #read}. */
    public static long write(int fd, MemorySegment buf, long count, MemorySegment errno) {
        return writeAt(fd, buf.address(), Math.min(count, buf.byteSize()), buf, errno);
    }

    /**
     * {@code read(fd, address, count)}, where {@code [address, address + count)} lies inside
     * {@code keep}, which is held alive for the call (the caller checked the bounds).
     */
    public static long readAt(int fd, long address, long count, MemorySegment keep, MemorySegment errno) {
        try {
            return (long) AtCalls.read.invokeExact(fd, address, count, keep, errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code write(fd, address, count)}, as {@link #readAt}. */
    public static long writeAt(int fd, long address, long count, MemorySegment keep, MemorySegment errno) {
        try {
            return (long) AtCalls.write.invokeExact(fd, address, count, keep, errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    private static final MethodType AT_TYPE =
            MethodType.methodType(long.class, int.class, long.class, long.class, MemorySegment.class, MemorySegment.class);
    // The calls of every in-place read and write, kept out of their callers' compilations: a
    // capturing downcall slices its capture segment per call, an allocation C2 removes when it
    // compiles these two on their own, but not always once they are inlined deep into a loop's
    // large compilation (it runs out of inlining budget first: 40 bytes per call in some JVMs).
    // C2 never inlines through a method handle that is not a constant, hence the fields are not final.
    // Bound on first use: a queue and its first fds make no read or write.
    private static final class AtCalls {
        static MethodHandle read = Native.callBoundary(MethodHandles.lookup(), Unistd.class, "readAtNow", AT_TYPE);
        static MethodHandle write = Native.callBoundary(MethodHandles.lookup(), Unistd.class, "writeAtNow", AT_TYPE);
    }

    private static long readAtNow(int fd, long address, long count, MemorySegment keep, MemorySegment errno) throws Throwable {
        return Native.check((long) At.READ.invokeExact(errno, fd, address, count, keep), errno);
    }

    private static long writeAtNow(int fd, long address, long count, MemorySegment keep, MemorySegment errno) throws Throwable {
        return Native.check((long) At.WRITE.invokeExact(errno, fd, address, count, keep), errno);
    }

    /** {@code close(fd)}. Never retried on EINTR: Linux has released the fd either way. */
    public static int close(int fd, MemorySegment errno) {
        try {
            return (int) Native.check((long) closeHandle().invokeExact(errno, SyscallNumbers.CLOSE, (long) fd, 0L, 0L, 0L, 0L, 0L), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /**
     * {@code pipe2(fds, flags)}: the two fds packed as {@code (long) readFd << 32 | writeFd}, or
     * {@code -errno}.
     */
    public static long pipe2(int flags, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(JAVA_INT, 2);
            int r = (int) Native.check((long) PIPE2.invokeExact(errno, SyscallNumbers.PIPE2, fds.address(), (long) flags,
                    0L, 0L, 0L, 0L), errno);
            return r < 0 ? r : Native.pack(fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1));
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    public static int dup(int fd, MemorySegment errno) {
        try {
            return (int) Native.check((long) DUP.invokeExact(errno, SyscallNumbers.DUP, (long) fd, 0L, 0L, 0L, 0L, 0L), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    public static int fcntl(int fd, int cmd, MemorySegment errno) {
        try {
            return (int) Native.check((long) FCNTL.invokeExact(errno, SyscallNumbers.FCNTL, (long) fd, (long) cmd,
                    0L, 0L, 0L, 0L), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code fcntl(fd, cmd, arg)} for a command that takes an int: F_SETFL, F_SETFD, F_DUPFD_CLOEXEC. */
    public static int fcntl(int fd, int cmd, int arg, MemorySegment errno) {
        try {
            return (int) Native.check((long) FCNTL.invokeExact(errno, SyscallNumbers.FCNTL, (long) fd, (long) cmd, (long) arg,
                    0L, 0L, 0L), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code open(path, flags)}; always adds O_CLOEXEC. */
    public static int open(String path, int flags, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(path);
            return Native.check((int) Open.HANDLE.invokeExact(errno, cPath, flags | O_CLOEXEC), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }
}
