package dev.ioqueue;

import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.io.Addresses;
import dev.ioqueue.internal.io.DatagramIo;
import dev.ioqueue.internal.os.SockAddr;
import dev.ioqueue.internal.os.SocketCalls;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Datagram sockets — UDP over IPv4 and IPv6, and Unix domain datagrams — as non-blocking,
 * close-on-exec plain fds: made and bound here, sent to and received from with the peer's address
 * ({@code sendto}/{@code recvfrom}). Each send is one datagram and each receive one datagram:
 * boundaries are kept. Three styles: the one-try calls {@link #trySend}/{@link #tryReceive} (for
 * a loop's callback), the blocking {@link #send}/{@link #receive} for virtual threads, and
 * operations ({@link DatagramOperation}). On every backend, io_uring included, they wait for
 * readiness and make the syscall themselves: a ring's multishot read would merge or split messages.
 *
 * <p><b>Truncation</b> is reported, not silent: a datagram longer than the buffer comes back as a
 * {@link Datagram} whose {@link Datagram#truncated()} is true and whose {@link Datagram#length()}
 * is its real length (the receive asks the kernel with MSG_TRUNC). UDP over IPv4 carries at most
 * 65,507 bytes a datagram; a larger send fails with EMSGSIZE.
 *
 * <p><b>Threading.</b> Thread-safe: each call is one syscall on the caller's thread (blocking ones
 * park it between tries, as {@link BlockingIo} does, and are refused inside a loop). On a
 * {@link Handle} the syscall holds it, so a close from another thread waits for it; a blocked call
 * on a handle closed meanwhile ends with {@link WaitDroppedException}. Failures: the one-try calls
 * throw {@link SyscallException} (unchecked); the blocking ones its {@link IOException} cause (an
 * ICMP refusal on a connected UDP socket is a {@link SyscallConnectException}, ECONNREFUSED).
 */
public final class Datagrams {
    private Datagrams() {}

    // ---- sockets ----

    /**
     * A UDP socket bound to {@code address:port} (port 0 picks a free one; {@link Sockets#localPort}
     * tells it). Thread-safe.
     *
     * @throws IllegalArgumentException for a null address or a port outside 0..65535
     * @throws SyscallException if {@code socket} or {@code bind} fails (EADDRINUSE...); the socket is closed
     */
    public static int bindUdp(InetAddress address, int port) {
        if (address == null) throw new IllegalArgumentException("bindUdp: address is null");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("bindUdp: port " + port + " is outside 0..65535");
        SockAddr local = Addresses.of(address, port);
        return DatagramIo.open(local.family(), local, Addresses.describe(new InetSocketAddress(address, port)));
    }

    /** An unbound UDP socket of {@code family} (INET or INET6); the kernel binds it at its first send. Thread-safe. */
    public static int openUdp(ProtocolFamily family) {
        int f = family == StandardProtocolFamily.INET ? SocketCalls.AF_INET
                : family == StandardProtocolFamily.INET6 ? SocketCalls.AF_INET6 : -1;
        if (f < 0) throw new IllegalArgumentException("openUdp: " + family + " is not INET or INET6");
        return DatagramIo.open(f, null, family.toString());
    }

    /**
     * A Unix domain datagram socket bound to {@code path} (a new socket file: delete it when done),
     * or unbound if {@code path} is null (it can send, but nobody can answer it). Here and in every
     * target, a path starting with {@code @} is the Linux abstract name after it (no file; as Go's
     * {@code net} package reads it, and as a sender's name is reported): a file named so is
     * {@code ./@name}. Thread-safe.
     */
    public static int openUnix(UnixDomainSocketAddress path) {
        SockAddr local = path == null ? null : Addresses.of("openUnix", path);
        return DatagramIo.open(SocketCalls.AF_UNIX, local, path == null ? "unbound AF_UNIX" : path.toString());
    }

    /**
     * Sets the socket's default peer: sends with no target go there, and only its datagrams are
     * received. Never waits. Thread-safe.
     *
     * @throws SyscallException if {@code connect} fails (ENOENT for a missing Unix path)
     */
    public static void connect(int fd, SocketAddress peer) {
        checkFd(fd);
        DatagramIo.connect(fd, Addresses.of("connect", peer), Addresses.describe(peer));
    }

    /**
     * Ends the socket's association made by {@link #connect} ({@code connect} with
     * {@code AF_UNSPEC}): sends need a target again and datagrams from any sender are received. On a
     * socket never connected it does nothing. Never waits. Thread-safe, but not atomic: Linux lets go
     * of a UDP port the kernel picked, which this call binds again, so a send made from another
     * thread in between would take a new port (and this call then fails with EADDRINUSE).
     *
     * @throws IllegalArgumentException if {@code fd} is not a datagram socket (on a stream socket
     *     the same syscall would reset its connection), before any change
     * @throws SyscallException if {@code connect} fails, or {@code fd} is no socket (ENOTSOCK); or
     *     if the port was taken before it could be bound again (EADDRINUSE: the association has
     *     ended, and the socket takes a new port at its next send)
     */
    public static void disconnect(int fd) {
        checkFd(fd);
        DatagramIo.disconnect(fd);
    }

    // ---- one try ----

    /**
     * Sends {@code src}'s remaining bytes as one datagram to {@code target} (null: the connected
     * peer), advancing its position: the count, or {@link Fds#WOULD_BLOCK}. Thread-safe.
     *
     * @throws SyscallException EMSGSIZE if too long, ECONNREFUSED after an ICMP refusal...
     */
    public static int trySend(int fd, ByteBuffer src, SocketAddress target) {
        checkFd(fd);
        return DatagramIo.trySend(fd, Objects.requireNonNull(src, "src"), target(target));
    }

    /**
     * Receives one datagram into {@code dst} from its position (advanced by what it stored), or null
     * if none is pending. Thread-safe. A datagram socket's only: on a stream socket the call's
     * {@code MSG_TRUNC} discards the bytes it reports.
     */
    public static Datagram tryReceive(int fd, ByteBuffer dst) {
        checkFd(fd);
        return of(DatagramIo.tryReceive(fd, Objects.requireNonNull(dst, "dst")));
    }

    /** {@link #trySend(int, ByteBuffer, SocketAddress)} on an owned socket, held for the syscall. */
    public static int trySend(Handle handle, ByteBuffer src, SocketAddress target) {
        Objects.requireNonNull(src, "src");
        SockAddr to = target(target);
        OwnedFd o = handle.owned;
        if (!o.acquire()) throw o.closedException();
        try {
            return DatagramIo.trySend(o.fd, src, to);
        } finally {
            o.release();
        }
    }

    /** {@link #tryReceive(int, ByteBuffer)} on an owned socket, held for the syscall. */
    public static Datagram tryReceive(Handle handle, ByteBuffer dst) {
        Objects.requireNonNull(dst, "dst");
        OwnedFd o = handle.owned;
        if (!o.acquire()) throw o.closedException();
        try {
            return of(DatagramIo.tryReceive(o.fd, dst));
        } finally {
            o.release();
        }
    }

    /**
     * Whether the socket's receiving side is shut down ({@link Sockets#shutdownInput}, here or
     * through another fd of its file): the socket then reports readable for good, so a receive no
     * longer waits (a Unix socket gets no more datagrams; Linux still queues those that come to a
     * UDP socket, which {@link #tryReceive} takes). A loop of {@link #tryReceive} and readiness waits asks this when a wait ended and
     * nothing came, as {@link #receive} and {@link DatagramOperation#receive} do (they then fail
     * with ESHUTDOWN). One {@code poll(2)}. Thread-safe.
     *
     * @throws SyscallException if {@code poll} fails
     */
    public static boolean isInputShutdown(int fd) {
        checkFd(fd);
        return DatagramIo.inputShutdown(fd);
    }

    /** {@link #isInputShutdown(int)} of an owned socket, held for the syscall. */
    public static boolean isInputShutdown(Handle handle) {
        return Sockets.held(handle, DatagramIo::inputShutdown);
    }

    /**
     * Whether a send that found no room after a readiness wait cannot wait for readiness again: a
     * Unix datagram socket whose fd says room while the unconnected peer it sends to has a full
     * queue, which the kernel does not report (a wait would return at once, for ever). A loop of
     * {@link #trySend} and readiness waits asks this when a wait ended and the send still found no
     * room, and pauses instead, as {@link #send} does. One {@code getsockopt} and one
     * {@code poll(2)}. Thread-safe.
     *
     * @throws SyscallException if {@code getsockopt} fails
     */
    public static boolean isRoomUnreported(Handle handle) {
        return Sockets.held(handle, DatagramIo::roomUnreported);
    }

    // ---- blocking, for virtual threads ----

    /**
     * Sends one datagram, blocking while the socket's buffer is full: the count. An unconnected Unix
     * datagram socket whose peer's queue is full, which readiness cannot report, is retried after
     * pauses doubling from 1 to 64 ms. Refused inside a loop.
     */
    public static int send(int fd, ByteBuffer src, SocketAddress target) throws IOException {
        Objects.requireNonNull(src, "src");
        BlockingIo.refuseInLoop("send", fd);
        return DatagramIo.send(fd, null, src, target(target));
    }

    /** Receives one datagram, blocking until one comes. Refused inside a loop. */
    public static Datagram receive(int fd, ByteBuffer dst) throws IOException {
        Objects.requireNonNull(dst, "dst");
        BlockingIo.refuseInLoop("receive", fd);
        return of(DatagramIo.receive(fd, null, dst));
    }

    /** {@link #send(int, ByteBuffer, SocketAddress)} on an owned socket. */
    public static int send(Handle handle, ByteBuffer src, SocketAddress target) throws IOException {
        Objects.requireNonNull(src, "src");
        SockAddr to = target(target);
        OwnedFd o = handle.owned;
        BlockingIo.refuseInLoop("send", o.fd);
        return DatagramIo.send(o.fd, o, src, to);
    }

    /** {@link #receive(int, ByteBuffer)} on an owned socket. */
    public static Datagram receive(Handle handle, ByteBuffer dst) throws IOException {
        Objects.requireNonNull(dst, "dst");
        OwnedFd o = handle.owned;
        BlockingIo.refuseInLoop("receive", o.fd);
        return of(DatagramIo.receive(o.fd, o, dst));
    }

    // ---- shared ----

    static Datagram of(DatagramIo.Received r) {
        return r == null ? null : new Datagram(r.length(), r.stored(), r.sender());
    }

    static SockAddr target(SocketAddress target) {
        return target == null ? null : Addresses.of("send", target);
    }

    private static void checkFd(int fd) {
        if (fd < 0) throw new IllegalArgumentException("fd " + fd + " is negative");
    }
}
