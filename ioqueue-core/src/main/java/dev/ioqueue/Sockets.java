package dev.ioqueue;

import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.io.Addresses;
import dev.ioqueue.internal.io.SocketSteps;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.SockAddr;
import dev.ioqueue.internal.os.SocketCalls;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Non-blocking, close-on-exec stream sockets as plain fds, for waiting on with an {@link IoQueue}:
 * TCP over IPv4 and IPv6, and Unix domain sockets, on a filesystem path or a Linux abstract name.
 * Read and write them with {@link Fds}, close them with {@link Fds#close}.
 *
 * <p>Thread-safe: every method works only on the fd it is given or the socket it makes, with one
 * syscall or a short fixed sequence of them (socket, bind, listen), and keeps no state. Arguments
 * are checked before any syscall ({@link IllegalArgumentException}); a failed syscall throws
 * {@link SyscallException} naming the call, the fd and the errno, after closing the socket the
 * method made, so no failure leaks an fd. Every fd returned is a plain fd: take ownership with
 * {@link Handle#of(int)} where its close must be exact from any thread.
 *
 * <p>TCP sockets made here have TCP_NODELAY on: connected ones, and, through their listener (Linux
 * passes it on), accepted ones; see {@link SocketOptions} for the rest.
 */
public final class Sockets {
    private Sockets() {}

    // ---- TCP over IPv4 and IPv6 ----

    /**
     * A listening TCP socket bound to {@code address:port}, with SO_REUSEADDR: AF_INET for an
     * {@link java.net.Inet4Address}, AF_INET6 for an {@link Inet6Address} (its scope id, for a
     * link-local address, is passed on). {@code port} 0 picks a free one: see {@link #localPort}.
     * Wait for READ on it, then {@link #accept}.
     *
     * <p>IPV6_V6ONLY is left at the kernel's default ({@code net.ipv6.bindv6only}, 0 on most
     * systems): a socket bound to {@code ::} then also accepts IPv4 clients, seen as
     * {@code ::ffff:a.b.c.d} by the kernel and as an IPv4 {@link #remoteAddress}.
     *
     * <p>Thread-safe: four syscalls (socket, setsockopt, bind, listen) on the socket it makes.
     *
     * @throws IllegalArgumentException if {@code address} is null, {@code port} is outside
     *     0..65535 or {@code backlog} is negative (before any syscall)
     * @throws SyscallException if a call fails: {@code socket} with EAFNOSUPPORT on a kernel
     *     without IPv6, {@code bind} with EADDRINUSE, or EADDRNOTAVAIL for an address no interface
     *     has; the detail names the address
     */
    public static int listenTcp(InetAddress address, int port, int backlog) {
        return listenTcp(address, port, backlog, false);
    }

    /**
     * {@link #listenTcp(InetAddress, int, int)}, and with {@code reusePort} also SO_REUSEPORT: then
     * several sockets, each made with {@code reusePort}, may listen on the same address and port
     * (bind the first to port 0, the others to its {@link #localPort}), and the kernel spreads new
     * connections over them by a hash of the client's address and port, so each of N loops can
     * accept on its own socket. Linux lets only sockets of the same user share a port this way.
     *
     * <p>Thread-safe: four or five syscalls (socket, setsockopt for each option, bind, listen) on
     * the socket it makes.
     *
     * @throws IllegalArgumentException as {@link #listenTcp(InetAddress, int, int)}
     * @throws SyscallException as {@link #listenTcp(InetAddress, int, int)}; {@code bind} fails
     *     with EADDRINUSE if a socket already bound there was made without SO_REUSEPORT
     */
    public static int listenTcp(InetAddress address, int port, int backlog, boolean reusePort) {
        SockAddr sa = inet("listenTcp", address, port);
        checkBacklog("listenTcp", backlog);
        return SocketSteps.listen(sa, backlog, describe(address, port), true, reusePort);
    }

    /**
     * Starts connecting to {@code address:port} (IPv4 or IPv6, as {@link #listenTcp}) and returns
     * the fd at once: wait for WRITE, then check {@link #connectError}. A loopback connect may
     * already be complete; the wait then ends at once. Thread-safe: two syscalls (socket,
     * connect) on the socket it makes.
     *
     * @throws IllegalArgumentException if {@code address} is null or {@code port} is outside 1..65535
     * @throws SyscallException if {@code connect} fails at once (anything but EINPROGRESS); the
     *     detail names the address
     */
    public static int connectTcp(InetAddress address, int port) {
        Connect.checkPeerPort("connectTcp", port);
        SockAddr peer = inet("connectTcp", address, port);
        return SocketSteps.connect(peer, describe(address, port));
    }

    /**
     * The pending error of a socket (SO_ERROR), cleared by reading it: 0 once a non-blocking
     * connect succeeded, else its errno (ECONNREFUSED...). Thread-safe: one syscall.
     */
    public static int connectError(int fd) {
        int value = SocketCalls.intOption(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_ERROR, Native.threadErrno());
        if (value < 0) throw new SyscallException("getsockopt(SO_ERROR)", fd, -value);
        return value;
    }

    /**
     * The local port an IPv4 or IPv6 socket is bound to. Thread-safe: one syscall.
     *
     * @throws IllegalArgumentException if {@code fd} is a socket of another family (a Unix
     *     domain socket has no port)
     * @throws SyscallException if {@code getsockname} fails (EBADF, ENOTSOCK)
     */
    public static int localPort(int fd) {
        SockAddr sa = SocketSteps.sockName(fd, false);
        if (!sa.isInet()) throw new IllegalArgumentException("localPort: fd " + fd + " is " + SocketSteps.familyName(sa.family()) + ", not IP: it has no port");
        return sa.port();
    }

    /**
     * The address and port an IPv4 or IPv6 socket is bound to, or null for a socket of another
     * family (a Unix domain socket). An address in an AF_INET6 socket that maps an IPv4 one
     * ({@code ::ffff:a.b.c.d}) comes back as an {@link java.net.Inet4Address}, as the JDK's own
     * sockets report it; a link-local one keeps its scope id. Thread-safe: one syscall.
     *
     * @throws SyscallException if {@code getsockname} fails (EBADF, ENOTSOCK)
     */
    public static InetSocketAddress localAddress(int fd) {
        return inetAddress(SocketSteps.sockName(fd, false));
    }

    /**
     * Who is at the other end of a connected IPv4 or IPv6 socket (for an accepted fd: who
     * connected), or null for a socket of another family (a Unix domain socket), as
     * {@link #localAddress}. Thread-safe: one syscall.
     *
     * @throws SyscallException if {@code getpeername} fails: ENOTCONN before a connect completed
     *     or after the connection is gone, EBADF, ENOTSOCK
     */
    public static InetSocketAddress remoteAddress(int fd) {
        return inetAddress(SocketSteps.sockName(fd, true));
    }

    /**
     * {@link #localAddress(int)} of an owned socket, held open for the syscall (a close from another
     * thread waits for it), so the answer is never that of a file that took the number since.
     * Thread-safe.
     *
     * @throws IllegalStateException once the handle is closed
     */
    public static InetSocketAddress localAddress(Handle handle) {
        return held(handle, Sockets::localAddress);
    }

    /** {@link #remoteAddress(int)} of an owned socket, held open for the syscall as {@link #localAddress(Handle)} is. Thread-safe. */
    public static InetSocketAddress remoteAddress(Handle handle) {
        return held(handle, Sockets::remoteAddress);
    }

    // ---- Unix domain sockets (AF_UNIX, SOCK_STREAM) ----

    /**
     * A listening Unix domain stream socket bound to {@code path}, a new socket file (a relative
     * path resolves against the process's working directory). Wait for READ on it, then
     * {@link #accept}. Peers connect with {@link #connectUnix}, the JDK's
     * {@code SocketChannel.open(StandardProtocolFamily.UNIX)}, {@code socat UNIX-CONNECT:path}...
     *
     * <p>{@code path} is always a file here, even one whose name starts with {@code @} (an
     * abstract name is {@link #listenUnixAbstract}'s); a {@link java.net.UnixDomainSocketAddress}
     * given to {@link Connect}, {@link BlockingIo#connect} or {@link Datagrams} reads a leading
     * {@code @} as an abstract name (Go's rule): there a file named so is {@code ./@name}.
     *
     * <p>The socket file outlives the fd: delete it when done. An existing file at {@code path}
     * is never removed here, even a stale socket left by a dead server: {@code bind} then fails
     * with EADDRINUSE, and the caller decides. Thread-safe: three syscalls (socket, bind, listen)
     * on the socket it makes.
     *
     * @throws IllegalArgumentException before any syscall if {@code path} is null, empty, not on
     *     the default file system, holds a NUL, or is longer than 107 bytes in UTF-8 (the size of
     *     {@code sun_path} less its terminating NUL), or if {@code backlog} is negative
     * @throws SyscallException if a call fails, e.g. {@code bind} with EADDRINUSE (the path
     *     exists), ENOENT or EACCES; the detail names the path
     */
    public static int listenUnix(Path path, int backlog) {
        SockAddr sa = SockAddr.unixPath(pathBytes("listenUnix", path));
        checkBacklog("listenUnix", backlog);
        return SocketSteps.listen(sa, backlog, shortened(path.toString()), false, false);
    }

    /**
     * Connects to the Unix domain stream socket listening at {@code path}. Such a connect does
     * not wait: the fd comes back connected (waiting for WRITE and {@link #connectError} as for
     * {@link #connectTcp} also works, and ends at once with 0). Thread-safe: two syscalls (socket,
     * connect) on the socket it makes.
     *
     * @throws IllegalArgumentException as {@link #listenUnix} for a bad {@code path}
     * @throws SyscallException naming the path if {@code connect} fails: ENOENT (no such file),
     *     ECONNREFUSED (nobody listens there, e.g. a stale socket file), EAGAIN (the listener's
     *     backlog is full: nothing is in progress, try again later)
     */
    public static int connectUnix(Path path) {
        return SocketSteps.connect(SockAddr.unixPath(pathBytes("connectUnix", path)), shortened(path.toString()));
    }

    /**
     * A listening Unix domain stream socket bound to a Linux abstract name: no file is made, and
     * the name disappears with the last fd bound to it. {@code name} is taken as its UTF-8 bytes,
     * exactly (tools such as {@code ss} and {@code socat ABSTRACT-CONNECT:name} show and take the
     * same bytes, {@code ss} with a leading {@code @}). Abstract names belong to the network
     * namespace, not the file system: any process in it may connect. Thread-safe: three syscalls
     * (socket, bind, listen) on the socket it makes.
     *
     * @throws IllegalArgumentException before any syscall if {@code name} is null, empty or
     *     longer than 107 bytes in UTF-8, or if {@code backlog} is negative
     * @throws SyscallException if a call fails, e.g. {@code bind} with EADDRINUSE (the name is
     *     taken); the detail names it
     */
    public static int listenUnixAbstract(String name, int backlog) {
        SockAddr sa = SockAddr.unixAbstract(abstractBytes("listenUnixAbstract", name));
        checkBacklog("listenUnixAbstract", backlog);
        return SocketSteps.listen(sa, backlog, "@" + name, false, false);
    }

    /**
     * Connects to the Unix domain stream socket listening on the abstract {@code name}, as
     * {@link #connectUnix} does to a path. Thread-safe: two syscalls (socket, connect) on the
     * socket it makes.
     *
     * @throws IllegalArgumentException as {@link #listenUnixAbstract} for a bad {@code name}
     * @throws SyscallException naming it if {@code connect} fails: ECONNREFUSED (nobody listens
     *     on that name), EAGAIN (the listener's backlog is full)
     */
    public static int connectUnixAbstract(String name) {
        return SocketSteps.connect(SockAddr.unixAbstract(abstractBytes("connectUnixAbstract", name)), "@" + name);
    }

    // ---- any connected stream socket ----

    /**
     * Accepts one connection on a listening socket of any family (TCP over IPv4 or IPv6, Unix
     * domain) as a non-blocking, close-on-exec fd, or returns {@link Fds#WOULD_BLOCK} when none is
     * pending (also when one was aborted before it could be taken). Thread-safe: one syscall
     * (EINTR retried).
     *
     * @throws SyscallException for EMFILE and other failures
     */
    public static int accept(int listenFd) {
        return dev.ioqueue.internal.io.Transfers.accept(listenFd);
    }

    /**
     * Shuts the sending side down (a half-close: the peer reads EOF, this side can still read).
     * Thread-safe: one syscall.
     */
    public static void shutdownOutput(int fd) {
        shutdown(fd, SocketCalls.SHUT_WR);
    }

    /**
     * {@link #shutdownOutput(int)} on an owned socket, held open for the syscall: a close from
     * another thread waits for it, so it never reaches a file that took the number since.
     * Thread-safe.
     *
     * @throws IllegalStateException if the handle is closed (or closing)
     */
    public static void shutdownOutput(Handle handle) {
        shutdown(handle, SocketCalls.SHUT_WR);
    }

    /**
     * Shuts the receiving side down: a read waiting on the socket returns at once, with what is
     * buffered or end-of-file. A TCP peer is sent nothing (its bytes still arrive; unread at the
     * close, they make the close a reset); a Unix stream socket's peer can no longer send (EPIPE).
     * A datagram socket's receives fail with ESHUTDOWN from then on instead of waiting (see
     * {@link Datagrams#isInputShutdown}); on an unconnected UDP socket Linux reports ENOTCONN (the
     * {@link SyscallException} this throws) yet shuts it down all the same. Thread-safe: one syscall.
     */
    public static void shutdownInput(int fd) {
        shutdown(fd, SocketCalls.SHUT_RD);
    }

    /** {@link #shutdownInput(int)} on an owned socket, held open for the syscall as {@link #shutdownOutput(Handle)} is. Thread-safe. */
    public static void shutdownInput(Handle handle) {
        shutdown(handle, SocketCalls.SHUT_RD);
    }

    private static void shutdown(Handle handle, int how) {
        held(handle, fd -> {
            shutdown(fd, how);
            return null;
        });
    }

    /** {@code call} on the handle's fd, held open meanwhile: a close from another thread waits for it. */
    static <T> T held(Handle handle, java.util.function.IntFunction<T> call) {
        OwnedFd o = Objects.requireNonNull(handle, "handle").owned;
        if (!o.acquire()) throw o.closedException();
        try {
            return call.apply(o.fd);
        } finally {
            o.release();
        }
    }

    private static void shutdown(int fd, int how) {
        int r = SocketCalls.shutdown(fd, how, Native.threadErrno());
        if (r < 0) throw new SyscallException(how == SocketCalls.SHUT_WR ? "shutdown(SHUT_WR)" : "shutdown(SHUT_RD)", fd, -r);
    }

    /**
     * Sends one byte of TCP urgent data (MSG_OOB); the peer sees PRIORITY_READ. Returns 1 or
     * {@link Fds#WOULD_BLOCK}. Thread-safe: one syscall.
     */
    public static int sendUrgent(int fd, byte value) {
        int n = SocketCalls.sendByte(fd, value, SocketCalls.MSG_OOB | SocketCalls.MSG_NOSIGNAL, Native.threadErrno());
        if (n == -Errno.EAGAIN) return Fds.WOULD_BLOCK;
        if (n < 0) throw new SyscallException("send(MSG_OOB)", fd, -n);
        return n;
    }

    /**
     * Reads the pending TCP urgent byte (MSG_OOB): 0..255, or {@link Fds#WOULD_BLOCK} when none is
     * pending. Thread-safe: one syscall.
     */
    public static int readUrgent(int fd) {
        int b = SocketCalls.recvByte(fd, SocketCalls.MSG_OOB, Native.threadErrno());
        if (b == SocketCalls.NO_BYTE) return Fds.EOF;
        if (b == -Errno.EAGAIN || b == -Errno.EINVAL) return Fds.WOULD_BLOCK;
        if (b < 0) throw new SyscallException("recv(MSG_OOB)", fd, -b);
        return b;
    }

    /** As the JDK reports a socket address ({@link Addresses#toJdk}); null for a socket of another family. */
    private static InetSocketAddress inetAddress(SockAddr sa) {
        return sa.isInet() ? (InetSocketAddress) Addresses.toJdk(sa) : null;
    }

    // ---- argument checks, before any syscall ----

    private static SockAddr inet(String call, InetAddress address, int port) {
        if (address == null) throw new IllegalArgumentException(call + ": address is null");
        if (port < 0 || port > 65535) throw new IllegalArgumentException(call + ": port " + port + " is outside 0..65535");
        return Addresses.of(address, port);
    }

    private static void checkBacklog(String call, int backlog) {
        if (backlog < 0) throw new IllegalArgumentException(call + ": backlog " + backlog + " is negative");
    }

    private static byte[] pathBytes(String call, Path path) {
        if (path == null) throw new IllegalArgumentException(call + ": path is null");
        if (path.getFileSystem() != FileSystems.getDefault()) {
            throw new IllegalArgumentException(call + ": " + path + " is not on the default file system");
        }
        String text = path.toString();
        if (text.isEmpty()) throw new IllegalArgumentException(call + ": the path is empty");
        // Path.of refuses a NUL already; a Path made another way might not.
        if (text.indexOf('\0') >= 0) throw new IllegalArgumentException(call + ": path " + text + " holds a NUL byte");
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > SockAddr.UNIX_NAME_MAX) {
            throw new IllegalArgumentException(call + ": path " + shortened(text) + " is " + bytes.length
                    + " bytes in UTF-8; a Unix socket path holds at most " + SockAddr.UNIX_NAME_MAX);
        }
        return bytes;
    }

    private static byte[] abstractBytes(String call, String name) {
        if (name == null) throw new IllegalArgumentException(call + ": name is null");
        if (name.isEmpty()) throw new IllegalArgumentException(call + ": the abstract name is empty");
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > SockAddr.UNIX_NAME_MAX) {
            throw new IllegalArgumentException(call + ": abstract name " + shortened(name) + " is " + bytes.length
                    + " bytes in UTF-8; an abstract name holds at most " + SockAddr.UNIX_NAME_MAX);
        }
        return bytes;
    }

    /** A name fit for a message: an absurdly long one is cut, its length said. */
    private static String shortened(String text) {
        return text.length() <= 160 ? text : text.substring(0, 120) + "... (" + text.length() + " chars)";
    }

    private static String describe(InetAddress address, int port) {
        return Addresses.describe(new InetSocketAddress(address, port));
    }

}
