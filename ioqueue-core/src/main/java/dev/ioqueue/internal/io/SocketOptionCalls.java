package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.Passwd;
import dev.ioqueue.internal.os.SockOpt;
import dev.ioqueue.internal.os.SocketCalls;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.file.FileSystems;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.Map;
import java.util.Set;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * The JDK's {@link SocketOption} constants as Linux socket options: which level and name each is,
 * how its value is encoded ({@link SockOpt}), and the checks made before any syscall. One
 * {@code setsockopt} or {@code getsockopt} per call, except IP_TOS, which first asks the socket's
 * family (SO_DOMAIN) to pick IP_TOS or IPV6_TCLASS. Thread-safe: no state.
 */
public final class SocketOptionCalls {
    /** IPV6_V6ONLY, which the JDK keeps internal: the API publishes this one. */
    public static final SocketOption<Boolean> IPV6_V6ONLY = new SocketOption<>() {
        @Override
        public String name() {
            return "IPV6_V6ONLY";
        }

        @Override
        public Class<Boolean> type() {
            return Boolean.class;
        }

        @Override
        public String toString() {
            return name();
        }
    };

    /** How a value is encoded, and the range an int value must be in (SECONDS and COUNT: the kernel's MAX_TCP_KEEP*). */
    private enum Kind {
        BOOLEAN, SECONDS(1, 32767), COUNT(1, 127), NON_NEGATIVE(0, Integer.MAX_VALUE), LINGER, TOS(0, 255), PEERCRED;

        final int min;
        final int max;

        Kind() {
            this(Integer.MIN_VALUE, Integer.MAX_VALUE);
        }

        Kind(int min, int max) {
            this.min = min;
            this.max = max;
        }
    }

    private record Spec(String name, int level, int option, Kind kind) {}

    private static final Map<SocketOption<?>, Spec> SPECS = Map.ofEntries(
            Map.entry(StandardSocketOptions.TCP_NODELAY, new Spec("TCP_NODELAY", SockOpt.IPPROTO_TCP, SockOpt.TCP_NODELAY, Kind.BOOLEAN)),
            Map.entry(StandardSocketOptions.SO_KEEPALIVE, new Spec("SO_KEEPALIVE", SockOpt.SOL_SOCKET, SockOpt.SO_KEEPALIVE, Kind.BOOLEAN)),
            Map.entry(StandardSocketOptions.SO_RCVBUF, new Spec("SO_RCVBUF", SockOpt.SOL_SOCKET, SockOpt.SO_RCVBUF, Kind.NON_NEGATIVE)),
            Map.entry(StandardSocketOptions.SO_SNDBUF, new Spec("SO_SNDBUF", SockOpt.SOL_SOCKET, SockOpt.SO_SNDBUF, Kind.NON_NEGATIVE)),
            Map.entry(StandardSocketOptions.SO_LINGER, new Spec("SO_LINGER", SockOpt.SOL_SOCKET, SockOpt.SO_LINGER, Kind.LINGER)),
            Map.entry(StandardSocketOptions.SO_REUSEADDR, new Spec("SO_REUSEADDR", SockOpt.SOL_SOCKET, SockOpt.SO_REUSEADDR, Kind.BOOLEAN)),
            Map.entry(StandardSocketOptions.SO_REUSEPORT, new Spec("SO_REUSEPORT", SockOpt.SOL_SOCKET, SockOpt.SO_REUSEPORT, Kind.BOOLEAN)),
            Map.entry(StandardSocketOptions.SO_BROADCAST, new Spec("SO_BROADCAST", SockOpt.SOL_SOCKET, SockOpt.SO_BROADCAST, Kind.BOOLEAN)),
            Map.entry(StandardSocketOptions.IP_TOS, new Spec("IP_TOS", SockOpt.IPPROTO_IP, SockOpt.IP_TOS, Kind.TOS)),
            Map.entry(IPV6_V6ONLY, new Spec("IPV6_V6ONLY", SockOpt.IPPROTO_IPV6, SockOpt.IPV6_V6ONLY, Kind.BOOLEAN)),
            Map.entry(ExtendedSocketOptions.TCP_KEEPIDLE, new Spec("TCP_KEEPIDLE", SockOpt.IPPROTO_TCP, SockOpt.TCP_KEEPIDLE, Kind.SECONDS)),
            Map.entry(ExtendedSocketOptions.TCP_KEEPINTERVAL, new Spec("TCP_KEEPINTVL", SockOpt.IPPROTO_TCP, SockOpt.TCP_KEEPINTVL, Kind.SECONDS)),
            Map.entry(ExtendedSocketOptions.TCP_KEEPCOUNT, new Spec("TCP_KEEPCNT", SockOpt.IPPROTO_TCP, SockOpt.TCP_KEEPCNT, Kind.COUNT)),
            Map.entry(ExtendedSocketOptions.TCP_QUICKACK, new Spec("TCP_QUICKACK", SockOpt.IPPROTO_TCP, SockOpt.TCP_QUICKACK, Kind.BOOLEAN)),
            Map.entry(ExtendedSocketOptions.SO_PEERCRED, new Spec("SO_PEERCRED", SockOpt.SOL_SOCKET, SockOpt.SO_PEERCRED, Kind.PEERCRED)));

    /** The options {@link #set} and {@link #get} know, the keys of an immutable map. */
    public static final Set<SocketOption<?>> SUPPORTED = SPECS.keySet();

    private SocketOptionCalls() {}

    /**
     * Refuses, before any syscall, an option this library does not map or a value it cannot pass:
     * {@link UnsupportedOperationException} naming the option, {@link IllegalArgumentException}
     * for a null or wrong-typed value or one out of range.
     */
    public static void checkSet(int fd, SocketOption<?> option, Object value) {
        Spec spec = spec(fd, option);
        if (spec.kind == Kind.PEERCRED) {
            throw new UnsupportedOperationException("SO_PEERCRED on fd " + fd + " is read-only: the kernel records the peer when it connects");
        }
        if (value == null) throw new IllegalArgumentException("setOption(" + spec.name + ") on fd " + fd + ": the value is null");
        if (!option.type().isInstance(value)) {
            throw new IllegalArgumentException("setOption(" + spec.name + ") on fd " + fd + ": the value is a "
                    + value.getClass().getName() + ", not a " + option.type().getName());
        }
        if (value instanceof Integer v && (v < spec.kind.min || v > spec.kind.max)) {
            String range = spec.kind.max == Integer.MAX_VALUE ? "is negative" : "is outside " + spec.kind.min + ".." + spec.kind.max;
            throw new IllegalArgumentException("setOption(" + spec.name + ") on fd " + fd + ": " + value + " " + range);
        }
    }

    /** Refuses, before any syscall, an option this library does not map ({@link UnsupportedOperationException}). */
    public static void checkGet(int fd, SocketOption<?> option) {
        spec(fd, option);
    }

    /** {@code setsockopt}; the caller ran {@link #checkSet}. A failure is the unchecked syscall failure. */
    public static void set(int fd, SocketOption<?> option, Object value) {
        Spec spec = SPECS.get(option);
        MemorySegment errno = Native.threadErrno();
        int level = spec.level;
        int name = spec.option;
        int v = switch (spec.kind) {
            case BOOLEAN -> (Boolean) value ? 1 : 0;
            case LINGER -> Math.min((Integer) value, 65535);
            default -> (Integer) value;
        };
        boolean inet6Tos = spec.kind == Kind.TOS && isInet6(fd, errno);
        if (inet6Tos) {
            level = SockOpt.IPPROTO_IPV6;
            name = SockOpt.IPV6_TCLASS;
        }
        byte[] bytes = spec.kind == Kind.LINGER ? ints(v >= 0 ? 1 : 0, Math.max(v, 0)) : ints(v);
        int r = SockOpt.set(fd, level, name, bytes, errno);
        if (r < 0) throw Errors.syscall("setsockopt(" + spec.name + ")", fd, -r, hint(-r));
        // An IPv6 socket's IPv4 traffic (dual stack) takes IP_TOS: set it too, as the JDK does ("set
        // the V4 option also"); best effort, since a v6-only socket may refuse it.
        if (inet6Tos) SockOpt.set(fd, SockOpt.IPPROTO_IP, SockOpt.IP_TOS, bytes, errno);
    }

    /** {@code getsockopt}, decoded as the JDK does; the caller ran {@link #checkGet}. */
    public static Object get(int fd, SocketOption<?> option) {
        Spec spec = SPECS.get(option);
        MemorySegment errno = Native.threadErrno();
        int level = spec.level;
        int name = spec.option;
        if (spec.kind == Kind.TOS && isInet6(fd, errno)) {
            level = SockOpt.IPPROTO_IPV6;
            name = SockOpt.IPV6_TCLASS;
        }
        if (spec.kind == Kind.PEERCRED && family(fd, errno, "SO_PEERCRED needs a Unix domain socket") != SocketCalls.AF_UNIX) {
            // Linux answers an IP socket with uid and gid -1; the JDK's IP channels refuse the option
            throw new UnsupportedOperationException("socket option SO_PEERCRED on fd " + fd
                    + ": only a Unix domain socket knows its peer's credentials; this one is an IP socket");
        }
        byte[] bytes = new byte[spec.kind == Kind.PEERCRED ? 12 : spec.kind == Kind.LINGER ? 8 : 4];
        int r = SockOpt.get(fd, level, name, bytes, errno);
        if (r < 0) throw Errors.syscall("getsockopt(" + spec.name + ")", fd, -r, hint(-r));
        return switch (spec.kind) {
            case BOOLEAN -> intAt(bytes, 0) != 0;
            case LINGER -> intAt(bytes, 0) == 0 ? -1 : intAt(bytes, 4);
            case PEERCRED -> principal(fd, intAt(bytes, 4), intAt(bytes, 8));
            default -> intAt(bytes, 0);
        };
    }

    private static Spec spec(int fd, SocketOption<?> option) {
        if (option == null) throw new IllegalArgumentException("socket option on fd " + fd + ": the option is null");
        Spec spec = SPECS.get(option);
        if (spec == null) {
            throw new UnsupportedOperationException("socket option " + option.name() + " (" + option.getClass().getName()
                    + ") on fd " + fd + " is not supported; supported: " + names());
        }
        return spec;
    }

    private static String names() {
        return SPECS.values().stream().map(Spec::name).sorted().toList().toString();
    }

    private static boolean isInet6(int fd, MemorySegment errno) {
        return family(fd, errno, "the family picks IP_TOS or IPV6_TCLASS") == SocketCalls.AF_INET6;
    }

    /** The socket's address family (SO_DOMAIN). */
    static int family(int fd, MemorySegment errno, String why) {
        byte[] family = new byte[4];
        int r = SockOpt.get(fd, SockOpt.SOL_SOCKET, SockOpt.SO_DOMAIN, family, errno);
        if (r < 0) throw Errors.syscall("getsockopt(SO_DOMAIN)", fd, -r, why);
        return intAt(family, 0);
    }

    private static String hint(int errno) {
        // Which of the two the kernel answers depends on the family, the protocol, and set or get
        if (errno == SockOpt.ENOPROTOOPT || errno == dev.ioqueue.internal.os.Errno.EOPNOTSUPP) {
            return "the socket's family or protocol has no such option (a TCP option on a UDP or Unix socket, IPV6_V6ONLY on an IPv4 socket)";
        }
        return null;
    }

    /** The JDK's principal for a uid and gid: named as the databases name them, else by the number, as the JDK does. */
    private static UnixDomainPrincipal principal(int fd, int uid, int gid) {
        UserPrincipalLookupService lookup = FileSystems.getDefault().getUserPrincipalLookupService();
        String user = Passwd.userName(uid);
        String group = Passwd.groupName(gid);
        try {
            UserPrincipal u = lookup.lookupPrincipalByName(user != null ? user : Integer.toUnsignedString(uid));
            GroupPrincipal g = lookup.lookupPrincipalByGroupName(group != null ? group : Integer.toUnsignedString(gid));
            return new UnixDomainPrincipal(u, g);
        } catch (IOException e) {
            throw new UncheckedIOException("getsockopt(SO_PEERCRED) on fd " + fd + ": uid " + uid + " or gid " + gid + " has no principal", e);
        }
    }

    private static byte[] ints(int... values) {
        byte[] bytes = new byte[4 * values.length];
        MemorySegment s = MemorySegment.ofArray(bytes);
        for (int i = 0; i < values.length; i++) s.set(ValueLayout.JAVA_INT_UNALIGNED, 4L * i, values[i]);
        return bytes;
    }

    private static int intAt(byte[] bytes, int offset) {
        return MemorySegment.ofArray(bytes).get(ValueLayout.JAVA_INT_UNALIGNED, offset);
    }
}
