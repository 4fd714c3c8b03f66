package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.core.Transfer;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.SocketCalls;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.Objects;

/**
 * What the I/O factories' operations move: reads, writes and accept over {@link FdIo}, each a
 * {@link Transfer} with its ring side. A short read or write tells the queue the fd is drained,
 * so the next submission waits instead of trying in vain. Arguments are checked when the transfer
 * is made, before anything is read or written. Owner thread of the queue it runs on.
 */
public final class Transfers {
    private Transfers() {}

    /** A read into a ByteBuffer: on a ring, it copies from the ring's buffers at the position. */
    private abstract static class BufferRead implements Transfer {
        final RingFill ring;

        BufferRead(ByteBuffer dst) {
            this.ring = new RingFill(dst);
        }

        @Override
        public final int ringKind() {
            return READ;
        }

        @Override
        public final int fill(MemorySegment data, long offset, int length) {
            return ring.fill(data, offset, length);
        }

        /** One read(2) into the buffer, through the memory this transfer keeps (no segment per call). */
        final int readOnce(int fd) {
            return FdIo.read(fd, ring.dst, ring.memory());
        }

        /** What earlier attempts (the syscall tried before the ring took over) moved; taken, so it counts once. */
        long carried() {
            return 0;
        }

        @Override
        public final long ringResult(boolean endOfFile) {
            long moved = carried() + ring.taken;
            ring.taken = 0;
            return moved == 0 ? FdIo.EOF : moved;
        }
    }

    public static Transfer read(ByteBuffer dst) {
        if (dst.isReadOnly()) throw new ReadOnlyBufferException();
        return new BufferRead(dst) {
            private int asked;

            @Override
            public boolean wantsMore() {
                return ring.taken == 0 && dst.hasRemaining();
            }

            @Override
            public long attempt(int fd) {
                asked = dst.remaining();
                return readOnce(fd);
            }

            @Override
            public boolean empty() {
                return !dst.hasRemaining();
            }

            @Override
            public boolean drained(long result) {
                return result >= 0 && result < asked;
            }
        };
    }

    public static Transfer read(MemorySegment dst) {
        if (dst.isReadOnly()) throw new IllegalArgumentException("read into a read-only segment");
        return new Transfer() {
            private int taken;

            @Override
            public int ringKind() {
                return READ;
            }

            @Override
            public int fill(MemorySegment data, long offset, int length) {
                int n = (int) Math.min(length, dst.byteSize() - taken);
                MemorySegment.copy(data, offset, dst, taken, n);
                taken += n;
                return n;
            }

            @Override
            public boolean wantsMore() {
                return taken == 0;
            }

            @Override
            public long ringResult(boolean endOfFile) {
                int t = taken;
                taken = 0;
                return t == 0 ? FdIo.EOF : t;
            }
            @Override
            public long attempt(int fd) {
                return FdIo.read(fd, dst);
            }

            @Override
            public boolean empty() {
                return dst.byteSize() == 0;
            }

            @Override
            public boolean drained(long result) {
                return result >= 0 && result < dst.byteSize();
            }
        };
    }

    public static Transfer readFully(ByteBuffer dst) {
        if (dst.isReadOnly()) throw new ReadOnlyBufferException();
        return new BufferRead(dst) {
            private long total; // across attempts; the buffer's position keeps the progress

            @Override
            public long progress() {
                return total;
            }

            @Override
            long carried() {
                long t = total;
                total = 0;
                return t;
            }

            @Override
            public long endOfFile() {
                long t = carried();
                return t == 0 ? FdIo.EOF : t;
            }

            @Override
            public boolean wantsMore() {
                return dst.hasRemaining();
            }

            @Override
            public boolean empty() {
                return !dst.hasRemaining();
            }

            @Override
            public long attempt(int fd) {
                while (dst.hasRemaining()) {
                    int n = readOnce(fd);
                    if (n == FdIo.WOULD_BLOCK) return n;
                    if (n == FdIo.EOF) break;
                    total += n;
                }
                long t = total;
                total = 0;
                return t == 0 && dst.hasRemaining() ? FdIo.EOF : t;
            }
        };
    }

    public static Transfer write(ByteBuffer src, boolean fully) {
        Objects.requireNonNull(src, "src");
        return new Transfer() {
            private int asked;
            private long total;
            private MemorySegment whole; // the buffer's memory, 0 to capacity
            private final RingSource source = new RingSource();

            @Override
            public int ringKind() {
                return WRITE;
            }

            /** The buffer's memory, 0 to capacity, made once (direct buffers; heap ones: the ring copies). */
            private MemorySegment memory() {
                if (whole == null && src.isDirect()) whole = FdIo.memoryOf(src);
                return whole;
            }

            @Override
            public long sourceAddress() {
                if (whole == null) whole = FdIo.memoryOf(src);
                return source.address(whole, src.position(), sourceLength());
            }

            @Override
            public int sourceLength() {
                return RingSource.chunk(src.remaining());
            }

            @Override
            public void wrote(int count) {
                src.position(src.position() + count);
                total += count;
            }

            @Override
            public boolean wantsMore() {
                return fully && src.hasRemaining();
            }

            @Override
            public long ringResult(boolean endOfFile) {
                long t = total;
                total = 0;
                return t;
            }

            @Override
            public boolean empty() {
                return !src.hasRemaining();
            }

            @Override
            public long progress() {
                return total;
            }

            @Override
            public long attempt(int fd) {
                do {
                    asked = src.remaining();
                    int n = FdIo.write(fd, src, memory());
                    if (n == FdIo.WOULD_BLOCK) return n;
                    total += n;
                } while (fully && src.hasRemaining());
                long t = total;
                total = 0;
                return t;
            }

            @Override
            public boolean drained(long result) {
                return !fully && result < asked;
            }
        };
    }

    public static Transfer write(MemorySegment src, boolean fully) {
        Objects.requireNonNull(src, "src");
        return new Transfer() {
            private long offset; // across attempts
            private final RingSource source = new RingSource();

            @Override
            public int ringKind() {
                return WRITE;
            }

            @Override
            public long sourceAddress() {
                return source.address(src, offset, sourceLength());
            }

            @Override
            public int sourceLength() {
                return RingSource.chunk(src.byteSize() - offset);
            }

            @Override
            public void wrote(int count) {
                offset += count;
            }

            @Override
            public boolean wantsMore() {
                return fully && offset < src.byteSize();
            }

            @Override
            public long ringResult(boolean endOfFile) {
                long t = offset;
                offset = 0;
                return t;
            }

            @Override
            public boolean empty() {
                return src.byteSize() == 0;
            }

            @Override
            public long progress() {
                return offset;
            }

            @Override
            public long attempt(int fd) {
                do {
                    int n = FdIo.write(fd, offset == 0 ? src : src.asSlice(offset));
                    if (n == FdIo.WOULD_BLOCK) return n;
                    offset += n;
                } while (fully && offset < src.byteSize());
                long t = offset;
                offset = 0;
                return t;
            }

            @Override
            public boolean drained(long result) {
                return !fully && result < src.byteSize();
            }
        };
    }

    /**
     * Where a ring write's bytes are, for the kernel to read while it is in flight: always a copy,
     * in a block the operation owns (reused while large enough; freed by the GC once neither the
     * operation nor the ring holds it), never the caller's memory: an arena closed while the write
     * waits must not let the kernel read freed memory (the copy, made on the loop thread, checks
     * the arena and the thread as an access does). Every ring write pays this copy, the writes made
     * inside I/O completions (an echo's reply) included; longer writes go in chunks of {@link #MAX_STAGED}.
     */
    private static final class RingSource {
        static final int MAX_STAGED = 256 * 1024;
        private MemorySegment staging;

        /** How many of {@code remaining} bytes one ring write takes. */
        static int chunk(long remaining) {
            return (int) Math.min(remaining, MAX_STAGED);
        }

        /**
         * @throws IllegalStateException if the segment's arena is closed
         * @throws WrongThreadException if it is confined to another thread
         */
        long address(MemorySegment from, long offset, int length) {
            if (staging == null || staging.byteSize() < length) staging = Arena.ofAuto().allocate(Math.max(length, 256));
            MemorySegment.copy(from, offset, staging, 0, length);
            return staging.address();
        }
    }

    /** A ByteBuffer read's copying from the ring's buffers: advances the position, counts what it took. */
    private static final class RingFill {
        final ByteBuffer dst;
        private MemorySegment whole; // the buffer's memory, 0 to capacity
        int taken;

        RingFill(ByteBuffer dst) {
            this.dst = dst;
        }

        /** The buffer's memory for a read(2) into it: null for a heap buffer (FdIo copies through its own). */
        MemorySegment memory() {
            if (whole == null && dst.isDirect()) whole = FdIo.memoryOf(dst);
            return whole;
        }

        int fill(MemorySegment data, long offset, int length) {
            if (whole == null) whole = FdIo.memoryOf(dst);
            int n = Math.min(length, dst.remaining());
            MemorySegment.copy(data, offset, whole, dst.position(), n);
            dst.position(dst.position() + n);
            taken += n;
            return n;
        }

    }

    /** Accepts a connection on a listening socket: completes with the new non-blocking, close-on-exec fd. */
    public static Transfer accept() {
        return new Transfer() {
            @Override
            public long attempt(int fd) {
                return accept(fd);
            }

            @Override
            public boolean failureClosesFd() {
                return false; // a listener outlives an EMFILE
            }
        };
    }

    /**
     * One {@code accept4} on {@code listenFd} (non-blocking, close-on-exec): the new fd, or
     * {@link FdIo#WOULD_BLOCK} when none is pending (also when one was aborted before it could be
     * taken); EINTR retried.
     */
    public static int accept(int listenFd) {
        MemorySegment errno = Native.threadErrno();
        while (true) {
            int fd = SocketCalls.accept4(listenFd, SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC, errno);
            if (fd >= 0) return fd;
            if (fd == -Errno.EAGAIN || fd == -Errno.ECONNABORTED) return FdIo.WOULD_BLOCK;
            if (fd != -Errno.EINTR) throw Errors.syscall("accept4", listenFd, -fd);
        }
    }
}
