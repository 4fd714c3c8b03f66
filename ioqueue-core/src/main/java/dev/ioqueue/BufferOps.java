package dev.ioqueue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.Objects;

/**
 * The operations behind {@link IoOperation}'s factories: reads, writes and accept over
 * {@link Fds} and {@link Sockets}, each reporting to an {@link IoCompletion}. A short read or write
 * tells the queue the fd is drained, so the next submission waits instead of trying in vain.
 * Arguments are checked when the operation is made, before anything is read or written.
 */
final class BufferOps {
    private BufferOps() {}

    /** Forwards the outcome to an {@link IoCompletion}. */
    private abstract static class Reporting extends IoOperation {
        private final IoCompletion done;

        Reporting(ReadyEvent event, IoCompletion done) {
            super(event);
            this.done = Objects.requireNonNull(done, "completion");
        }

        @Override
        protected final void completed(int fd, long result) {
            done.completed(fd, result);
        }

        @Override
        protected final void failed(int fd, RuntimeException failure) {
            done.failed(fd, failure);
        }

        @Override
        protected final void dropped(int fd) {
            done.dropped(fd);
        }
    }

    /** A read into a ByteBuffer: on a ring, it copies from the ring's buffers at the position. */
    private abstract static class BufferRead extends Reporting {
        final RingFill ring;

        BufferRead(ByteBuffer dst, IoCompletion done) {
            super(ReadyEvent.READ, done);
            this.ring = new RingFill(dst);
        }

        @Override
        final int ringKind() {
            return 1;
        }

        @Override
        final int ringFill(MemorySegment data, long offset, int length) {
            return ring.fill(data, offset, length);
        }

        /** What earlier attempts (the syscall tried before the ring took over) moved; taken, so it counts once. */
        long carried() {
            return 0;
        }

        @Override
        final long ringResult(boolean endOfFile) {
            long moved = carried() + ring.taken;
            ring.taken = 0;
            return moved == 0 ? Fds.EOF : moved;
        }
    }

    static IoOperation read(ByteBuffer dst, IoCompletion done) {
        if (dst.isReadOnly()) throw new ReadOnlyBufferException();
        return new BufferRead(dst, done) {
            private int asked;

            @Override
            boolean ringWantsMore() {
                return ring.taken == 0 && dst.hasRemaining();
            }

            @Override
            protected long attempt(int fd) {
                asked = dst.remaining();
                return Fds.read(fd, dst);
            }

            @Override
            boolean empty() {
                return !dst.hasRemaining();
            }

            @Override
            boolean drained(long result) {
                return result >= 0 && result < asked;
            }
        };
    }

    static IoOperation read(MemorySegment dst, IoCompletion done) {
        if (dst.isReadOnly()) throw new IllegalArgumentException("read into a read-only segment");
        return new Reporting(ReadyEvent.READ, done) {
            private int taken;

            @Override
            int ringKind() {
                return 1;
            }

            @Override
            int ringFill(MemorySegment data, long offset, int length) {
                int n = (int) Math.min(length, dst.byteSize() - taken);
                MemorySegment.copy(data, offset, dst, taken, n);
                taken += n;
                return n;
            }

            @Override
            boolean ringWantsMore() {
                return taken == 0;
            }

            @Override
            long ringResult(boolean endOfFile) {
                int t = taken;
                taken = 0;
                return t == 0 ? Fds.EOF : t;
            }
            @Override
            protected long attempt(int fd) {
                return Fds.read(fd, dst);
            }

            @Override
            boolean empty() {
                return dst.byteSize() == 0;
            }

            @Override
            boolean drained(long result) {
                return result >= 0 && result < dst.byteSize();
            }
        };
    }

    static IoOperation readFully(ByteBuffer dst, IoCompletion done) {
        if (dst.isReadOnly()) throw new ReadOnlyBufferException();
        return new BufferRead(dst, done) {
            private long total; // across attempts; the buffer's position keeps the progress

            @Override
            long carried() {
                long t = total;
                total = 0;
                return t;
            }

            @Override
            long endOfFile() {
                long t = carried();
                return t == 0 ? Fds.EOF : t;
            }

            @Override
            boolean ringWantsMore() {
                return dst.hasRemaining();
            }

            @Override
            boolean empty() {
                return !dst.hasRemaining();
            }

            @Override
            protected long attempt(int fd) {
                while (dst.hasRemaining()) {
                    int n = Fds.read(fd, dst);
                    if (n == Fds.WOULD_BLOCK) return n;
                    if (n == Fds.EOF) break;
                    total += n;
                }
                long t = total;
                total = 0;
                return t == 0 && dst.hasRemaining() ? Fds.EOF : t;
            }
        };
    }

    static IoOperation write(ByteBuffer src, IoCompletion done, boolean fully) {
        Objects.requireNonNull(src, "src");
        return new Reporting(ReadyEvent.WRITE, done) {
            private int asked;
            private long total;
            private MemorySegment whole; // the buffer's memory, 0 to capacity
            private final RingSource source = new RingSource();

            @Override
            int ringKind() {
                return 2;
            }

            @Override
            long ringSourceAddress() {
                if (whole == null) whole = MemorySegment.ofBuffer(src.duplicate().clear());
                return source.address(whole, src.position(), src.remaining());
            }

            @Override
            int ringSourceLength() {
                return src.remaining();
            }

            @Override
            void ringWrote(int count) {
                src.position(src.position() + count);
                total += count;
            }

            @Override
            boolean ringWantsMore() {
                return fully && src.hasRemaining();
            }

            @Override
            long ringResult(boolean endOfFile) {
                long t = total;
                total = 0;
                return t;
            }

            @Override
            boolean empty() {
                return !src.hasRemaining();
            }

            @Override
            protected long attempt(int fd) {
                do {
                    asked = src.remaining();
                    int n = Fds.write(fd, src);
                    if (n == Fds.WOULD_BLOCK) return n;
                    total += n;
                } while (fully && src.hasRemaining());
                long t = total;
                total = 0;
                return t;
            }

            @Override
            boolean drained(long result) {
                return !fully && result < asked;
            }
        };
    }

    static IoOperation write(MemorySegment src, IoCompletion done, boolean fully) {
        Objects.requireNonNull(src, "src");
        return new Reporting(ReadyEvent.WRITE, done) {
            private long offset; // across attempts
            private final RingSource source = new RingSource();

            @Override
            int ringKind() {
                return 2;
            }

            @Override
            long ringSourceAddress() {
                return source.address(src, offset, ringSourceLength());
            }

            @Override
            int ringSourceLength() {
                return (int) Math.min(src.byteSize() - offset, Integer.MAX_VALUE);
            }

            @Override
            void ringWrote(int count) {
                offset += count;
            }

            @Override
            boolean ringWantsMore() {
                return fully && offset < src.byteSize();
            }

            @Override
            long ringResult(boolean endOfFile) {
                long t = offset;
                offset = 0;
                return t;
            }

            @Override
            boolean empty() {
                return src.byteSize() == 0;
            }

            @Override
            protected long attempt(int fd) {
                do {
                    int n = Fds.write(fd, offset == 0 ? src : src.asSlice(offset));
                    if (n == Fds.WOULD_BLOCK) return n;
                    offset += n;
                } while (fully && offset < src.byteSize());
                long t = offset;
                offset = 0;
                return t;
            }

            @Override
            boolean drained(long result) {
                return !fully && result < src.byteSize();
            }
        };
    }

    /**
     * Where a ring write's bytes are, for the kernel to read while it is in flight: a native
     * segment's own memory (after the checks an access would make: its arena is open, this thread
     * may use it), or a copy of a heap segment's bytes in a block the operation owns (reused while
     * large enough; freed by the GC once neither the operation nor the ring holds it).
     */
    private static final class RingSource {
        private MemorySegment staging;

        /**
         * @throws IllegalStateException if the segment's arena is closed
         * @throws WrongThreadException if it is confined to another thread
         */
        long address(MemorySegment from, long offset, int length) {
            if (from.isNative()) {
                if (!from.scope().isAlive()) throw new IllegalStateException("Already closed: the segment's arena is closed");
                if (!from.isAccessibleBy(Thread.currentThread())) {
                    throw new WrongThreadException("the segment is confined to another thread");
                }
                return from.address() + offset;
            }
            if (staging == null || staging.byteSize() < length) staging = Arena.ofAuto().allocate(Math.max(length, 256));
            MemorySegment.copy(from, offset, staging, 0, length);
            return staging.address();
        }
    }

    /** A ByteBuffer read's copying from the ring's buffers: advances the position, counts what it took. */
    private static final class RingFill {
        private final ByteBuffer dst;
        private MemorySegment whole; // the buffer's memory, 0 to capacity
        int taken;

        RingFill(ByteBuffer dst) {
            this.dst = dst;
        }

        int fill(MemorySegment data, long offset, int length) {
            if (whole == null) whole = MemorySegment.ofBuffer(dst.duplicate().clear());
            int n = Math.min(length, dst.remaining());
            MemorySegment.copy(data, offset, whole, dst.position(), n);
            dst.position(dst.position() + n);
            taken += n;
            return n;
        }

    }

    static IoOperation accept(IoCompletion done) {
        return new Reporting(ReadyEvent.READ, done) {
            @Override
            protected long attempt(int fd) {
                return Sockets.accept(fd);
            }
        };
    }
}
