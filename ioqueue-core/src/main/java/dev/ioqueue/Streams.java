package dev.ioqueue;

import dev.ioqueue.internal.io.ByteStreams;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.util.Objects;

/**
 * The JDK's byte-stream types over an owned fd, for virtual threads: an {@link InputStream}, an
 * {@link OutputStream} and a {@link ByteChannel} (both a {@link java.nio.channels.ReadableByteChannel}
 * and a {@link java.nio.channels.WritableByteChannel}), each call a {@link BlockingIo} call on the
 * handle. So the JDK's {@code BufferedReader}, {@code DataInputStream}, {@code PrintStream},
 * {@link java.nio.channels.Channels}... work on any socket, pipe or other fd this library owns. On
 * a handle bound to an io_uring loop the reads go through that loop (the bytes it read ahead come
 * once and in order).
 *
 * <p><b>Closing</b> works as for the JDK's {@code Socket.getInputStream()} and
 * {@code getOutputStream()}: closing any view closes the handle, and so the fd and every other view
 * of it. For a half-close, call {@link Sockets#shutdownOutput} on the fd and keep reading. A read
 * or write blocked on another thread when the handle closes ends with {@link WaitDroppedException};
 * one on a closed handle throws {@link java.nio.channels.ClosedChannelException}.
 *
 * <p><b>Errors</b> are {@link IOException}s carrying the errno: a peer reset is a
 * {@link SyscallSocketException} with {@link Errno#ECONNRESET}, so {@code catch (IOException e)}
 * and {@link SyscallFailure#of} work as on {@link BlockingIo}.
 *
 * <p><b>Threading.</b> The views are unbuffered (wrap them in {@code BufferedInputStream}...) and
 * allocate nothing per call beyond the JDK's buffer wrapper (the one-byte {@code read()} and
 * {@code write(int)} also a one-byte array, as the JDK's socket streams do). One thread may read while another
 * writes, as on a JDK socket; refused inside a loop, which a blocking call would stop, and, on a
 * handle bound to an io_uring queue, on that queue's own thread outside its loop
 * ({@link IllegalStateException}: the call would wait for a loop only that thread runs; see
 * {@link BlockingIo}), which epoll does not refuse.
 */
public final class Streams {
    private Streams() {}

    /** The handle's bytes as an {@link InputStream}: {@code read} blocks until data or end-of-file (-1). */
    public static InputStream inputStream(Handle handle) {
        return ByteStreams.input(fd(handle));
    }

    /** An {@link OutputStream} onto the handle: {@code write} returns once every byte was written. */
    public static OutputStream outputStream(Handle handle) {
        return ByteStreams.output(fd(handle));
    }

    /** A {@link ByteChannel} of the handle: {@code read} reads once (-1 at end-of-file), {@code write} writes once (maybe short). */
    public static ByteChannel channel(Handle handle) {
        return ByteStreams.channel(fd(handle));
    }

    private static ByteStreams.Fd fd(Handle handle) {
        Objects.requireNonNull(handle, "handle");
        return new ByteStreams.Fd() {
            @Override
            public int read(ByteBuffer dst) throws IOException {
                return BlockingIo.read(handle, dst);
            }

            @Override
            public int write(ByteBuffer src) throws IOException {
                return BlockingIo.write(handle, src);
            }

            @Override
            public void close() {
                handle.close();
            }

            @Override
            public boolean isOpen() {
                return handle.isOpen();
            }

            @Override
            public String name() {
                return handle.toString();
            }
        };
    }
}
