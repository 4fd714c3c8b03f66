package dev.ioqueue.benchmarks;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The libc calls both floor rings share (FloorEpollRing, FloorUringRing), bound here and nowhere
 * else in ioqueue: the floors use no ioqueue class, so what they measure is the JVM's own cost of
 * the C programs' syscalls. {@link #READ} and {@link #WRITE} are the hot path: critical downcalls
 * (no thread-state transition; the pipes are non-blocking, so they never sleep) without errno
 * capture, as the C ring never reads errno after them. Everything else is setup and checks.
 */
final class FloorLibc {
    static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    static final int EINTR = 4;
    private static final long FIONREAD = 0x541B;

    /** {@code ssize_t read(int fd, void *buf, size_t count)}. */
    static final MethodHandle READ = critical("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    /** {@code ssize_t write(int fd, const void *buf, size_t count)}. */
    static final MethodHandle WRITE = critical("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle PIPE2 = plain("pipe2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle CLOSE = plain("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle IOCTL = LINKER.downcallHandle(symbol("ioctl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));

    private FloorLibc() {}

    static MemorySegment symbol(String name) {
        return LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    }

    /** A downcall with no options: setup calls. */
    static MethodHandle plain(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor);
    }

    /** A downcall that captures errno, for the calls after which the C program reads it. */
    static MethodHandle capturing(String name, FunctionDescriptor descriptor, Linker.Option... more) {
        Linker.Option[] options = new Linker.Option[more.length + 1];
        options[0] = Linker.Option.captureCallState("errno");
        System.arraycopy(more, 0, options, 1, more.length);
        return LINKER.downcallHandle(symbol(name), descriptor, options);
    }

    private static MethodHandle critical(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor, Linker.Option.critical(false));
    }

    /** A segment for {@link #capturing} handles. */
    static MemorySegment errnoSegment(Arena arena) {
        return arena.allocate(CAPTURE);
    }

    static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    /** {@code pipe2(fds, O_NONBLOCK|O_CLOEXEC)}, as the C rings make their pipes: the read end into reads[i], the write end into writes[i]. */
    static void pipes(int[] reads, int[] writes, Arena arena) throws Throwable {
        MemorySegment pair = arena.allocate(JAVA_INT, 2);
        for (int i = 0; i < reads.length; i++) {
            if ((int) PIPE2.invokeExact(pair, O_NONBLOCK | O_CLOEXEC) != 0) throw new IllegalStateException("pipe2 failed (pipe " + i + ")");
            reads[i] = pair.get(JAVA_INT, 0);
            writes[i] = pair.get(JAVA_INT, 4);
        }
    }

    /** Writes one token (the byte 1) into each of {@code tokens} pipes spread over the ring, as the C rings do. */
    static void writeTokens(int[] writes, int tokens, Arena arena) throws Throwable {
        MemorySegment one = arena.allocate(1);
        one.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 1);
        int n = writes.length;
        for (int k = 0; k < tokens; k++) {
            if ((long) WRITE.invokeExact(writes[(int) ((long) k * n / tokens)], one, 1L) != 1) throw new IllegalStateException("token write failed");
        }
    }

    /** Bytes waiting in the pipes' read ends (FIONREAD): the tokens at rest. */
    static long bytesInPipes(int[] reads, Arena arena) throws Throwable {
        MemorySegment count = arena.allocate(JAVA_INT);
        long sum = 0;
        for (int fd : reads) {
            int ignored = (int) IOCTL.invokeExact(fd, FIONREAD, count);
            sum += count.get(JAVA_INT, 0);
        }
        return sum;
    }

    /** Closes every fd of {@code fds} that is not -1 (never made). */
    static void close(int[] fds) {
        for (int fd : fds) close(fd);
    }

    /** Closes {@code fd} unless it is -1 (never made). */
    static void close(int fd) {
        if (fd < 0) return;
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    /** Rethrows what a downcall's invokeExact declares, unchecked. */
    static RuntimeException unchecked(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
