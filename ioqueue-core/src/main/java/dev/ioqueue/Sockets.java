package dev.ioqueue;

import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.SocketCalls;
import dev.ioqueue.internal.os.Unistd;
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
        byte[] ip = ipv4(address, port);
        if (backlog < 0) throw new IllegalArgumentException("listen: backlog " + backlog + " is negative");
        MemorySegment errno = Native.threadErrno();
        int fd = tcpSocket(errno);
        try {
            int r = SocketCalls.setIntOption(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_REUSEADDR, 1, errno);
            if (r < 0) throw new SyscallException("setsockopt(SO_REUSEADDR)", fd, -r);
            r = SocketCalls.bindInet(fd, ip, port, errno);
            if (r < 0) throw new SyscallException("bind", fd, -r, address.getHostAddress() + ":" + port);
            r = SocketCalls.listen(fd, backlog, errno);
            if (r < 0) throw new SyscallException("listen", fd, -r);
            return Fds.opened(fd);
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
        byte[] ip = ipv4(address, port);
        MemorySegment errno = Native.threadErrno();
        int fd = tcpSocket(errno);
        int r = SocketCalls.connectInet(fd, ip, port, errno);
        if (r < 0 && r != -Errno.EINPROGRESS && r != -Errno.EINTR) {
            Unistd.close(fd, errno);
            throw new SyscallException("connect", fd, -r, address.getHostAddress() + ":" + port);
        }
        return Fds.opened(fd);
    }

    /** The pending error of a socket (SO_ERROR): 0 once a non-blocking connect succeeded, else the errno. */
    public static int connectError(int fd) {
        int value = SocketCalls.intOption(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_ERROR, Native.threadErrno());
        if (value < 0) throw new SyscallException("getsockopt(SO_ERROR)", fd, -value);
        return value;
    }

    /** The local port a socket is bound to. */
    public static int localPort(int fd) {
        int port = SocketCalls.localPort(fd, Native.threadErrno());
        if (port < 0) throw new SyscallException("getsockname", fd, -port);
        return port;
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
            if (fd >= 0) return Fds.opened(fd);
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
        int n = SocketCalls.sendByte(fd, value, SocketCalls.MSG_OOB | SocketCalls.MSG_NOSIGNAL, Native.threadErrno());
        if (n == -Errno.EAGAIN) return Fds.WOULD_BLOCK;
        if (n < 0) throw new SyscallException("send(MSG_OOB)", fd, -n);
        return n;
    }

    /**
     * Reads the pending TCP urgent byte (MSG_OOB): 0..255, or {@link Fds#WOULD_BLOCK} when none is
     * pending.
     */
    public static int readUrgent(int fd) {
        int b = SocketCalls.recvByte(fd, SocketCalls.MSG_OOB, Native.threadErrno());
        if (b == SocketCalls.NO_BYTE) return Fds.EOF;
        if (b == -Errno.EAGAIN || b == -Errno.EINVAL) return Fds.WOULD_BLOCK;
        if (b < 0) throw new SyscallException("recv(MSG_OOB)", fd, -b);
        return b;
    }

    private static int tcpSocket(MemorySegment errno) {
        int type = SocketCalls.SOCK_STREAM | SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC;
        int fd = SocketCalls.socket(SocketCalls.AF_INET, type, 0, errno);
        if (fd < 0) throw new SyscallException("socket", -fd, null);
        return fd;
    }

    private static byte[] ipv4(InetAddress address, int port) {
        Objects.requireNonNull(address, "address");
        if (!(address instanceof Inet4Address)) throw new IllegalArgumentException(address + " is not IPv4 (only IPv4 is supported)");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port " + port);
        return address.getAddress();
    }
}
