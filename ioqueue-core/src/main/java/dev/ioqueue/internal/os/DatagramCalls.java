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
 * {@code <sys/socket.h>} for datagram sockets (UDP over IPv4 and IPv6, AF_UNIX SOCK_DGRAM):
 * {@code sendto} and {@code recvfrom}, each returning its result or {@code -errno}. Sockets are
 * made and bound with {@link SocketCalls}; addresses are {@link SockAddr}s.
 */
public final class DatagramCalls {
    public static final int SOCK_DGRAM = 2;
    /** recvfrom: return the datagram's real length even when it is longer than the buffer. */
    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_NOSIGNAL = 0x4000;
    /** IPv4's largest UDP payload: 65535 less the 20-byte IP and 8-byte UDP headers. */
    public static final int MAX_UDP4_PAYLOAD = 65_507;

    private static final MethodHandle SENDTO = Native.blocking("sendto",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), Syscall.WRITE);
    private static final MethodHandle RECVFROM = Native.blocking("recvfrom",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS), Syscall.READ);

    private DatagramCalls() {}

    /**
     * {@code sendto(fd, buf, len, flags, to, tolen)}; {@code to} null sends to the connected peer
     * ({@code NULL, 0}). The count sent (all of it: a datagram is never split) or {@code -errno}.
     */
    public static long sendto(int fd, MemorySegment buf, long len, int flags, SockAddr to, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = MemorySegment.NULL;
            int saLen = 0;
            if (to != null) {
                sa = arena.allocate(to.length(), 4);
                to.copyTo(sa);
                saLen = to.length();
            }
            return Native.check((long) SENDTO.invokeExact(errno, fd, buf, len, flags, sa, saLen), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /**
     * {@code recvfrom(fd, buf, len, flags, from, &fromlen)} with the sender's address written into
     * {@code from} ({@link SockAddr#STORAGE_SIZE} bytes) and its length into {@code fromLength[0]}.
     * With {@link #MSG_TRUNC} the result is the datagram's length even if more than {@code len}
     * bytes (only {@code len} stored). The count, or {@code -errno}.
     */
    public static long recvfrom(int fd, MemorySegment buf, long len, int flags, byte[] from, int[] fromLength, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(SockAddr.STORAGE_SIZE, 8);
            MemorySegment saLen = arena.allocateFrom(JAVA_INT, SockAddr.STORAGE_SIZE);
            long n = Native.check((long) RECVFROM.invokeExact(errno, fd, buf, len, flags, sa, saLen), errno);
            if (n >= 0) {
                int l = Math.min(saLen.get(JAVA_INT, 0), from.length);
                MemorySegment.copy(sa, JAVA_BYTE, 0, from, 0, l);
                fromLength[0] = l;
            }
            return n;
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }
}
