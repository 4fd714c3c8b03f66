package dev.ioqueue.internal.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.ByteOrder;

/**
 * {@code <sys/socket.h>} for IPv4 TCP and AF_UNIX pairs. Each method returns the syscall's result
 * or {@code -errno}.
 *
 * <pre>
 * struct sockaddr_in {          // 16 bytes
 *     sa_family_t    sin_family; // offset 0, AF_INET, host order
 *     in_port_t      sin_port;   // offset 2, network order
 *     struct in_addr sin_addr;   // offset 4, network order
 *     unsigned char  sin_zero[8];
 * };
 * </pre>
 */
public final class SocketCalls {
    public static final int AF_UNIX = 1;
    public static final int AF_INET = 2;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_NONBLOCK = Unistd.O_NONBLOCK;
    public static final int SOCK_CLOEXEC = Unistd.O_CLOEXEC;
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_ERROR = 4;
    public static final int IPPROTO_TCP = 6;
    public static final int TCP_NODELAY = 1;
    public static final int MSG_OOB = 1;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int SHUT_WR = 1;
    public static final long SOCKADDR_IN_SIZE = 16;

    private static final MethodHandle SOCKET = Native.nonBlocking("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SOCKETPAIR = Native.nonBlocking("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle BIND = Native.nonBlocking("bind",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LISTEN = Native.nonBlocking("listen",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle ACCEPT4 = Native.blocking("accept4",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle CONNECT = Native.blocking("connect",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKNAME = Native.nonBlocking("getsockname",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SETSOCKOPT = Native.nonBlocking("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKOPT = Native.nonBlocking("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SHUTDOWN = Native.nonBlocking("shutdown",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle RECV = Native.blocking("recv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle SEND = Native.blocking("send",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    private SocketCalls() {}

    public static int socket(int domain, int type, int protocol, MemorySegment errno) {
        if (Faults.ENABLED) {
            int e = Faults.check(Syscall.SOCKET);
            if (e != 0) return -e;
        }
        try {
            return Native.check((int) SOCKET.invokeExact(errno, domain, type, protocol), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    public static int socketpair(int domain, int type, MemorySegment twoInts, MemorySegment errno) {
        if (Faults.ENABLED) {
            int e = Faults.check(Syscall.SOCKET);
            if (e != 0) return -e;
        }
        try {
            return Native.check((int) SOCKETPAIR.invokeExact(errno, domain, type, 0, twoInts), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** Fills a {@code sockaddr_in} for {@code address} (4 bytes, network order) and {@code port}. */
    public static void sockaddrIn(MemorySegment sa, byte[] address, int port) {
        sa.fill((byte) 0);
        sa.set(JAVA_SHORT, 0, (short) AF_INET);
        sa.set(JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) port);
        for (int i = 0; i < 4; i++) sa.set(JAVA_BYTE, 4 + i, address[i]);
    }

    /** The port of a {@code sockaddr_in}. */
    public static int port(MemorySegment sa) {
        return Short.toUnsignedInt(sa.get(JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN), 2));
    }

    public static int bind(int fd, MemorySegment sa, MemorySegment errno) {
        try {
            return Native.check((int) BIND.invokeExact(errno, fd, sa, (int) sa.byteSize()), errno);
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
        if (Faults.ENABLED) {
            int e = Faults.check(Syscall.ACCEPT);
            if (e != 0) return -e;
        }
        try {
            return Native.check((int) ACCEPT4.invokeExact(errno, fd, MemorySegment.NULL, MemorySegment.NULL, flags), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    public static int connect(int fd, MemorySegment sa, MemorySegment errno) {
        try {
            return Native.check((int) CONNECT.invokeExact(errno, fd, sa, (int) sa.byteSize()), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code getsockname} into {@code sa}; {@code len} is one int holding sa's size. */
    public static int getsockname(int fd, MemorySegment sa, MemorySegment len, MemorySegment errno) {
        len.set(JAVA_INT, 0, (int) sa.byteSize());
        try {
            return Native.check((int) GETSOCKNAME.invokeExact(errno, fd, sa, len), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code setsockopt} of an int option; {@code value} is one int. */
    public static int setsockopt(int fd, int level, int name, MemorySegment value, MemorySegment errno) {
        try {
            return Native.check((int) SETSOCKOPT.invokeExact(errno, fd, level, name, value, (int) value.byteSize()), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code getsockopt} of an int option into {@code value}; {@code len} is one int. */
    public static int getsockopt(int fd, int level, int name, MemorySegment value, MemorySegment len, MemorySegment errno) {
        len.set(JAVA_INT, 0, (int) value.byteSize());
        try {
            return Native.check((int) GETSOCKOPT.invokeExact(errno, fd, level, name, value, len), errno);
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

    public static long recv(int fd, MemorySegment buf, long len, int flags, MemorySegment errno) {
        if (Faults.ENABLED) {
            int e = Faults.check(Syscall.READ);
            if (e != 0) return -e;
        }
        try {
            return Native.check((long) RECV.invokeExact(errno, fd, buf, len, flags), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    public static long send(int fd, MemorySegment buf, long len, int flags, MemorySegment errno) {
        if (Faults.ENABLED) {
            int e = Faults.check(Syscall.WRITE);
            if (e != 0) return -e;
        }
        try {
            return Native.check((long) SEND.invokeExact(errno, fd, buf, len, flags), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }
}
