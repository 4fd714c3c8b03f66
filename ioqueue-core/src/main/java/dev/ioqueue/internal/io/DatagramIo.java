package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.core.NonBlocking;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.os.DatagramCalls;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.PollCalls;
import dev.ioqueue.internal.os.SockAddr;
import dev.ioqueue.internal.os.SocketCalls;
import dev.ioqueue.internal.os.Unistd;
import dev.ioqueue.internal.poll.Interest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.channels.ClosedChannelException;

/**
 * Datagram sockets: made (non-blocking, close-on-exec, bound or not), one {@code sendto} or
 * {@code recvfrom} told apart into a result and "would block" (EINTR retried), and the blocking
 * forms for threads without a loop. A datagram is one syscall whole: never split, never merged.
 * {@code recvfrom} runs with MSG_TRUNC, so a datagram longer than the buffer is reported with its
 * real length instead of being cut silently. Heap buffers pass through native scratch memory
 * ({@link Scratch}: a virtual thread borrows it for the call). On every backend, readiness and the
 * syscall: an io_uring ring's multishot read would merge or split messages. Thread-safe.
 */
public final class DatagramIo {
    /** What one {@code recvfrom} gave: the datagram's length, how much of it the buffer took, who sent it. */
    public record Received(int length, int stored, SocketAddress sender) {}

    private static final SocketAddress UNNAMED = java.net.UnixDomainSocketAddress.of("");

    private DatagramIo() {}

    /** A datagram socket of {@code family} (AF_INET, AF_INET6, AF_UNIX), bound to {@code local} unless null. */
    public static int open(int family, SockAddr local, String where) {
        var errno = Native.threadErrno();
        int fd = SocketCalls.socket(family, DatagramCalls.SOCK_DGRAM | SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC, 0, errno);
        if (fd < 0) throw Errors.syscallNoFd("socket(SOCK_DGRAM)", -fd, where);
        if (local != null) {
            int r = SocketCalls.bind(fd, local, errno);
            if (r < 0) {
                Unistd.close(fd, errno);
                throw Errors.syscallNoFd("bind", -r, where + " (the socket made for it is closed)");
            }
        }
        return fd;
    }

    /** {@code connect}: a datagram socket's default peer (and the only one it hears from); never waits. */
    public static void connect(int fd, SockAddr peer, String where) {
        int r = SocketCalls.connect(fd, peer, Native.threadErrno());
        if (r < 0) throw Errors.syscall("connect", fd, -r, where);
    }

    /**
     * {@code connect} with {@code AF_UNSPEC}: the socket's association ends. Linux also lets go of
     * a UDP socket's port if it was picked by the kernel (bound to port 0, or on connect), so the
     * socket is bound to that port again, on the address the disconnect left, as the JDK's
     * {@code DatagramChannel.disconnect} does: peers that knew the port still reach it.
     */
    public static void disconnect(int fd) {
        var errno = Native.threadErrno();
        int type = SocketCalls.intOption(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_TYPE, errno);
        if (type < 0) throw Errors.syscall("getsockopt(SO_TYPE)", fd, -type, "before a disconnect");
        if (type != DatagramCalls.SOCK_DGRAM) {
            // connect(AF_UNSPEC) on a stream socket resets its connection (or breaks a listener)
            throw new IllegalArgumentException("disconnect: fd " + fd + " is not a datagram socket (SO_TYPE " + type
                    + "): only a datagram socket's association can be ended");
        }
        SockAddr before = localName(fd, errno);
        connect(fd, SockAddr.unspecified(), "AF_UNSPEC (disconnect)");
        if (before == null || !before.isInet() || before.port() == 0) return;
        SockAddr after = localName(fd, errno);
        if (after == null || !after.isInet() || after.port() != 0) return;
        // The disconnect also forgot a link-local address's scope (the device): kept with the address.
        int scope = java.util.Arrays.equals(after.ip(), before.ip()) ? before.scopeId() : after.scopeId();
        SockAddr again = after.family() == SocketCalls.AF_INET ? SockAddr.inet4(after.ip(), before.port())
                : SockAddr.inet6(after.ip(), before.port(), scope);
        int r = SocketCalls.bind(fd, again, errno);
        if (r < 0) throw Errors.syscall("bind", fd, -r, "port " + before.port() + " again after the disconnect let go of it");
    }

    /** The socket's own address, or null if {@code getsockname} fails. */
    private static SockAddr localName(int fd, MemorySegment errno) {
        byte[] storage = new byte[SockAddr.STORAGE_SIZE];
        int length = SocketCalls.getsockname(fd, storage, errno);
        return length < 0 ? null : SockAddr.decode(storage, length);
    }

    /** One {@code sendto} of {@code src}'s remaining bytes as one datagram (to {@code to}, or the connected peer if null): the count, or {@link FdIo#WOULD_BLOCK}. */
    public static int trySend(int fd, ByteBuffer src, SockAddr to) {
        int length = src.remaining();
        if (src.isDirect()) return sendOnce(fd, src, MemorySegment.ofBuffer(src), length, to);
        return Scratch.using(length, data -> {
            FdIo.copyOut(src, data, length);
            return sendOnce(fd, src, data, length, to);
        });
    }

    private static int sendOnce(int fd, ByteBuffer src, MemorySegment data, int length, SockAddr to) {
        var errno = Native.threadErrno();
        while (true) {
            long n = DatagramCalls.sendto(fd, data, length, DatagramCalls.MSG_NOSIGNAL, to, errno);
            if (n >= 0) {
                src.position(src.position() + (int) n);
                return (int) n;
            }
            if (n == -Errno.EAGAIN) return FdIo.WOULD_BLOCK;
            if (n != -Errno.EINTR) throw Errors.syscall("sendto", fd, (int) -n, to == null ? null : "to " + Addresses.describe(Addresses.toJdk(to)));
        }
    }

    /** One {@code recvfrom} into {@code dst} from its position (advanced by what it stored), or null if none is pending. */
    public static Received tryReceive(int fd, ByteBuffer dst) {
        if (dst.isReadOnly()) throw new ReadOnlyBufferException();
        int space = dst.remaining();
        if (dst.isDirect()) return receiveOnce(fd, dst, MemorySegment.ofBuffer(dst), space);
        return Scratch.using(space, data -> receiveOnce(fd, dst, data, space));
    }

    private static Received receiveOnce(int fd, ByteBuffer dst, MemorySegment data, int space) {
        byte[] from = new byte[SockAddr.STORAGE_SIZE];
        int[] fromLength = new int[1];
        var errno = Native.threadErrno();
        while (true) {
            long n = DatagramCalls.recvfrom(fd, data, space, DatagramCalls.MSG_TRUNC, from, fromLength, errno);
            if (n >= 0) {
                int stored = (int) Math.min(n, space);
                if (!dst.isDirect()) MemorySegment.copy(data, ValueLayout.JAVA_BYTE, 0, dst.array(), dst.arrayOffset() + dst.position(), stored);
                dst.position(dst.position() + stored);
                // only an unbound Unix sender comes without a name: the empty path, as the JDK reports it
                SocketAddress sender = fromLength[0] >= 2 ? Addresses.toJdk(SockAddr.decode(from, fromLength[0])) : UNNAMED;
                return new Received((int) n, stored, sender);
            }
            if (n == -Errno.EAGAIN) return null;
            if (n != -Errno.EINTR) throw Errors.syscall("recvfrom", fd, (int) -n);
        }
    }

    // ---- blocking, for threads without a loop ----

    /**
     * Sends one datagram, parking while the socket's buffer is full ({@link ParkedWait}: no ring
     * reads a datagram socket, so even one bound to an io_uring queue waits so); {@code o} null for a
     * plain fd, else held around each syscall.
     */
    public static int send(int fd, OwnedFd o, ByteBuffer src, SockAddr to) throws IOException {
        if (o == null) NonBlocking.check(fd);
        boolean woke = false;
        long backoff = SEND_BACKOFF_MIN;
        while (true) {
            int n;
            boolean unreported = false;
            if (o != null && !o.acquire()) throw closed(o);
            try {
                if (o != null) NonBlocking.require(o);
                n = trySend(fd, src, to);
                unreported = n == FdIo.WOULD_BLOCK && woke && roomUnreported(fd);
            } catch (UncheckedIOException e) {
                throw e.getCause();
            } finally {
                if (o != null) o.release();
            }
            if (n != FdIo.WOULD_BLOCK) return n;
            if (unreported) { // readiness would spin: a pause instead (SEND_BACKOFF_MIN)
                pause(fd, o, backoff);
                backoff = Math.min(backoff * 2, SEND_BACKOFF_MAX);
                continue;
            }
            ParkedWait.await(fd, o, Interest.WRITE, -1);
            woke = true;
            backoff = SEND_BACKOFF_MIN;
        }
    }

    /**
     * Waits {@code nanos}, parked as a readiness wait is, so a close of the fd through the library
     * (or of {@code o}) ends it with the dropped-wait exception, and an interrupt with its own: a
     * wait for PRIORITY_READ, which a datagram socket never reports (a HANGUP or ERROR ends it
     * early, and the next send tells what it means).
     */
    private static void pause(int fd, OwnedFd o, long nanos) throws IOException {
        ParkedWait.await(fd, o, Interest.PRIORITY, nanos);
    }

    /**
     * A datagram send that still would block after readiness said room: an unconnected Unix
     * datagram socket sending to a peer whose queue is full ({@code max_dgram_qlen}), which
     * {@code poll} cannot see (it looks at a connected peer's queue only). Such a send is retried
     * after a pause, doubling from a millisecond to 64 ms (as a Unix connect to a full backlog is),
     * not on readiness, which would spin.
     */
    static final long SEND_BACKOFF_MIN = 1_000_000L;
    static final long SEND_BACKOFF_MAX = 64_000_000L;

    /**
     * Whether a send that found no room after a wake-up cannot wait for readiness: a Unix socket's
     * whose fd says room now ({@code poll}: another sender did not just take it, and the peer is
     * not a connected one whose full queue {@code poll} would see) though its send found none: its
     * unconnected peer's queue is full. A UDP socket may report room a large datagram does not fit
     * in yet (room is half its buffer), and gets it by waiting. One {@code getsockopt} and one
     * {@code poll}, on this path only.
     */
    public static boolean roomUnreported(int fd) {
        if (SocketOptionCalls.family(fd, Native.threadErrno(), "a send that found no room") != SocketCalls.AF_UNIX) return false;
        int r = PollCalls.readyNow(fd, PollCalls.POLLOUT, Native.threadErrno());
        return r > 0 && (r & PollCalls.POLLOUT) != 0;
    }

    /** What a loop's send fails with when readiness said room and the send found none (see {@link #SEND_BACKOFF_MIN}). */
    public static IOException sendWithoutRoom(int fd) {
        return Errors.io("sendto", fd, Errno.EAGAIN, "the socket reports room but the send would still block: a Unix datagram socket"
                + " sending to a peer it is not connected to cannot wait for room in that peer's full queue; retry later, or connect it");
    }

    /** Receives one datagram, parking until one comes. */
    public static Received receive(int fd, OwnedFd o, ByteBuffer dst) throws IOException {
        if (o == null) NonBlocking.check(fd);
        boolean woke = false;
        while (true) {
            Received r;
            if (o != null && !o.acquire()) throw closed(o);
            try {
                if (o != null) NonBlocking.require(o);
                r = tryReceive(fd, dst);
                if (r == null && woke && inputShutdown(fd)) throw inputShutdownFailure(fd);
            } catch (UncheckedIOException e) {
                throw e.getCause();
            } finally {
                if (o != null) o.release();
            }
            if (r != null) return r;
            ParkedWait.await(fd, o, Interest.READ, -1);
            woke = true;
        }
    }

    /**
     * Whether {@code fd}'s receiving side is shut down ({@code shutdownInput}). A datagram socket so
     * shut reports readable for good while {@code recvfrom} finds nothing, so a receive that finds
     * nothing after a wake-up asks this ({@code poll(2)}, POLLRDHUP) rather than wait (spin) again.
     */
    public static boolean inputShutdown(int fd) {
        int r = PollCalls.readyNow(fd, PollCalls.POLLIN | PollCalls.POLLRDHUP, Native.threadErrno());
        return r > 0 && (r & PollCalls.POLLRDHUP) != 0;
    }

    /** What a receive on a datagram socket whose receiving side is shut down fails with. */
    public static IOException inputShutdownFailure(int fd) {
        return Errors.io("recvfrom", fd, Errno.ESHUTDOWN, "its receiving side is shut down (shutdownInput): a receive no longer waits (a datagram that still comes to a UDP socket can be taken with tryReceive)");
    }

    private static ClosedChannelException closed(OwnedFd o) {
        ClosedChannelException e = new ClosedChannelException();
        e.initCause(o.closedException());
        return e;
    }

}
