package dev.ioqueue;

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

    static IoOperation read(ByteBuffer dst, IoCompletion done) {
        if (dst.isReadOnly()) throw new ReadOnlyBufferException();
        return new Reporting(ReadyEvent.READ, done) {
            private int asked;

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
        return new Reporting(ReadyEvent.READ, done) {
            private long total; // across attempts; the buffer's position keeps the progress

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

    static IoOperation accept(IoCompletion done) {
        return new Reporting(ReadyEvent.READ, done) {
            @Override
            protected long attempt(int fd) {
                return Sockets.accept(fd);
            }
        };
    }
}
