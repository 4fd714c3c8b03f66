package dev.ioqueue.internal.io;

import dev.ioqueue.internal.os.SockAddr;
import dev.ioqueue.internal.os.SocketCalls;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;

/**
 * The JDK's socket addresses as the kernel's ({@link SockAddr}) and back: {@link InetSocketAddress}
 * (resolved) and {@link UnixDomainSocketAddress}. Checks come before any syscall. Thread-safe.
 */
public final class Addresses {
    private Addresses() {}

    /**
     * {@code address} as the kernel takes it.
     *
     * A {@link UnixDomainSocketAddress} whose path starts with {@code @} names the Linux abstract
     * namespace ({@link #abstractName}).
     *
     * @throws IllegalArgumentException for null, an unresolved {@link InetSocketAddress}, a Unix
     *     path (or abstract name) empty, holding a NUL or longer than 107 bytes, or another kind of
     *     address
     */
    public static SockAddr of(String call, SocketAddress address) {
        if (address == null) throw new IllegalArgumentException(call + ": the address is null");
        if (address instanceof InetSocketAddress inet) {
            if (inet.isUnresolved()) {
                throw new IllegalArgumentException(call + ": " + inet + " is unresolved: pass a host name to the call that resolves it");
            }
            return of(inet.getAddress(), inet.getPort());
        }
        if (address instanceof UnixDomainSocketAddress unix) {
            if (unix.getPath().getFileSystem() != FileSystems.getDefault()) {
                throw new IllegalArgumentException(call + ": " + unix + " is not on the default file system");
            }
            String text = unix.getPath().toString();
            if (text.isEmpty()) throw new IllegalArgumentException(call + ": the Unix socket path is empty");
            if (text.charAt(0) == '@') return abstractName(call, text);
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            if (bytes.length > SockAddr.UNIX_NAME_MAX || text.indexOf('\0') >= 0) {
                throw new IllegalArgumentException(call + ": Unix socket path " + text + " is " + bytes.length
                        + " bytes in UTF-8 or holds a NUL; at most " + SockAddr.UNIX_NAME_MAX + " bytes");
            }
            return SockAddr.unixPath(bytes);
        }
        throw new IllegalArgumentException(call + ": " + address.getClass().getName() + " is neither an InetSocketAddress nor a UnixDomainSocketAddress");
    }

    /**
     * A path that starts with {@code @}: the Linux abstract name after it, as Go's {@code net}
     * package reads one and as {@link #toJdk} reports one (a file named so is {@code ./@name}), so a
     * datagram's sender, abstract or autobound, can be replied to.
     */
    private static SockAddr abstractName(String call, String text) {
        byte[] bytes = text.substring(1).getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > SockAddr.UNIX_NAME_MAX || text.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(call + ": abstract Unix socket name " + text + " is " + bytes.length
                    + " bytes in UTF-8 after its @ or holds a NUL; from 1 to " + SockAddr.UNIX_NAME_MAX + " bytes");
        }
        return SockAddr.unixAbstract(bytes);
    }

    /** An IP address and port as the kernel takes it (AF_INET or AF_INET6, with its scope id). */
    public static SockAddr of(InetAddress address, int port) {
        return address instanceof Inet6Address v6
                ? SockAddr.inet6(v6.getAddress(), port, v6.getScopeId())
                : SockAddr.inet4(address.getAddress(), port);
    }

    /**
     * What the kernel gave, as the JDK reports it: an {@link InetSocketAddress} (an IPv4-mapped
     * IPv6 address as IPv4, a scope id only if set) or a {@link UnixDomainSocketAddress} (an unnamed
     * socket's as the empty path, as the JDK's channels report it; an abstract name as {@code @name}).
     */
    public static SocketAddress toJdk(SockAddr sa) {
        if (sa.isInet()) {
            try {
                InetAddress ip = sa.scopeId() == 0
                        ? InetAddress.getByAddress(sa.ip())
                        : Inet6Address.getByAddress(null, sa.ip(), sa.scopeId());
                return new InetSocketAddress(ip, sa.port());
            } catch (UnknownHostException e) {
                throw new AssertionError("the kernel gave an address of 4 or 16 bytes", e);
            }
        }
        if (sa.family() == SocketCalls.AF_UNIX) return unix(sa.unixName(), sa.isAbstract());
        throw new IllegalStateException("address family " + sa.family());
    }

    /** An unnamed socket's address, as the JDK reports it; also where a name cannot be told back exactly. */
    private static final UnixDomainSocketAddress UNNAMED = UnixDomainSocketAddress.of("");

    /**
     * A Unix socket's name as a {@link UnixDomainSocketAddress} that {@link #of} takes back to the
     * same socket, or {@link #UNNAMED} (which no send accepts) where none does: never another
     * socket. An abstract name is {@code @name} (as {@code ss} shows it) if it survives as that path
     * exactly (not when it holds a NUL, is empty, or has a {@code //} or trailing {@code /} the
     * JDK's path normalizes, or a character the platform's path encoding cannot hold); a relative
     * file whose name starts with {@code @} is {@code ./@name}, which the {@code @} rule leaves a
     * file; a name with bytes not in UTF-8 (decoded as U+FFFD) is unnamed, since a reply would
     * encode U+FFFD and reach the file so named. Never throws: the name is the kernel's, not the
     * caller's.
     */
    private static UnixDomainSocketAddress unix(String name, boolean isAbstract) {
        // Bytes not in UTF-8 came as U+FFFD, which a send would encode as other bytes: another socket's name.
        if (name.indexOf('\uFFFD') >= 0) return UNNAMED;
        if (isAbstract) {
            if (name.indexOf('\0') >= 0 || name.length() == 1) return UNNAMED; // a NUL; the empty abstract name, which no send takes
            try {
                UnixDomainSocketAddress a = UnixDomainSocketAddress.of(name);
                return a.getPath().toString().equals(name) ? a : UNNAMED;
            } catch (java.nio.file.InvalidPathException unfit) {
                return UNNAMED;
            }
        }
        try {
            return UnixDomainSocketAddress.of(name.startsWith("@") ? "./" + name : name);
        } catch (java.nio.file.InvalidPathException unfit) { // a NUL cannot be in a path; the kernel's name for it is odd
            return UNNAMED;
        }
    }

    /** A short description for messages: {@code 127.0.0.1:80}, {@code [::1]:80}, a path. */
    public static String describe(SocketAddress address) {
        if (address instanceof InetSocketAddress inet && !inet.isUnresolved()) {
            String host = inet.getAddress().getHostAddress();
            return (inet.getAddress() instanceof Inet6Address ? "[" + host + "]" : host) + ":" + inet.getPort();
        }
        return String.valueOf(address);
    }
}
