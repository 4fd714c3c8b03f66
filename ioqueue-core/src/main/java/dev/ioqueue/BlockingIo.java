package dev.ioqueue;

import dev.ioqueue.internal.NonBlockingFds;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.Set;

/**
 * Blocking reads and writes for threads without a loop, above all virtual threads: each tries the
 * syscall on the calling thread and, while it would block, parks the thread in
 * {@link Fds#awaitReady} (a virtual thread unmounts; no carrier is pinned). The rules are those
 * of {@link IoOperation}: spurious wake-ups only mean another try; HANGUP or ERROR with nothing to
 * do ends a read with {@link Fds#EOF} and fails a write with EPIPE. The fd must be non-blocking:
 * a blocking one would block inside the syscall, pinning a virtual thread's carrier, so it is
 * refused with {@link IllegalArgumentException} (checked once per fd, as for
 * {@link IoQueue#submit}); every fd this library makes is non-blocking. Thread-safe; refused inside
 * a loop, which it would stop.
 *
 * <p>Interrupts behave as for {@link Fds#awaitReady}: {@link java.io.InterruptedIOException}, the
 * interrupt status kept, the fd left open.
 */
public final class BlockingIo {
    private BlockingIo() {}

    /** Reads once into {@code dst} from its position: the count, or {@link Fds#EOF}; blocks until data or EOF. */
    public static int read(int fd, ByteBuffer dst) throws IOException {
        Objects.requireNonNull(dst, "dst");
        enter("read", fd);
        Set<Event> woke = null;
        while (true) {
            int n = Fds.read(fd, dst);
            if (n != Fds.WOULD_BLOCK) return n;
            if (DeadFd.reported(woke)) return Fds.EOF;
            woke = Fds.awaitReady(fd, ReadyEvent.READ);
        }
    }

    /** Reads once into {@code dst[off, off + len)}: the count, or {@link Fds#EOF}. */
    public static int read(int fd, byte[] dst, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, dst.length);
        return read(fd, ByteBuffer.wrap(dst, off, len));
    }

    /**
     * Reads until {@code dst} is full.
     *
     * @throws EOFException at end-of-file first ({@code dst}'s position says how much came)
     */
    public static void readFully(int fd, ByteBuffer dst) throws IOException {
        enter("readFully", fd);
        int wanted = dst.remaining();
        while (dst.hasRemaining()) {
            if (read(fd, dst) == Fds.EOF) {
                throw new EOFException("fd " + fd + ": end of file after " + (wanted - dst.remaining()) + " of " + wanted + " bytes");
            }
        }
    }

    /** Writes once from {@code src}'s position: the count, which may be short; blocks until something fits. */
    public static int write(int fd, ByteBuffer src) throws IOException {
        Objects.requireNonNull(src, "src");
        enter("write", fd);
        Set<Event> woke = null;
        while (true) {
            int n = Fds.write(fd, src);
            if (n != Fds.WOULD_BLOCK) return n;
            if (DeadFd.reported(woke)) throw DeadFd.writeFailure(fd, woke);
            woke = Fds.awaitReady(fd, ReadyEvent.WRITE);
        }
    }

    /** Writes all of {@code src} from its position. */
    public static void writeFully(int fd, ByteBuffer src) throws IOException {
        enter("writeFully", fd);
        while (src.hasRemaining()) write(fd, src);
    }

    /** Writes all of {@code src[off, off + len)}. */
    public static void writeFully(int fd, byte[] src, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, src.length);
        writeFully(fd, ByteBuffer.wrap(src, off, len));
    }

    /** Refuses, before any syscall, a call from inside a loop or on a blocking fd (checked once per fd). */
    private static void enter(String call, int fd) {
        BlockingWait.refuseInLoop(call, fd);
        NonBlockingFds.check(fd);
    }

    /** Accepts one connection, blocking until one comes: its non-blocking, close-on-exec fd. */
    public static int accept(int listenFd) throws IOException {
        enter("accept", listenFd);
        while (true) {
            int fd = Sockets.accept(listenFd);
            if (fd != Fds.WOULD_BLOCK) return fd;
            Fds.awaitReady(listenFd, ReadyEvent.READ);
        }
    }
}
