package dev.ioqueue.internal.io;

import dev.ioqueue.internal.core.Transfer;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The I/O factories' transfers over a {@link MemorySegment} (and so over a {@code byte[]} range):
 * no position to advance, so each submission moves the segment from its start, and a full read or
 * write goes on across attempts from where the last one stopped. As {@link Transfers}: a short
 * read or write tells the queue the fd is drained. Owner thread of the queue it runs on.
 */
public final class SegmentTransfers {
    private SegmentTransfers() {}

    /** A read into a segment: on a ring, it copies from the ring's buffers at what it took so far. */
    private abstract static class SegmentRead implements Transfer {
        final MemorySegment dst;
        /** Bytes this read moved since it began (across attempts and ring fills); back to 0 when it ends. */
        long taken;

        SegmentRead(MemorySegment dst) {
            if (dst.isReadOnly()) throw new IllegalArgumentException("read into a read-only segment");
            this.dst = dst;
        }

        @Override
        public final int ringKind() {
            return READ;
        }

        @Override
        public final int fill(MemorySegment data, long offset, int length) {
            // Closed is said as closed, whichever thread fills (the JDK says "wrong thread" first)
            if (!dst.scope().isAlive()) throw new IllegalStateException("the segment's arena is already closed");
            int n = (int) Math.min(length, dst.byteSize() - taken);
            MemorySegment.copy(data, offset, dst, taken, n);
            taken += n;
            return n;
        }

        @Override
        public final boolean empty() {
            return dst.byteSize() == 0;
        }

        @Override
        public final long ringResult(boolean endOfFile) {
            return result();
        }

        /** What this read moved, as its result ({@link FdIo#EOF} if nothing); the next submission starts again at 0. */
        final long result() {
            long t = taken;
            taken = 0;
            return t == 0 && dst.byteSize() > 0 ? FdIo.EOF : t;
        }
    }

    public static Transfer read(MemorySegment dst) {
        return new SegmentRead(dst) {
            @Override
            public boolean wantsMore() {
                return taken == 0;
            }

            @Override
            public long attempt(int fd) {
                return FdIo.read(fd, dst);
            }

            @Override
            public boolean drained(long result) {
                return result >= 0 && result < dst.byteSize();
            }
        };
    }

    /**
     * Reads until {@code dst} is full or end-of-file: the total (less than its size at
     * end-of-file), or {@link FdIo#EOF} if end-of-file came first. Once it has ended, the next
     * submission fills {@code dst} again from its start.
     */
    public static Transfer readFully(MemorySegment dst) {
        return new SegmentRead(dst) {
            @Override
            public boolean wantsMore() {
                return taken < dst.byteSize();
            }

            @Override
            public long endOfFile() {
                return result();
            }

            @Override
            public long progress() {
                return taken;
            }

            @Override
            public long attempt(int fd) {
                try {
                    while (taken < dst.byteSize()) {
                        int n = FdIo.read(fd, taken == 0 ? dst : dst.asSlice(taken));
                        if (n == FdIo.WOULD_BLOCK) return n;
                        if (n == FdIo.EOF) break;
                        taken += n;
                    }
                } catch (RuntimeException failed) {
                    taken = 0; // it fails: the next submission starts again
                    throw failed;
                }
                return result();
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
                try {
                    do {
                        int n = FdIo.write(fd, offset == 0 ? src : src.asSlice(offset));
                        if (n == FdIo.WOULD_BLOCK) return n;
                        offset += n;
                    } while (fully && offset < src.byteSize());
                } catch (RuntimeException failed) {
                    offset = 0; // it fails: the next submission starts again
                    throw failed;
                }
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
}
