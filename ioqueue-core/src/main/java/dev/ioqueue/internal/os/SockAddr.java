package dev.ioqueue.internal.os;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A socket address as the kernel reads and writes it ({@code <netinet/in.h>}, {@code <sys/un.h>}):
 * the struct's bytes, exactly {@code addrlen} of them, so {@code bind}, {@code connect},
 * {@code getsockname} and {@code getpeername} ({@link SocketCalls}) take and give one.
 *
 * <pre>
 * struct sockaddr_in {               // 16 bytes
 *     sa_family_t     sin_family;    // offset 0, AF_INET, host order
 *     in_port_t       sin_port;      // offset 2, network order
 *     struct in_addr  sin_addr;      // offset 4, 4 bytes, network order
 *     unsigned char   sin_zero[8];
 * };
 * struct sockaddr_in6 {              // 28 bytes
 *     sa_family_t     sin6_family;   // offset 0, AF_INET6, host order
 *     in_port_t       sin6_port;     // offset 2, network order
 *     uint32_t        sin6_flowinfo; // offset 4, network order (left 0)
 *     struct in6_addr sin6_addr;     // offset 8, 16 bytes, network order
 *     uint32_t        sin6_scope_id; // offset 24, host order: the interface index of a link-local address
 * };
 * struct sockaddr_un {               // 110 bytes
 *     sa_family_t     sun_family;    // offset 0, AF_UNIX
 *     char            sun_path[108]; // offset 2: a path and its NUL, or (Linux) a NUL and an abstract name
 * };
 * struct sockaddr_storage            // 128 bytes: room for any of them
 * </pre>
 *
 * <p>A path's addrlen is {@code 2 + length + 1} (its NUL counted); an abstract name's is
 * {@code 2 + 1 + length}: the kernel takes every byte after the leading NUL as the name, so a
 * trailing NUL would become part of it.
 */
public final class SockAddr {
    /** {@code sizeof(struct sockaddr_storage)}: a buffer {@code getsockname} can always fill. */
    public static final int STORAGE_SIZE = 128;
    /** The longest path or abstract name in bytes: {@code sizeof(sun_path)} less its NUL. */
    public static final int UNIX_NAME_MAX = 107;

    private static final int SUN_PATH = 2;
    private static final ValueLayout.OfShort NET_SHORT = JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final byte[] bytes;

    private SockAddr(byte[] bytes) {
        this.bytes = bytes;
    }

    /** {@code sockaddr_in} for a 4-byte address in network order. */
    public static SockAddr inet4(byte[] ip, int port) {
        if (ip.length != 4) throw new IllegalArgumentException("an IPv4 address has 4 bytes, not " + ip.length);
        byte[] bytes = new byte[16];
        MemorySegment sa = MemorySegment.ofArray(bytes);
        sa.set(JAVA_SHORT_UNALIGNED, 0, (short) SocketCalls.AF_INET);
        sa.set(NET_SHORT, 2, (short) port);
        System.arraycopy(ip, 0, bytes, 4, 4);
        return new SockAddr(bytes);
    }

    /** {@code sockaddr_in6} for a 16-byte address in network order and its scope (0 for none). */
    public static SockAddr inet6(byte[] ip, int port, int scopeId) {
        if (ip.length != 16) throw new IllegalArgumentException("an IPv6 address has 16 bytes, not " + ip.length);
        byte[] bytes = new byte[28];
        MemorySegment sa = MemorySegment.ofArray(bytes);
        sa.set(JAVA_SHORT_UNALIGNED, 0, (short) SocketCalls.AF_INET6);
        sa.set(NET_SHORT, 2, (short) port);
        System.arraycopy(ip, 0, bytes, 8, 16);
        sa.set(JAVA_INT_UNALIGNED, 24, scopeId);
        return new SockAddr(bytes);
    }

    /** A {@code sockaddr} of family {@code AF_UNSPEC}: given to {@code connect}, it ends a datagram socket's association. */
    public static SockAddr unspecified() {
        return new SockAddr(new byte[16]); // AF_UNSPEC is 0
    }

    /** {@code sockaddr_un} for a filesystem path: 1 to 107 bytes, none of them NUL (the caller checks). */
    public static SockAddr unixPath(byte[] path) {
        if (path.length == 0 || path.length > UNIX_NAME_MAX) throw new IllegalArgumentException("path of " + path.length + " bytes");
        for (byte b : path) if (b == 0) throw new IllegalArgumentException("NUL byte in a path");
        byte[] sa = new byte[SUN_PATH + path.length + 1]; // the NUL is the array's last zero
        System.arraycopy(path, 0, sa, SUN_PATH, path.length);
        return unix(sa);
    }

    /** {@code sockaddr_un} for a Linux abstract name: 0 to 107 bytes after the leading NUL, none added after. */
    public static SockAddr unixAbstract(byte[] name) {
        if (name.length > UNIX_NAME_MAX) throw new IllegalArgumentException("abstract name of " + name.length + " bytes");
        byte[] sa = new byte[SUN_PATH + 1 + name.length];
        System.arraycopy(name, 0, sa, SUN_PATH + 1, name.length);
        return unix(sa);
    }

    private static SockAddr unix(byte[] sa) {
        MemorySegment.ofArray(sa).set(JAVA_SHORT_UNALIGNED, 0, (short) SocketCalls.AF_UNIX);
        return new SockAddr(sa);
    }

    /**
     * The first {@code length} bytes of {@code storage}, as {@link SocketCalls#getsockname} or
     * {@link SocketCalls#getpeername} left them.
     */
    public static SockAddr decode(byte[] storage, int length) {
        if (length < 2 || length > storage.length) throw new IllegalStateException("the kernel returned an addrlen of " + length);
        return new SockAddr(Arrays.copyOf(storage, length));
    }

    /** {@code sa_family}: AF_INET, AF_INET6, AF_UNIX... */
    public int family() {
        return Short.toUnsignedInt(segment().get(JAVA_SHORT_UNALIGNED, 0));
    }

    /** Whether this is an AF_UNIX address in the abstract namespace (its path starts with a NUL). */
    public boolean isAbstract() {
        return family() == SocketCalls.AF_UNIX && bytes.length > SUN_PATH && bytes[SUN_PATH] == 0;
    }

    /** Whether this is an AF_INET or AF_INET6 address, which have a port and an IP. */
    public boolean isInet() {
        int family = family();
        return family == SocketCalls.AF_INET || family == SocketCalls.AF_INET6;
    }

    /** The port of an AF_INET or AF_INET6 address. */
    public int port() {
        requireInet();
        return Short.toUnsignedInt(segment().get(NET_SHORT, 2));
    }

    /** The address of an AF_INET (4 bytes) or AF_INET6 (16 bytes) address, in network order. */
    public byte[] ip() {
        requireInet();
        return family() == SocketCalls.AF_INET ? Arrays.copyOfRange(bytes, 4, 8) : Arrays.copyOfRange(bytes, 8, 24);
    }

    /** The scope id of an AF_INET6 address; 0 for AF_INET. */
    public int scopeId() {
        requireInet();
        return family() == SocketCalls.AF_INET6 ? segment().get(JAVA_INT_UNALIGNED, 24) : 0;
    }

    /**
     * The path of an AF_UNIX address (empty for an unnamed socket); an abstract name as {@code @}
     * and the name, as {@code ss} shows it (a path cannot hold its leading NUL). Bytes are UTF-8.
     */
    public String unixName() {
        if (family() != SocketCalls.AF_UNIX) throw new IllegalStateException("address family " + family() + " has no path");
        if (isAbstract()) return "@" + new String(bytes, SUN_PATH + 1, bytes.length - SUN_PATH - 1, java.nio.charset.StandardCharsets.UTF_8);
        int end = bytes.length;
        while (end > SUN_PATH && bytes[end - 1] == 0) end--; // the path's NUL, if the kernel counted it
        return new String(bytes, SUN_PATH, end - SUN_PATH, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The addrlen to pass with this address. */
    int length() {
        return bytes.length;
    }

    /** Copies the struct to {@code dst}, at least {@link #length()} bytes of native memory. */
    void copyTo(MemorySegment dst) {
        MemorySegment.copy(bytes, 0, dst, JAVA_BYTE, 0, bytes.length);
    }

    private MemorySegment segment() {
        return MemorySegment.ofArray(bytes);
    }

    private void requireInet() {
        if (!isInet()) throw new IllegalStateException("address family " + family() + " has no port or IP");
    }
}
