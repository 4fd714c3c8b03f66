package dev.ioqueue.internal.io;

import static dev.ioqueue.internal.os.Errno.EAGAIN;
import static dev.ioqueue.internal.os.Errno.EINTR;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.Unistd;
import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.Objects;

/**
 * One non-blocking {@code read(2)} or {@code write(2)}, told apart into a count, end-of-file and
 * "would block" (EINTR retried); what {@code Fds}, the I/O operations and the blocking calls use.
 * Heap memory passes through a per-thread 64 KiB native buffer, so one call moves at most 64 KiB
 * of it; native memory is used in place. Every argument is checked before the syscall: a read
 * into a read-only buffer consumes nothing. Thread-safe.
 */
public final class FdIo {
    /** A read found end-of-file. */
    public static final int EOF = -1;
    /** The fd is not ready (EAGAIN). */
    public static final int WOULD_BLOCK = -2;

    private static final int SCRATCH_SIZE = Scratch.SIZE;
    private static final ThreadLocal<RecentBuffers> RECENT_BUFFERS = new ThreadLocal<>() {
        @Override
        protected RecentBuffers initialValue() {
            return new RecentBuffers();
        }
    };

    /**
     * The memory (0 to capacity) of the last few direct buffers a thread used: a program that
     * reuses a few buffers (as it should) makes no segment per call. Held weakly, so a buffer the
     * program dropped is not kept.
     */
    private static final class RecentBuffers {
        private static final int SIZE = 4;
        @SuppressWarnings("unchecked")
        private final WeakReference<ByteBuffer>[] buffers = new WeakReference[SIZE];
        private final MemorySegment[] memory = new MemorySegment[SIZE];
        private int next;

        MemorySegment of(ByteBuffer b) {
            for (int i = 0; i < SIZE; i++) {
                WeakReference<ByteBuffer> r = buffers[i];
                if (r != null && r.get() == b) return memory[i];
            }
            int i = next;
            next = (i + 1) % SIZE;
            buffers[i] = new WeakReference<>(b);
            return memory[i] = memoryOf(b);
        }
    }

    /** The whole memory of direct buffer {@code b}, 0 to its capacity, for {@link #read(int, ByteBuffer, MemorySegment)}. */
    public static MemorySegment memoryOf(ByteBuffer b) {
        return MemorySegment.ofBuffer(b.duplicate().clear());
    }

    private FdIo() {}

    /** Reads into {@code dst} (up to its size): the count, {@link #EOF} or {@link #WOULD_BLOCK}. */
    public static int read(int fd, MemorySegment dst) {
        checkSegment("read", fd, dst, true);
        if (dst.byteSize() == 0) return 0;
        if (!dst.isNative()) {
            MemorySegment scratch = Scratch.take();
            try {
                int n = readNative(fd, scratch, Math.min(dst.byteSize(), SCRATCH_SIZE));
                if (n > 0) MemorySegment.copy(scratch, 0, dst, 0, n);
                return n;
            } finally {
                Scratch.give(scratch);
            }
        }
        return readNative(fd, dst, dst.byteSize());
    }

    private static int readNative(int fd, MemorySegment dst, long size) {
        MemorySegment errno = Native.threadErrno();
        long len = Math.min(size, Integer.MAX_VALUE);
        while (true) {
            long n = Unistd.read(fd, dst, len, errno);
            if (n > 0) return (int) n;
            if (n == 0) return EOF;
            if (n == -EAGAIN) return WOULD_BLOCK;
            if (n != -EINTR) throw Errors.syscall("read", fd, (int) -n);
        }
    }

    /** Reads into {@code dst} from its position, advancing it. */
    public static int read(int fd, ByteBuffer dst) {
        return read(fd, dst, null);
    }

    /**
     * {@link #read(int, ByteBuffer)}, where {@code memory} is {@link #memoryOf} {@code dst} if the
     * caller keeps it (an operation reusing its buffer), else null.
     */
    public static int read(int fd, ByteBuffer dst, MemorySegment memory) {
        if (dst.isReadOnly()) throw new ReadOnlyBufferException();
        int space = dst.remaining();
        if (space == 0) return 0;
        int n;
        if (dst.isDirect()) {
            if (memory == null) memory = RECENT_BUFFERS.get().of(dst);
            checkSegment("read", fd, memory, false); // its arena still open (read-only checked above)
            n = readAt(fd, memory, memory.address() + dst.position(), space);
        } else {
            MemorySegment scratch = Scratch.take();
            try {
                n = readNative(fd, scratch, Math.min(space, SCRATCH_SIZE));
                if (n > 0) MemorySegment.copy(scratch, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, dst.array(), dst.arrayOffset() + dst.position(), n);
            } finally {
                Scratch.give(scratch);
            }
        }
        if (n > 0) dst.position(dst.position() + n);
        return n;
    }

    /** {@link #readNative} at {@code address}, inside {@code memory}. */
    private static int readAt(int fd, MemorySegment memory, long address, int size) {
        MemorySegment errno = Native.threadErrno();
        while (true) {
            long n = Unistd.readAt(fd, address, size, memory, errno);
            if (n > 0) return (int) n;
            if (n == 0) return EOF;
            if (n == -EAGAIN) return WOULD_BLOCK;
            if (n != -EINTR) throw Errors.syscall("read", fd, (int) -n);
        }
    }

    /** {@link #writeNative} from {@code address}, inside {@code memory}. */
    private static int writeAt(int fd, MemorySegment memory, long address, int size) {
        MemorySegment errno = Native.threadErrno();
        while (true) {
            long n = Unistd.writeAt(fd, address, size, memory, errno);
            if (n >= 0) return (int) n;
            if (n == -EAGAIN) return WOULD_BLOCK;
            if (n != -EINTR) throw Errors.syscall("write", fd, (int) -n);
        }
    }

    /** Writes {@code src} (all of it, or what fits): the count or {@link #WOULD_BLOCK}. */
    public static int write(int fd, MemorySegment src) {
        checkSegment("write", fd, src, false);
        if (src.byteSize() == 0) return 0;
        if (!src.isNative()) {
            MemorySegment scratch = Scratch.take();
            try {
                long chunk = Math.min(src.byteSize(), SCRATCH_SIZE);
                MemorySegment.copy(src, 0, scratch, 0, chunk);
                return writeNative(fd, scratch, chunk);
            } finally {
                Scratch.give(scratch);
            }
        }
        return writeNative(fd, src, src.byteSize());
    }

    private static int writeNative(int fd, MemorySegment src, long size) {
        MemorySegment errno = Native.threadErrno();
        long len = Math.min(size, Integer.MAX_VALUE);
        while (true) {
            long n = Unistd.write(fd, src, len, errno);
            if (n >= 0) return (int) n;
            if (n == -EAGAIN) return WOULD_BLOCK;
            if (n != -EINTR) throw Errors.syscall("write", fd, (int) -n);
        }
    }

    /** Writes from {@code src}'s position, advancing it. */
    public static int write(int fd, ByteBuffer src) {
        return write(fd, src, null);
    }

    /** {@link #write(int, ByteBuffer)}, with {@code memory} as in {@link #read(int, ByteBuffer, MemorySegment)}. */
    public static int write(int fd, ByteBuffer src, MemorySegment memory) {
        int left = src.remaining();
        if (left == 0) return 0;
        int n;
        if (src.isDirect()) {
            if (memory == null) memory = RECENT_BUFFERS.get().of(src);
            checkSegment("write", fd, memory, false);
            n = writeAt(fd, memory, memory.address() + src.position(), left);
        } else {
            MemorySegment scratch = Scratch.take();
            try {
                int chunk = Math.min(left, SCRATCH_SIZE);
                copyOut(src, scratch, chunk);
                n = writeNative(fd, scratch, chunk);
            } finally {
                Scratch.give(scratch);
            }
        }
        if (n > 0) src.position(src.position() + n);
        return n;
    }

    /**
     * Copies {@code length} bytes from {@code src}'s position (a heap buffer) to {@code to}: through
     * its array, or, read-only (whose array is not handed out), through a segment view of it.
     */
    static void copyOut(ByteBuffer src, MemorySegment to, int length) {
        if (src.hasArray()) {
            MemorySegment.copy(src.array(), src.arrayOffset() + src.position(), to, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, length);
        } else {
            MemorySegment.copy(MemorySegment.ofBuffer(src), 0, to, 0, length);
        }
    }

    /** Refuses, before any syscall, a segment the call could not use or must not write. */
    private static void checkSegment(String call, int fd, MemorySegment segment, boolean written) {
        Objects.requireNonNull(segment, "segment");
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException(call + " on fd " + fd + ": the segment's arena is already closed");
        }
        if (written && segment.isReadOnly()) {
            throw new IllegalArgumentException(call + " on fd " + fd + ": the segment is read-only");
        }
    }
}
