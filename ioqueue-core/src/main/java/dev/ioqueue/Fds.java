package dev.ioqueue;

import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.EventFd;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.SocketCalls;
import dev.ioqueue.internal.os.Unistd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The fd helpers a program needs around a queue: non-blocking pipes, socket pairs and eventfds
 * (all close-on-exec), reads and writes that tell "would block" apart from end-of-file, and a
 * close that unregisters first. Thread-safe; each call is one syscall (EINTR retried).
 *
 * <p>Reads return the byte count, {@link #EOF} or {@link #WOULD_BLOCK}; writes return the byte
 * count or {@link #WOULD_BLOCK}. Anything else fails with {@link SyscallException}.
 * {@code byte[]} and heap buffers pass through a per-thread 64 KiB native buffer, so one call
 * moves at most 64 KiB of them (a short count, as {@code read(2)} may give anyway); direct buffers
 * and memory segments are used in place.
 */
public final class Fds {
    /** A read found end-of-file. */
    public static final int EOF = -1;
    /** The fd is not ready (EAGAIN): wait for it with {@link IoQueue#await}. */
    public static final int WOULD_BLOCK = -2;

    private static final int SCRATCH_SIZE = 64 * 1024;
    private static final ThreadLocal<MemorySegment> SCRATCH =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(SCRATCH_SIZE, 16));

    private Fds() {}

    /** A non-blocking pipe. Closing it closes both ends. */
    public record Pipe(int readFd, int writeFd) implements AutoCloseable {
        @Override
        public void close() {
            closeBoth(readFd, writeFd);
        }
    }

    /** A connected pair of non-blocking AF_UNIX stream sockets. Closing it closes both. */
    public record SocketPair(int first, int second) implements AutoCloseable {
        @Override
        public void close() {
            closeBoth(first, second);
        }
    }

    /** {@code pipe2(O_NONBLOCK | O_CLOEXEC)}. */
    public static Pipe pipe() {
        long fds = Unistd.pipe2(Unistd.O_NONBLOCK | Unistd.O_CLOEXEC, Native.threadErrno());
        if (fds < 0) throw new SyscallException("pipe2", -1, (int) -fds);
        return new Pipe(Native.first(fds), Native.second(fds));
    }

    /** {@code socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC)}. */
    public static SocketPair socketPair() {
        int type = SocketCalls.SOCK_STREAM | SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC;
        long fds = SocketCalls.socketpair(SocketCalls.AF_UNIX, type, Native.threadErrno());
        if (fds < 0) throw new SyscallException("socketpair", -1, (int) -fds);
        return new SocketPair(Native.first(fds), Native.second(fds));
    }

    /** {@code eventfd(initial, EFD_NONBLOCK | EFD_CLOEXEC)}: read and write it 8 bytes at a time. */
    public static int eventfd(int initial) {
        int fd = EventFd.create(initial, EventFd.EFD_NONBLOCK | EventFd.EFD_CLOEXEC, Native.threadErrno());
        if (fd < 0) throw new SyscallException("eventfd", -1, -fd);
        return fd;
    }

    /** Reads into {@code dst} (up to its size): the count, {@link #EOF} or {@link #WOULD_BLOCK}. */
    public static int read(int fd, MemorySegment dst) {
        if (dst.byteSize() == 0) return 0;
        MemorySegment errno = Native.threadErrno();
        long len = Math.min(dst.byteSize(), Integer.MAX_VALUE);
        while (true) {
            long n = Unistd.read(fd, dst, len, errno);
            if (n > 0) return (int) n;
            if (n == 0) return EOF;
            if (n == -Errno.EAGAIN) return WOULD_BLOCK;
            if (n != -Errno.EINTR) throw new SyscallException("read", fd, (int) -n);
        }
    }

    /** Reads into {@code dst} from its position, advancing it. */
    public static int read(int fd, ByteBuffer dst) {
        int space = dst.remaining();
        if (space == 0) return 0;
        if (dst.isDirect()) {
            int n = read(fd, MemorySegment.ofBuffer(dst));
            if (n > 0) dst.position(dst.position() + n);
            return n;
        }
        MemorySegment scratch = SCRATCH.get();
        int n = read(fd, scratch.asSlice(0, Math.min(space, SCRATCH_SIZE)));
        if (n > 0) {
            MemorySegment.copy(scratch, 0, MemorySegment.ofBuffer(dst), 0, n);
            dst.position(dst.position() + n);
        }
        return n;
    }

    /** Reads into {@code dst[off, off + len)}. */
    public static int read(int fd, byte[] dst, int off, int len) {
        Objects.checkFromIndexSize(off, len, dst.length);
        return read(fd, ByteBuffer.wrap(dst, off, len));
    }

    /** Writes {@code src} (all of it, or what fits): the count or {@link #WOULD_BLOCK}. */
    public static int write(int fd, MemorySegment src) {
        if (src.byteSize() == 0) return 0;
        MemorySegment errno = Native.threadErrno();
        long len = Math.min(src.byteSize(), Integer.MAX_VALUE);
        while (true) {
            long n = Unistd.write(fd, src, len, errno);
            if (n >= 0) return (int) n;
            if (n == -Errno.EAGAIN) return WOULD_BLOCK;
            if (n != -Errno.EINTR) throw new SyscallException("write", fd, (int) -n);
        }
    }

    /** Writes from {@code src}'s position, advancing it. */
    public static int write(int fd, ByteBuffer src) {
        int left = src.remaining();
        if (left == 0) return 0;
        if (src.isDirect()) {
            int n = write(fd, MemorySegment.ofBuffer(src));
            if (n > 0) src.position(src.position() + n);
            return n;
        }
        MemorySegment scratch = SCRATCH.get();
        int chunk = Math.min(left, SCRATCH_SIZE);
        MemorySegment.copy(MemorySegment.ofBuffer(src), 0, scratch, 0, chunk);
        int n = write(fd, scratch.asSlice(0, chunk));
        if (n > 0) src.position(src.position() + n);
        return n;
    }

    /** Writes {@code src[off, off + len)}. */
    public static int write(int fd, byte[] src, int off, int len) {
        Objects.checkFromIndexSize(off, len, src.length);
        return write(fd, ByteBuffer.wrap(src, off, len));
    }

    /**
     * Unregisters {@code fd} from the calling thread's queue, if it has one, then closes it.
     *
     * @throws SyscallException if {@code close(2)} fails (EBADF: not open). EINTR is not an error:
     *     Linux has released the fd.
     */
    public static void close(int fd) {
        if (fd < 0) throw new IllegalArgumentException("fd " + fd + " is negative");
        IoQueue queue = IoQueue.currentIfAny();
        if (queue != null) queue.forgetBeforeClose(fd);
        int r = Unistd.close(fd, Native.threadErrno());
        if (r < 0 && r != -Errno.EINTR) throw new SyscallException("close", fd, -r);
    }

    private static void closeBoth(int a, int b) {
        try {
            close(a);
        } finally {
            close(b);
        }
    }
}
