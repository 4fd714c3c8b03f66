package dev.ioqueue;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.SocketCalls;
import dev.ioqueue.internal.os.Unistd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Objects;

/**
 * Non-blocking, close-on-exec IPv4 TCP sockets as plain fds, for waiting on with an
 * {@link IoQueue}. Thread-safe; read and write them with {@link Fds}.
 */
public final class Sockets {
    private Sockets() {}

    /**
     * A listening socket bound to {@code address:port} ({@code port} 0 picks a free one; see
     * {@link #localPort}), with SO_REUSEADDR. Wait for READ on it, then {@link #accept}.
     */
    public static int listenTcp(InetAddress address, int port, int backlog) {
        MemorySegment errno = Native.threadErrno();
        int fd = tcpSocket(errno);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocateFrom(JAVA_INT, 1);
            int r = SocketCalls.setsockopt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_REUSEADDR, one, errno);
            if (r < 0) throw new SyscallException("setsockopt(SO_REUSEADDR)", fd, -r);
            MemorySegment sa = sockaddr(arena, address, port);
            r = SocketCalls.bind(fd, sa, errno);
            if (r < 0) throw new SyscallException("bind", fd, -r, address.getHostAddress() + ":" + port);
            r = SocketCalls.listen(fd, backlog, errno);
            if (r < 0) throw new SyscallException("listen", fd, -r);
            return fd;
        } catch (RuntimeException e) {
            Unistd.close(fd, errno);
            throw e;
        }
    }

    /**
     * Starts connecting to {@code address:port} and returns the fd at once: wait for WRITE, then
     * check {@link #connectError}.
     */
    public static int connectTcp(InetAddress address, int port) {
        MemorySegment errno = Native.threadErrno();
        int fd = tcpSocket(errno);
        try (Arena arena = Arena.ofConfined()) {
            int r = SocketCalls.connect(fd, sockaddr(arena, address, port), errno);
            if (r < 0 && r != -Errno.EINPROGRESS && r != -Errno.EINTR) {
                throw new SyscallException("connect", fd, -r, address.getHostAddress() + ":" + port);
            }
            return fd;
        } catch (RuntimeException e) {
            Unistd.close(fd, errno);
            throw e;
        }
    }

    /** The pending error of a socket (SO_ERROR): 0 once a non-blocking connect succeeded, else the errno. */
    public static int connectError(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            MemorySegment len = arena.allocate(JAVA_INT);
            int r = SocketCalls.getsockopt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_ERROR, value, len, Native.threadErrno());
            if (r < 0) throw new SyscallException("getsockopt(SO_ERROR)", fd, -r);
            return value.get(JAVA_INT, 0);
        }
    }

    /** The local port a socket is bound to. */
    public static int localPort(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(SocketCalls.SOCKADDR_IN_SIZE, 4);
            int r = SocketCalls.getsockname(fd, sa, arena.allocate(JAVA_INT), Native.threadErrno());
            if (r < 0) throw new SyscallException("getsockname", fd, -r);
            return SocketCalls.port(sa);
        }
    }

    /**
     * Accepts one connection as a non-blocking, close-on-exec fd, or returns
     * {@link Fds#WOULD_BLOCK} when none is pending (also when one was aborted before it could be
     * taken).
     *
     * @throws SyscallException for EMFILE and other failures
     */
    public static int accept(int listenFd) {
        MemorySegment errno = Native.threadErrno();
        while (true) {
            int fd = SocketCalls.accept4(listenFd, SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC, errno);
            if (fd >= 0) return fd;
            if (fd == -Errno.EAGAIN || fd == -103 /* ECONNABORTED */) return Fds.WOULD_BLOCK;
            if (fd != -Errno.EINTR) throw new SyscallException("accept4", listenFd, -fd);
        }
    }

    /** Shuts the sending side down (a half-close: the peer reads EOF, this side can still read). */
    public static void shutdownOutput(int fd) {
        int r = SocketCalls.shutdown(fd, SocketCalls.SHUT_WR, Native.threadErrno());
        if (r < 0) throw new SyscallException("shutdown(SHUT_WR)", fd, -r);
    }

    /** Sends one byte of TCP urgent data (MSG_OOB); the peer sees PRIORITY_READ. Returns 1 or {@link Fds#WOULD_BLOCK}. */
    public static int sendUrgent(int fd, byte value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment b = arena.allocateFrom(JAVA_BYTE, value);
            long n = SocketCalls.send(fd, b, 1, SocketCalls.MSG_OOB | SocketCalls.MSG_NOSIGNAL, Native.threadErrno());
            if (n == -Errno.EAGAIN) return Fds.WOULD_BLOCK;
            if (n < 0) throw new SyscallException("send(MSG_OOB)", fd, (int) -n);
            return (int) n;
        }
    }

    /**
     * Reads the pending TCP urgent byte (MSG_OOB): 0..255, or {@link Fds#WOULD_BLOCK} when none is
     * pending.
     */
    public static int readUrgent(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment b = arena.allocate(JAVA_BYTE);
            long n = SocketCalls.recv(fd, b, 1, SocketCalls.MSG_OOB, Native.threadErrno());
            if (n == -Errno.EAGAIN || n == -Errno.EINVAL) return Fds.WOULD_BLOCK;
            if (n < 0) throw new SyscallException("recv(MSG_OOB)", fd, (int) -n);
            if (n == 0) return Fds.EOF;
            return Byte.toUnsignedInt(b.get(JAVA_BYTE, 0));
        }
    }

    private static int tcpSocket(MemorySegment errno) {
        int type = SocketCalls.SOCK_STREAM | SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC;
        int fd = SocketCalls.socket(SocketCalls.AF_INET, type, 0, errno);
        if (fd < 0) throw new SyscallException("socket", -1, -fd);
        return fd;
    }

    private static MemorySegment sockaddr(Arena arena, InetAddress address, int port) {
        Objects.requireNonNull(address, "address");
        if (!(address instanceof Inet4Address)) throw new IllegalArgumentException(address + " is not IPv4 (only IPv4 is supported)");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port " + port);
        MemorySegment sa = arena.allocate(SocketCalls.SOCKADDR_IN_SIZE, 4);
        SocketCalls.sockaddrIn(sa, address.getAddress(), port);
        return sa;
    }
}
