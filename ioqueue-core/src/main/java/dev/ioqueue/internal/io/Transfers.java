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
            // Closed is said as closed, whichever thread fills (the JDK says "wrong thread" first)
            if (!whole.scope().isAlive()) throw new IllegalStateException("the segment's arena is already closed");
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
