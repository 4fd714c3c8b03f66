package dev.ioqueue.internal.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * {@code setsockopt(2)} and {@code getsockopt(2)} of any option, its value as the bytes the kernel
 * reads and writes, and the levels and names of {@code <sys/socket.h>}, {@code <netinet/in.h>},
 * {@code <netinet/tcp.h>} the library maps the JDK's {@code SocketOption}s to. Each method is one
 * call, returning its result or {@code -errno}.
 *
 * <pre>
 * int                                // most options: a boolean (0 or 1) or a count, host order
 * struct linger { int l_onoff;       // SO_LINGER, 8 bytes: on or off,
 *                 int l_linger; };   //   and the seconds close(2) waits for unsent data
 * struct ucred  { pid_t pid;         // SO_PEERCRED, 12 bytes (read only): the peer's process,
 *                 uid_t uid;         //   user and group when it connected (or called socketpair)
 *                 gid_t gid; };
 * </pre>
 */
public final class SockOpt {
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_TYPE = 3;
    public static final int SO_BROADCAST = 6;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    public static final int SO_KEEPALIVE = 9;
    public static final int SO_LINGER = 13;
    public static final int SO_REUSEPORT = 15;
    public static final int SO_PEERCRED = 17;
    /** The socket's address family (AF_INET, AF_INET6, AF_UNIX), read only. */
    public static final int SO_DOMAIN = 39;

    public static final int IPPROTO_IP = 0;
    public static final int IP_TOS = 1;
    public static final int IPPROTO_IPV6 = 41;
    public static final int IPV6_V6ONLY = 26;
    public static final int IPV6_TCLASS = 67;

    public static final int IPPROTO_TCP = 6;
    public static final int TCP_NODELAY = 1;
    public static final int TCP_KEEPIDLE = 4;
    public static final int TCP_KEEPINTVL = 5;
    public static final int TCP_KEEPCNT = 6;
    public static final int TCP_QUICKACK = 12;

    /** The kernel's answer for an option the socket's protocol does not have. */
    public static final int ENOPROTOOPT = 92;

    /** The largest value this class passes: {@code struct ucred}. */
    public static final int MAX_VALUE_SIZE = 12;

    private static final MethodHandle SETSOCKOPT = Native.nonBlocking("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKOPT = Native.nonBlocking("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));

    private SockOpt() {}

    /** {@code setsockopt(fd, level, name, value, value.length)}: 0 or {@code -errno}. */
    public static int set(int fd, int level, int name, byte[] value, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(value.length, 4);
            MemorySegment.copy(value, 0, v, JAVA_BYTE, 0, value.length);
            return Native.check((int) SETSOCKOPT.invokeExact(errno, fd, level, name, v, value.length), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /**
     * {@code getsockopt(fd, level, name, value, &len)} with {@code len = value.length}: the length
     * the kernel wrote (at most {@code value.length}), or {@code -errno}.
     */
    public static int get(int fd, int level, int name, byte[] value, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(value.length, 4);
            MemorySegment len = arena.allocateFrom(JAVA_INT, value.length);
            int r = Native.check((int) GETSOCKOPT.invokeExact(errno, fd, level, name, v, len), errno);
            if (r < 0) return r;
            int n = Math.min(len.get(JAVA_INT, 0), value.length);
            MemorySegment.copy(v, JAVA_BYTE, 0, value, 0, n);
            return n;
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }
}
