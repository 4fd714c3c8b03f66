package dev.ioqueue;

import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.io.SocketOptionCalls;
import java.net.SocketOption;
import java.util.Objects;
import java.util.Set;

/**
 * Socket options of plain socket fds and {@link Handle}s, named by the JDK's own constants:
 * {@link java.net.StandardSocketOptions} TCP_NODELAY, SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF, SO_LINGER,
 * SO_REUSEADDR, SO_REUSEPORT, SO_BROADCAST, IP_TOS; {@link #IPV6_V6ONLY} (the JDK has no public
 * constant for it); and
 * {@link jdk.net.ExtendedSocketOptions} TCP_KEEPIDLE, TCP_KEEPINTERVAL, TCP_KEEPCOUNT, TCP_QUICKACK
 * and SO_PEERCRED (read only, on Unix domain sockets: a {@link jdk.net.UnixDomainPrincipal}, as
 * the JDK's channels give it). Values mean what they mean for the JDK's sockets: SO_LINGER is
 * off when negative and caps at 65535 seconds; SO_RCVBUF and SO_SNDBUF read back as Linux keeps
 * them, twice what was set (within {@code net.core.rmem_max}/{@code wmem_max}); IP_TOS on an
 * IPv6 socket is its traffic class (IPV6_TCLASS); TCP_KEEPIDLE and TCP_KEEPINTERVAL take 1..32767
 * seconds and TCP_KEEPCOUNT 1..127, as Linux does.
 *
 * <p><b>Defaults.</b> This library changes one option: TCP_NODELAY is on for the TCP sockets it
 * makes for you — those {@link Sockets#connectTcp} and {@link Connect} connect, and those accepted
 * on a listener of {@link Sockets#listenTcp} (set on the listener, which Linux passes on to each
 * accepted socket), as Netty does: small writes go out at once instead of waiting for an ACK.
 * Everything else keeps the kernel's default.
 *
 * <p><b>Threading.</b> Thread-safe: each get or set is one syscall on the caller's thread (IP_TOS
 * two: the socket's family first). On a {@link Handle} the call holds it, so a close from another
 * thread waits for the syscall to return.
 *
 * <p><b>Errors.</b> An option not listed above is refused with {@link UnsupportedOperationException}
 * naming it, and a null, wrong-typed or out-of-range value with {@link IllegalArgumentException},
 * before any syscall. A failed syscall throws {@link SyscallException} naming the option, the fd
 * and the errno (ENOPROTOOPT or EOPNOTSUPP, as the kernel answers for the family, the protocol and
 * a set or a get, for an option the socket lacks: TCP_NODELAY on a Unix or UDP socket,
 * IPV6_V6ONLY on an IPv4 socket; EBADF, ENOTSOCK).
 */
public final class SocketOptions {
    private SocketOptions() {}

    /**
     * IPV6_V6ONLY of an IPv6 socket: true, it talks IPv6 only; false, bound to {@code ::} it also
     * takes IPv4 peers as {@code ::ffff:a.b.c.d}. Set it before bind (Linux refuses a change
     * after, with EINVAL); the default is {@code net.ipv6.bindv6only}, 0 on most systems.
     */
    public static final SocketOption<Boolean> IPV6_V6ONLY = SocketOptionCalls.IPV6_V6ONLY;

    /** The options {@link #set} and {@link #get} accept (immutable). Thread-safe. */
    public static Set<SocketOption<?>> supported() {
        return SocketOptionCalls.SUPPORTED;
    }

    /**
     * Sets {@code option} on socket {@code fd}. Thread-safe: one syscall.
     *
     * @throws UnsupportedOperationException for an option not {@link #supported()}, or SO_PEERCRED
     * @throws IllegalArgumentException for a negative fd or a bad value
     * @throws SyscallException if {@code setsockopt} fails
     */
    public static <T> void set(int fd, SocketOption<T> option, T value) {
        checkFd(fd);
        SocketOptionCalls.checkSet(fd, option, value);
        SocketOptionCalls.set(fd, option, value);
    }

    /**
     * The value of {@code option} on socket {@code fd}. Thread-safe: one syscall.
     *
     * @throws UnsupportedOperationException for an option not {@link #supported()}
     * @throws IllegalArgumentException for a negative fd
     * @throws SyscallException if {@code getsockopt} fails
     */
    public static <T> T get(int fd, SocketOption<T> option) {
        checkFd(fd);
        SocketOptionCalls.checkGet(fd, option);
        return option.type().cast(SocketOptionCalls.get(fd, option));
    }

    /**
     * {@link #set(int, SocketOption, Object)} on an owned socket, held for the syscall.
     *
     * @throws IllegalStateException if the handle is closed
     */
    public static <T> void set(Handle handle, SocketOption<T> option, T value) {
        OwnedFd o = Objects.requireNonNull(handle, "handle").owned;
        SocketOptionCalls.checkSet(o.fd, option, value);
        if (!o.acquire()) throw o.closedException();
        try {
            SocketOptionCalls.set(o.fd, option, value);
        } finally {
            o.release();
        }
    }

    /**
     * {@link #get(int, SocketOption)} on an owned socket, held for the syscall.
     *
     * @throws IllegalStateException if the handle is closed
     */
    public static <T> T get(Handle handle, SocketOption<T> option) {
        OwnedFd o = Objects.requireNonNull(handle, "handle").owned;
        SocketOptionCalls.checkGet(o.fd, option);
        if (!o.acquire()) throw o.closedException();
        try {
            return option.type().cast(SocketOptionCalls.get(o.fd, option));
        } finally {
            o.release();
        }
    }

    private static void checkFd(int fd) {
        if (fd < 0) throw new IllegalArgumentException("socket option: fd " + fd + " is negative");
    }
}
