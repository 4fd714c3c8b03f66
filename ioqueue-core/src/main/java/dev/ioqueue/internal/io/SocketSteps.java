package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.SockAddr;
import dev.ioqueue.internal.os.SocketCalls;
import dev.ioqueue.internal.os.Unistd;
import java.lang.foreign.MemorySegment;

/**
 * The syscall sequences behind {@code Sockets}' listeners and connects, and the addresses it
 * reports: each makes one socket and closes it again if a later step fails, so no failure leaks
 * an fd. A failure names the step, the errno and where ({@code where}: the address asked for).
 * Thread-safe: no state.
 */
public final class SocketSteps {
    private SocketSteps() {}

    /** socket, (SO_REUSEADDR,) (SO_REUSEPORT,) bind, listen; the socket is closed if any of them fails. */
    public static int listen(SockAddr address, int backlog, String where, boolean reuseAddress, boolean reusePort) {
        MemorySegment errno = Native.threadErrno();
        int fd = socket(address.family(), errno);
        boolean listening = false;
        try {
            if (reuseAddress) {
                int r = SocketCalls.setIntOption(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_REUSEADDR, 1, errno);
                if (r < 0) throw Errors.syscallNoFd("setsockopt(SO_REUSEADDR)", -r, where + CLOSED);
            }
            if (reusePort) {
                int r = SocketCalls.setIntOption(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_REUSEPORT, 1, errno);
                if (r < 0) throw Errors.syscallNoFd("setsockopt(SO_REUSEPORT)", -r, where + CLOSED);
            }
            if (address.isInet()) { // accepted sockets inherit it
                int r = SocketCalls.setIntOption(fd, SocketCalls.IPPROTO_TCP, SocketCalls.TCP_NODELAY, 1, errno);
                if (r < 0) throw Errors.syscallNoFd("setsockopt(TCP_NODELAY)", -r, where + CLOSED);
            }
            int r = SocketCalls.bind(fd, address, errno);
            if (r < 0) throw Errors.syscallNoFd("bind", -r, where + bindHint(address, -r) + CLOSED);
            r = SocketCalls.listen(fd, backlog, errno);
            if (r < 0) throw Errors.syscallNoFd("listen", -r, where + CLOSED);
            listening = true;
            return fd;
        } finally {
            if (!listening) Unistd.close(fd, errno);
        }
    }

    /** Said of a call that failed on a socket made for it, which is closed again: its fd is not named. */
    private static final String CLOSED = " (the socket made for it is closed)";

    /** socket, connect; the socket is closed unless the connect completed or is in progress. */
    public static int connect(SockAddr address, String where) {
        MemorySegment errno = Native.threadErrno();
        int fd = socket(address.family(), errno);
        if (address.isInet()) {
            int r = SocketCalls.setIntOption(fd, SocketCalls.IPPROTO_TCP, SocketCalls.TCP_NODELAY, 1, errno);
            if (r < 0) {
                Unistd.close(fd, errno);
                throw Errors.syscallNoFd("setsockopt(TCP_NODELAY)", -r, where + CLOSED);
            }
        }
        int r = SocketCalls.connect(fd, address, errno);
        if (r < 0 && r != -Errno.EINPROGRESS && r != -Errno.EINTR) {
            Unistd.close(fd, errno);
            String hint = r == -Errno.EAGAIN && address.family() == SocketCalls.AF_UNIX ? " (the listener's backlog is full)" : "";
            throw Errors.syscallNoFd("connect", -r, where + hint + CLOSED);
        }
        return fd;
    }

    private static int socket(int family, MemorySegment errno) {
        int type = SocketCalls.SOCK_STREAM | SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC;
        int fd = SocketCalls.socket(family, type, 0, errno);
        if (fd < 0) throw Errors.syscallNoFd("socket", -fd, familyName(family));
        return fd;
    }

    private static String bindHint(SockAddr address, int errno) {
        if (errno == Errno.EADDRINUSE && address.family() == SocketCalls.AF_UNIX) {
            return address.isAbstract() ? " (another socket holds that abstract name)"
                    : " (something is already bound there; a stale socket file is not removed for you)";
        }
        if (errno == SocketCalls.EADDRNOTAVAIL) return " (no local interface has that address)";
        return "";
    }

    /** getsockname, or getpeername if {@code peer}. */
    public static SockAddr sockName(int fd, boolean peer) {
        byte[] storage = new byte[SockAddr.STORAGE_SIZE];
        MemorySegment errno = Native.threadErrno();
        int length = peer ? SocketCalls.getpeername(fd, storage, errno) : SocketCalls.getsockname(fd, storage, errno);
        if (length < 0) throw Errors.syscall(peer ? "getpeername" : "getsockname", fd, -length);
        return SockAddr.decode(storage, length);
    }

    public static String familyName(int family) {
        return switch (family) {
            case SocketCalls.AF_UNIX -> "AF_UNIX";
            case SocketCalls.AF_INET -> "AF_INET";
            case SocketCalls.AF_INET6 -> "AF_INET6";
            default -> "address family " + family;
        };
    }
}
