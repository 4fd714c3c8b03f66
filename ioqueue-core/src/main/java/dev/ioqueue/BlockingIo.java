package dev.ioqueue;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.io.BlockingCalls;
import dev.ioqueue.internal.io.BlockingWait;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.Objects;

/**
 * Blocking reads, writes and accepts for threads without a loop, above all virtual threads: each
 * tries the syscall on the calling thread and, while it would block, parks the thread until the fd
 * is ready (a virtual thread unmounts; no carrier is pinned). The rules are those of
 * {@link IoOperation}: spurious wake-ups only mean another try; HANGUP or ERROR with nothing to do
 * ends a read with {@link Fds#EOF} and fails a write with EPIPE. The fd must be non-blocking (every
 * fd this library makes is); a blocking one is refused with {@link IllegalArgumentException}.
 *
 * <p><b>How a call waits.</b> The thread that would block arms the fd itself (one-shot) in one of
 * the process-wide blocking pollers, parks, and is unparked by the poller when the fd is ready, as
 * the JDK's own virtual-thread sockets do; no loop takes part. The pollers, started on first use:
 * read pollers (one per core) and write pollers (one per four cores), each an epoll instance driven
 * by a virtual thread, which waits for its epoll fd in a master poller (a platform daemon thread)
 * when it finds nothing ready; an fd's number picks its poller. Several threads may block on one fd (two in {@link #accept} on
 * one listener): all wake, one gets the connection, the others wait again.
 *
 * <p><b>Handles and plain fds.</b> On a {@link Handle}, the fd cannot be closed under a call: a close
 * from any thread wakes every call blocked on it with {@link WaitDroppedException}, and a call on a
 * closed handle throws {@link java.nio.channels.ClosedChannelException}. A blocking call binds an
 * unbound handle to no queue (a loop may take it later). A handle bound to an io_uring loop is read
 * and written through that loop, which keeps the bytes its ring read ahead, so every read sees them
 * once and in order (a call starting while another thread binds the handle to such a loop may read
 * past them: bind a handle before using it from two places). The loop must be running for such a
 * call to end (its owner thread inside {@code run}/{@code runOnce}, as a group's loops always are): a
 * call on a handle of an io_uring queue whose thread does not run it waits until it does, and that
 * queue's own thread, outside its loop, is refused such a call ({@link IllegalStateException}: it
 * would wait for itself; epoll's syscall on the calling thread has no such limit). The loop
 * holds one read and one write per handle at a time: several threads blocked on one such handle
 * take turns in the order they asked (a thread that finds the handle taken waits until the one
 * before it lets go, or, behind the loop's own wait or operation, asks again every few milliseconds;
 * until it gets the place, its handle's close, an interrupt or the time limit), and the loop's own waits and
 * operations on the handle come first (a blocked thread holding the place gives it up to them, its
 * call going on when the loop holds none; a loop that always keeps a read on the handle leaves a
 * thread's read waiting). An interrupt of a call the loop has taken up is answered by the loop in
 * its next round, so that what it moved is reported, never lost. A handle bound to a queue whose
 * thread ended without closing it fails every call with {@link WaitDroppedException} (or, once
 * the watchdog closed the queue's handles, within 50 ms by default: see threading.md, with
 * {@link java.nio.channels.ClosedChannelException}), on both backends; a call already blocked then
 * ends too: when the watchdog closes the handle, or within about a second if it waits in that
 * queue (a handle of an io_uring loop). A plain fd is under mio's rule: close
 * it only once no call is under way on it.
 *
 * <p><b>Errors</b> are {@link IOException}s: a failed syscall is a {@link SyscallFailure} (a peer
 * reset a {@link SyscallSocketException} with {@link Errno#ECONNRESET}). Interrupts behave as for
 * {@link Fds#awaitReady}: {@link java.io.InterruptedIOException}, the interrupt status kept, the fd
 * left open; from a full read or write (and {@link Streams}' {@code OutputStream.write}) its
 * {@code bytesTransferred} says how many bytes the call moved before (a buffer's position says it
 * too; an array's does not), as it does on a {@link SyscallTimeoutException}, which is one too. Thread-safe; refused inside a loop, which it would stop.
 */
public final class BlockingIo {
    private BlockingIo() {}

    // ---- plain fds ----

    /** Reads once into {@code dst} from its position: the count, or {@link Fds#EOF}; blocks until data or EOF. */
    public static int read(int fd, ByteBuffer dst) throws IOException {
        Objects.requireNonNull(dst, "dst");
        refuseInLoop("read", fd);
        return BlockingCalls.read(fd, dst);
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
        int wanted = dst.remaining();
        try {
            while (dst.hasRemaining()) {
                if (read(fd, dst) == Fds.EOF) throw eof(fd, wanted, dst);
            }
        } catch (InterruptedIOException e) {
            throw BlockingWait.movedBefore(e, wanted - dst.remaining());
        }
    }

    /** Writes once from {@code src}'s position: the count, which may be short; blocks until something fits. */
    public static int write(int fd, ByteBuffer src) throws IOException {
        Objects.requireNonNull(src, "src");
        refuseInLoop("write", fd);
        return BlockingCalls.write(fd, src);
    }

    /**
     * Writes all of {@code src} from its position, in as many writes as the fd takes: another
     * thread writing the same fd meanwhile may put its bytes between them (serialize the writers
     * if each one's bytes must stay together).
     */
    public static void writeFully(int fd, ByteBuffer src) throws IOException {
        refuseInLoop("writeFully", fd);
        int wanted = src.remaining();
        try {
            while (src.hasRemaining()) write(fd, src);
        } catch (InterruptedIOException e) {
            throw BlockingWait.movedBefore(e, wanted - src.remaining());
        }
    }

    /** Writes all of {@code src[off, off + len)}. */
    public static void writeFully(int fd, byte[] src, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, src.length);
        writeFully(fd, ByteBuffer.wrap(src, off, len));
    }

    /** Accepts one connection, blocking until one comes: its non-blocking, close-on-exec fd. */
    public static int accept(int listenFd) throws IOException {
        refuseInLoop("accept", listenFd);
        return BlockingCalls.accept(listenFd);
    }

    // ---- owned fds ----

    /** {@link #read(int, ByteBuffer)} on an owned fd. */
    public static int read(Handle handle, ByteBuffer dst) throws IOException {
        Objects.requireNonNull(dst, "dst");
        OwnedFd o = handle.owned;
        refuseInLoop("read", o.fd);
        return BlockingCalls.read(o, dst);
    }

    /** {@link #read(int, byte[], int, int)} on an owned fd. */
    public static int read(Handle handle, byte[] dst, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, dst.length);
        return read(handle, ByteBuffer.wrap(dst, off, len));
    }

    /** {@link #readFully(int, ByteBuffer)} on an owned fd. */
    public static void readFully(Handle handle, ByteBuffer dst) throws IOException {
        int wanted = dst.remaining();
        boolean began = false;
        while (dst.hasRemaining()) {
            int n;
            try {
                n = read(handle, dst);
            } catch (ClosedChannelException e) {
                throw began ? closedDuring(handle, e) : e;
            } catch (InterruptedIOException e) {
                throw BlockingWait.movedBefore(e, wanted - dst.remaining());
            }
            if (n == Fds.EOF) throw eof(handle.owned.fd, wanted, dst);
            began = true;
        }
    }

    /** {@link #write(int, ByteBuffer)} on an owned fd. */
    public static int write(Handle handle, ByteBuffer src) throws IOException {
        Objects.requireNonNull(src, "src");
        OwnedFd o = handle.owned;
        refuseInLoop("write", o.fd);
        return BlockingCalls.write(o, src);
    }

    /** {@link #writeFully(int, ByteBuffer)} on an owned fd. */
    public static void writeFully(Handle handle, ByteBuffer src) throws IOException {
        refuseInLoop("writeFully", handle.owned.fd);
        int wanted = src.remaining();
        boolean began = false;
        while (src.hasRemaining()) {
            try {
                write(handle, src);
            } catch (ClosedChannelException e) {
                throw began ? closedDuring(handle, e) : e;
            } catch (InterruptedIOException e) {
                throw BlockingWait.movedBefore(e, wanted - src.remaining());
            }
            began = true;
        }
    }

    /**
     * A full read or write whose handle was closed between two of its steps: the close came during
     * the call, which ends as a wait the close ended does (not as a call made on a closed handle).
     */
    private static IOException closedDuring(Handle handle, ClosedChannelException found) {
        IOException e = Errors.dropped(handle.owned.fd, "the handle was closed during the call");
        e.initCause(found);
        return e;
    }

    /** {@link #writeFully(int, byte[], int, int)} on an owned fd. */
    public static void writeFully(Handle handle, byte[] src, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, src.length);
        writeFully(handle, ByteBuffer.wrap(src, off, len));
    }

    /** Accepts one connection on an owned listening socket: the connection, owned by a new, unbound {@link Handle}. */
    public static Handle accept(Handle listener) throws IOException {
        OwnedFd o = listener.owned;
        refuseInLoop("accept", o.fd);
        return Handle.of(BlockingCalls.accept(o));
    }

    // ---- connect ----

    /**
     * Connects a stream socket to {@code address} (an unresolved {@link java.net.InetSocketAddress}
     * is resolved first, and its addresses tried as {@link Connect} describes; a
     * {@link java.net.UnixDomainSocketAddress} connects a Unix socket), blocking until connected:
     * the connection, owned by a new, unbound {@link Handle}. {@code timeout} null means no limit.
     * An interrupt cancels it ({@link java.io.InterruptedIOException}, its socket closed).
     *
     * @throws java.net.ConnectException if refused ({@link SyscallConnectException}, ECONNREFUSED)
     * @throws java.net.SocketTimeoutException if {@code timeout} passed ({@link SyscallTimeoutException}, the socket closed)
     * @throws java.net.UnknownHostException if the name does not resolve
     */
    public static Handle connect(java.net.SocketAddress address, java.time.Duration timeout) throws IOException {
        return Connect.blocking(address, timeout);
    }

    /** {@link #connect(java.net.SocketAddress, java.time.Duration)} to {@code host}'s addresses at {@code port}. */
    public static Handle connect(String host, int port, java.time.Duration timeout) throws IOException {
        return Connect.blocking(Connect.unresolved(host, port), timeout);
    }

    // ---- shared rules ----

    /** Refuses a blocking call on a bad fd, or from inside a loop, which it would stop. */
    static void refuseInLoop(String call, int fd) {
        if (fd < 0) throw new IllegalArgumentException(call + ": fd " + fd + " is negative");
        IoQueue own = IoQueue.currentIfAny();
        if (own != null && !own.isClosed() && own.isInLoop()) {
            throw new IllegalStateException(call + "(fd " + fd + ") blocks, and from inside the loop of thread " + own.owner().getName()
                    + " it would stop that loop: submit an IoOperation, or await the fd, instead");
        }
    }

    private static EOFException eof(int fd, int wanted, ByteBuffer dst) {
        return new EOFException("fd " + fd + ": end of file after " + (wanted - dst.remaining()) + " of " + wanted + " bytes");
    }
}
