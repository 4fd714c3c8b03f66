package dev.ioqueue.internal.io;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedChannelException;
import java.util.Objects;

/**
 * The JDK's byte-stream types over blocking calls on one fd: an {@link InputStream}, an
 * {@link OutputStream} and a {@link ByteChannel}, each a thin adapter of the contract (argument
 * checks, -1 at end-of-file, whole writes for streams) around the facade's blocking read and
 * write. Closing any view closes the fd. Thread-safe as the calls beneath are: one reader and
 * one writer at a time, each on its own thread, as for a JDK socket's streams.
 */
public final class ByteStreams {
    /** What the views call: the facade's blocking calls on one owned fd. */
    public interface Fd {
        /** Reads once into {@code dst}: the count (at least 1 if {@code dst} has room), or -1 at end-of-file. */
        int read(ByteBuffer dst) throws IOException;

        /** Writes once from {@code src}: the count, at least 1 if {@code src} has bytes. */
        int write(ByteBuffer src) throws IOException;

        /** Closes the fd (idempotent). */
        void close();

        boolean isOpen();

        /** For messages: "Handle[fd 7]". */
        String name();
    }

    private ByteStreams() {}

    public static InputStream input(Fd fd) {
        Objects.requireNonNull(fd, "fd");
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                if (len == 0) return 0;
                return fd.read(ByteBuffer.wrap(b, off, len));
            }

            /** 0 (how much a read takes without blocking is not known here), or, once closed, throws as the JDK's do. */
            @Override
            public int available() throws IOException {
                if (!fd.isOpen()) throw new ClosedChannelException();
                return 0;
            }

            @Override
            public void close() throws IOException {
                ByteStreams.close(fd);
            }

            @Override
            public String toString() {
                return "InputStream of " + fd.name();
            }
        };
    }

    public static OutputStream output(Fd fd) {
        Objects.requireNonNull(fd, "fd");
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                ByteBuffer src = ByteBuffer.wrap(b, off, len);
                try {
                    while (src.hasRemaining()) fd.write(src);
                } catch (InterruptedIOException e) {
                    throw BlockingWait.movedBefore(e, src.position() - off);
                }
            }

            @Override
            public void close() throws IOException {
                ByteStreams.close(fd);
            }

            @Override
            public String toString() {
                return "OutputStream of " + fd.name();
            }
        };
    }

    public static ByteChannel channel(Fd fd) {
        Objects.requireNonNull(fd, "fd");
        return new ByteChannel() {
            @Override
            public int read(ByteBuffer dst) throws IOException {
                if (!fd.isOpen()) throw new ClosedChannelException();
                if (!dst.hasRemaining()) return 0;
                return fd.read(dst);
            }

            @Override
            public int write(ByteBuffer src) throws IOException {
                if (!fd.isOpen()) throw new ClosedChannelException();
                if (!src.hasRemaining()) return 0;
                return fd.write(src);
            }

            @Override
            public boolean isOpen() {
                return fd.isOpen();
            }

            @Override
            public void close() throws IOException {
                ByteStreams.close(fd);
            }

            @Override
            public String toString() {
                return "ByteChannel of " + fd.name();
            }
        };
    }

    /** Closes the fd; a failed {@code close(2)} is the checked failure it wraps. */
    private static void close(Fd fd) throws IOException {
        try {
            fd.close();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
