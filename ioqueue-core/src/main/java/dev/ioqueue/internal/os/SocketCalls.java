package dev.ioqueue.internal.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * {@code <sys/socket.h>} for stream sockets (TCP over IPv4 and IPv6, AF_UNIX) and AF_UNIX pairs.
 * Each method returns the syscall's result or {@code -errno}. Addresses are {@link SockAddr}s.
 */
public final class SocketCalls {
    public static final int AF_UNIX = 1;
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_NONBLOCK = Unistd.O_NONBLOCK;
    public static final int SOCK_CLOEXEC = Unistd.O_CLOEXEC;
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_TYPE = 3;
    public static final int SO_ERROR = 4;
    public static final int SO_REUSEPORT = 15;
    public static final int IPPROTO_TCP = 6;
    public static final int TCP_NODELAY = 1;
    public static final int MSG_OOB = 1;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int SHUT_RD = 0;
    public static final int SHUT_WR = 1;
    /** Errnos of {@code <errno.h>} that {@link Errno} does not name as constants. */
    public static final int EADDRNOTAVAIL = 99;
    public static final int ECONNABORTED = 103;
    /** What {@link #recvByte} returns at end of stream. */
    public static final int NO_BYTE = Integer.MIN_VALUE;

    private static final MethodHandle SOCKET = Native.nonBlocking("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Syscall.SOCKET);
    private static final MethodHandle SOCKETPAIR = Native.nonBlocking("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), Syscall.SOCKET);
    private static final MethodHandle BIND = Native.nonBlocking("bind",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), Syscall.BIND);
    private static final MethodHandle LISTEN = Native.nonBlocking("listen",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), Syscall.LISTEN);
    private static final MethodHandle ACCEPT4 = Native.blocking("accept4",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT), Syscall.ACCEPT);
    private static final MethodHandle CONNECT = Native.blocking("connect",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), Syscall.CONNECT);
    private static final MethodHandle GETSOCKNAME = Native.nonBlocking("getsockname",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GETPEERNAME = Native.nonBlocking("getpeername",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SETSOCKOPT = Native.nonBlocking("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKOPT = Native.nonBlocking("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SHUTDOWN = Native.nonBlocking("shutdown",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle RECV = Native.blocking("recv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), Syscall.READ);
    private static final MethodHandle SEND = Native.blocking("send",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), Syscall.WRITE);

    private SocketCalls() {}

    public static int socket(int domain, int type, int protocol, MemorySegment errno) {
        try {
            return Native.check((int) SOCKET.invokeExact(errno, domain, type, protocol), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code socketpair(domain, type, 0)}: the two fds packed as in {@link Unistd#pipe2}, or {@code -errno}. */
    public static long socketpair(int domain, int type, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(JAVA_INT, 2);
            int r = Native.check((int) SOCKETPAIR.invokeExact(errno, domain, type, 0, fds), errno);
            return r < 0 ? r : Native.pack(fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1));
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code bind(fd, address, addrlen)}. */
    public static int bind(int fd, SockAddr address, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(address.length(), 4);
            address.copyTo(sa);
            return Native.check((int) BIND.invokeExact(errno, fd, sa, address.length()), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code connect(fd, address, addrlen)}. */
    public static int connect(int fd, SockAddr address, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(address.length(), 4);
            address.copyTo(sa);
            return Native.check((int) CONNECT.invokeExact(errno, fd, sa, address.length()), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    public static int listen(int fd, int backlog, MemorySegment errno) {
        try {
            return Native.check((int) LISTEN.invokeExact(errno, fd, backlog), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code accept4(fd, NULL, NULL, flags)}. */
    public static int accept4(int fd, int flags, MemorySegment errno) {
        try {
            return Native.check((int) ACCEPT4.invokeExact(errno, fd, MemorySegment.NULL, MemorySegment.NULL, flags), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /**
     * {@code getsockname} into {@code storage} ({@link SockAddr#STORAGE_SIZE} bytes): the address
     * length, or {@code -errno}. Decode it with {@link SockAddr#decode}.
     */
    public static int getsockname(int fd, byte[] storage, MemorySegment errno) {
        return name(GETSOCKNAME, fd, storage, errno);
    }

    /** {@code getpeername}, as {@link #getsockname}: ENOTCONN until the socket is connected. */
    public static int getpeername(int fd, byte[] storage, MemorySegment errno) {
        return name(GETPEERNAME, fd, storage, errno);
    }

    private static int name(MethodHandle call, int fd, byte[] storage, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(SockAddr.STORAGE_SIZE, 8);
            MemorySegment len = arena.allocateFrom(JAVA_INT, SockAddr.STORAGE_SIZE);
            int r = Native.check((int) call.invokeExact(errno, fd, sa, len), errno);
            if (r < 0) return r;
            int length = Math.min(len.get(JAVA_INT, 0), storage.length); // longer only if truncated
            MemorySegment.copy(sa, JAVA_BYTE, 0, storage, 0, length);
            return length;
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code setsockopt} of an int option. */
    public static int setIntOption(int fd, int level, int name, int value, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocateFrom(JAVA_INT, value);
            return Native.check((int) SETSOCKOPT.invokeExact(errno, fd, level, name, v, (int) v.byteSize()), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code getsockopt} of a non-negative int option (such as SO_ERROR): its value, or {@code -errno}. */
    public static int intOption(int fd, int level, int name, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_INT);
            MemorySegment len = arena.allocateFrom(JAVA_INT, 4);
            int r = Native.check((int) GETSOCKOPT.invokeExact(errno, fd, level, name, v, len), errno);
            return r < 0 ? r : v.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    public static int shutdown(int fd, int how, MemorySegment errno) {
        try {
            return Native.check((int) SHUTDOWN.invokeExact(errno, fd, how), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code recv} of one byte with {@code flags}: the byte (0..255), {@link #NO_BYTE} at end of stream, or {@code -errno}. */
    public static int recvByte(int fd, int flags, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment b = arena.allocate(JAVA_BYTE);
            long n = Native.check((long) RECV.invokeExact(errno, fd, b, 1L, flags), errno);
            if (n < 0) return (int) n;
            return n == 0 ? NO_BYTE : Byte.toUnsignedInt(b.get(JAVA_BYTE, 0));
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code send} of one byte with {@code flags}: 1, or {@code -errno}. */
    public static int sendByte(int fd, byte value, int flags, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment b = arena.allocateFrom(JAVA_BYTE, value);
            return (int) Native.check((long) SEND.invokeExact(errno, fd, b, 1L, flags), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }
}
