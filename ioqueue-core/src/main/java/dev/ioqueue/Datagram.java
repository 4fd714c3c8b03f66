package dev.ioqueue;

import java.net.SocketAddress;

/**
 * One datagram received ({@link Datagrams#receive}): its length, how much of it the buffer took,
 * and who sent it. A datagram longer than the buffer is {@link #truncated()}: the buffer holds its
 * first {@link #stored()} bytes, the rest is gone (the kernel discards it), and {@link #length()}
 * says how long it was — reported, never cut silently. Immutable; thread-safe.
 *
 * @param length the datagram's length in bytes, as sent
 * @param stored how many of them the buffer took ({@code min(length, space)})
 * @param sender who sent it: an {@link java.net.InetSocketAddress} (an IPv4-mapped address as
 *     IPv4) or a {@link java.net.UnixDomainSocketAddress} (the empty path for an unbound sender, as
 *     the JDK reports it; {@code @} and the name for one bound to a Linux abstract name or
 *     autobound, which a send takes back as that name, so a reply reaches it; {@code ./@name} for
 *     a relative file named {@code @name}; the empty path, too, for a name no path can hold
 *     exactly (an abstract name that is empty or holds a NUL, a {@code //} or trailing {@code /}
 *     the JDK's paths normalize; any name with bytes not in UTF-8, or characters the platform's
 *     path encoding cannot hold, as non-ASCII ones under {@code LANG=C}), so a reply reaches that
 *     sender or fails, never another socket)
 */
public record Datagram(int length, int stored, SocketAddress sender) {
    /** Whether the buffer was too small for it, so only {@link #stored()} of {@link #length()} bytes came. */
    public boolean truncated() {
        return stored < length;
    }
}
