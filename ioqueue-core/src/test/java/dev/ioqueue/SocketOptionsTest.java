package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ioqueue.internal.os.SocketCalls;
import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketOption;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every supported option set and read back on real TCP v4/v6, Unix and UDP sockets; refusals before any syscall. */
class SocketOptionsTest {
    /** A number no fd of this process has: a syscall on it would fail with EBADF. */
    private static final int NOT_AN_FD = 999_999;

    @TempDir
    Path dir;

    @Test
    void everyTcpOptionReadsBackOnIpv4() throws IOException {
        everyTcpOptionReadsBack(NetFixtures.V4);
    }

    @Test
    void everyTcpOptionReadsBackOnIpv6() throws IOException {
        everyTcpOptionReadsBack(NetFixtures.V6);
    }

    private void everyTcpOptionReadsBack(InetAddress address) throws IOException {
        int[] pair = NetFixtures.tcpPair(address);
        try (Handle client = Handle.of(pair[0])) {
            for (int fd : new int[] {pair[0], pair[1]}) {
                // fd and Handle spellings of the same calls
                roundTrip(fd, StandardSocketOptions.TCP_NODELAY, false, true);
                roundTrip(fd, StandardSocketOptions.SO_KEEPALIVE, true, false);
                roundTrip(fd, StandardSocketOptions.SO_REUSEADDR, false, true);
                roundTrip(fd, StandardSocketOptions.SO_REUSEPORT, true, false);
                roundTrip(fd, StandardSocketOptions.SO_BROADCAST, true, false);
                roundTrip(fd, StandardSocketOptions.IP_TOS, 0x20, 0x48);
                roundTrip(fd, StandardSocketOptions.SO_LINGER, 7, -1);
                roundTrip(fd, ExtendedSocketOptions.TCP_KEEPIDLE, 30, 120);
                roundTrip(fd, ExtendedSocketOptions.TCP_KEEPINTERVAL, 5, 9);
                roundTrip(fd, ExtendedSocketOptions.TCP_KEEPCOUNT, 3, 8);
                roundTrip(fd, ExtendedSocketOptions.TCP_QUICKACK, false, true);
                buffersReadBackDoubled(fd);
            }
            SocketOptions.set(client, StandardSocketOptions.TCP_NODELAY, false);
            assertEquals(false, SocketOptions.get(client, StandardSocketOptions.TCP_NODELAY));
            SocketOptions.set(client, StandardSocketOptions.SO_LINGER, 3);
            assertEquals(3, SocketOptions.get(client, StandardSocketOptions.SO_LINGER));
        } finally {
            NetFixtures.close(pair[1], pair[2]);
        }
    }

    @Test
    void ipv6OnlyReadsBackOnAnUnboundIpv6Socket() {
        int fd = NetFixtures.rawSocket(SocketCalls.AF_INET6, SocketCalls.SOCK_STREAM);
        try {
            roundTrip(fd, SocketOptions.IPV6_V6ONLY, true, false);
        } finally {
            NetFixtures.close(fd);
        }
    }

    @Test
    void ipv6OnlyOnIpv4IsTheKernelsEnoprotoopt() {
        int fd = NetFixtures.rawSocket(SocketCalls.AF_INET, SocketCalls.SOCK_STREAM);
        try {
            SyscallException e = assertThrows(SyscallException.class, () -> SocketOptions.set(fd, SocketOptions.IPV6_V6ONLY, true));
            assertEquals("ENOPROTOOPT", e.errnoName());
            assertEquals(fd, e.fd());
            assertTrue(e.getMessage().contains("setsockopt(IPV6_V6ONLY)") && e.getMessage().contains("IPV6_V6ONLY on an IPv4 socket"), e.getMessage());
            // reading it, the kernel answers EOPNOTSUPP; the hint is the same, and true (outside round 11)
            SyscallException read = assertThrows(SyscallException.class, () -> SocketOptions.get(fd, SocketOptions.IPV6_V6ONLY));
            assertEquals("EOPNOTSUPP", read.errnoName());
            assertTrue(read.getMessage().contains("getsockopt(IPV6_V6ONLY)") && read.getMessage().contains("IPV6_V6ONLY on an IPv4 socket"), read.getMessage());
        } finally {
            NetFixtures.close(fd);
        }
    }

    @Test
    void socketLevelOptionsReadBackOnUnixSockets() throws IOException {
        int[] pair = NetFixtures.unixPair(dir);
        try {
            for (int fd : new int[] {pair[0], pair[1]}) {
                roundTrip(fd, StandardSocketOptions.SO_KEEPALIVE, true, false);
                roundTrip(fd, StandardSocketOptions.SO_REUSEADDR, true, false);
                roundTrip(fd, StandardSocketOptions.SO_BROADCAST, true, false);
                roundTrip(fd, StandardSocketOptions.SO_LINGER, 2, -1);
                buffersReadBackDoubled(fd);
            }
            SyscallException e = assertThrows(SyscallException.class, () -> SocketOptions.set(pair[0], StandardSocketOptions.TCP_NODELAY, true));
            assertEquals(Errno.EOPNOTSUPP, e.errno());
        } finally {
            NetFixtures.close(pair);
        }
    }

    @Test
    void peerCredentialsOfAnIpSocketAreRefusedAsTheJdkRefusesThem() throws IOException {
        // Linux answers SO_PEERCRED on a TCP socket with uid and gid -1; the JDK's IP channels do not support it
        int listener = Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 4);
        int client = Sockets.connectTcp(InetAddress.getLoopbackAddress(), Sockets.localPort(listener));
        try {
            var e = assertThrows(UnsupportedOperationException.class, () -> SocketOptions.get(client, ExtendedSocketOptions.SO_PEERCRED));
            assertTrue(e.getMessage().contains("SO_PEERCRED") && e.getMessage().contains("fd " + client), e.getMessage());
        } finally {
            NetFixtures.close(client);
            NetFixtures.close(listener);
        }
    }

    @Test
    void peerCredentialsAreTheJdksPrincipal() throws IOException {
        Path path = dir.resolve("peer");
        int listener = Sockets.listenUnix(path, 4);
        try (SocketChannel jdk = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            jdk.connect(UnixDomainSocketAddress.of(path));
            int accepted = BlockingIo.accept(listener);
            try (Handle h = Handle.of(accepted)) {
                UnixDomainPrincipal ours = SocketOptions.get(h, ExtendedSocketOptions.SO_PEERCRED);
                UnixDomainPrincipal theirs = jdk.getOption(ExtendedSocketOptions.SO_PEERCRED); // the same process at both ends
                assertNotNull(ours);
                assertEquals(theirs, ours);
                assertEquals(theirs.user().getName(), ours.user().getName());
                assertEquals(theirs.group().getName(), ours.group().getName());
            }
        } finally {
            NetFixtures.close(listener);
            Files.deleteIfExists(path);
        }
    }

    @Test
    void udpSocketsTakeBroadcastAndTos() {
        int v4 = NetFixtures.rawSocket(SocketCalls.AF_INET, 2 /* SOCK_DGRAM */);
        int v6 = NetFixtures.rawSocket(SocketCalls.AF_INET6, 2);
        try {
            roundTrip(v4, StandardSocketOptions.SO_BROADCAST, true, false);
            roundTrip(v4, StandardSocketOptions.IP_TOS, 0x10, 0);
            roundTrip(v6, StandardSocketOptions.IP_TOS, 0x28, 0); // the traffic class
            // and its IPv4 traffic's TOS, as the JDK sets both (cold review 49: only the class was set,
            // so a dual-stack socket's IPv4 packets went out with TOS 0)
            SocketOptions.set(v6, StandardSocketOptions.IP_TOS, 0x20);
            byte[] v4Tos = new byte[4];
            assertEquals(0, dev.ioqueue.internal.os.SockOpt.get(v6, 0 /* IPPROTO_IP */, 1 /* IP_TOS */, v4Tos,
                    dev.ioqueue.internal.os.Native.threadErrno()) < 0 ? -1 : 0);
            assertEquals(0x20, java.nio.ByteBuffer.wrap(v4Tos).order(java.nio.ByteOrder.nativeOrder()).getInt());
            roundTrip(v6, SocketOptions.IPV6_V6ONLY, true, false);
            SyscallException e = assertThrows(SyscallException.class, () -> SocketOptions.get(v4, StandardSocketOptions.TCP_NODELAY));
            // kernels answer ENOPROTOOPT or EOPNOTSUPP: the point is the errno, named
            assertTrue(e.errno() == Errno.ENOPROTOOPT || e.errno() == Errno.EOPNOTSUPP, e.getMessage());
            assertTrue(e.getMessage().contains("getsockopt(TCP_NODELAY) on fd " + v4), e.getMessage());
        } finally {
            NetFixtures.close(v4, v6);
        }
    }

    @Test
    void tcpSocketsTheLibraryMakesHaveNoDelayOn() throws IOException {
        int[] pair = NetFixtures.tcpPair(NetFixtures.V4);
        try {
            assertEquals(true, SocketOptions.get(pair[0], StandardSocketOptions.TCP_NODELAY), "connected");
            assertEquals(true, SocketOptions.get(pair[1], StandardSocketOptions.TCP_NODELAY), "accepted");
            assertEquals(false, SocketOptions.get(pair[0], StandardSocketOptions.SO_KEEPALIVE), "nothing else changed");
        } finally {
            NetFixtures.close(pair);
        }
    }

    @Test
    void anUnknownOptionIsRefusedBeforeAnySyscall() {
        SocketOption<Integer> made = new SocketOption<>() {
            @Override
            public String name() {
                return "SO_MADE_UP";
            }

            @Override
            public Class<Integer> type() {
                return Integer.class;
            }
        };
        // On a number no fd has, a syscall would fail with EBADF: the refusal comes first.
        var e = assertThrows(UnsupportedOperationException.class, () -> SocketOptions.set(NOT_AN_FD, made, 1));
        assertTrue(e.getMessage().contains("SO_MADE_UP") && e.getMessage().contains("fd " + NOT_AN_FD), e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> SocketOptions.get(NOT_AN_FD, made));
        var jdkOnly = assertThrows(UnsupportedOperationException.class,
                () -> SocketOptions.set(NOT_AN_FD, StandardSocketOptions.IP_MULTICAST_TTL, 4));
        assertTrue(jdkOnly.getMessage().contains("IP_MULTICAST_TTL"), jdkOnly.getMessage());
        assertThrows(UnsupportedOperationException.class,
                () -> SocketOptions.set(NOT_AN_FD, ExtendedSocketOptions.SO_PEERCRED, null), "read-only");
    }

    @Test
    @SuppressWarnings({"unchecked", "rawtypes"})
    void badValuesAreRefusedBeforeAnySyscall() {
        assertThrows(IllegalArgumentException.class, () -> SocketOptions.set(NOT_AN_FD, StandardSocketOptions.SO_RCVBUF, -1));
        assertThrows(IllegalArgumentException.class, () -> SocketOptions.set(NOT_AN_FD, StandardSocketOptions.IP_TOS, 256));
        assertThrows(IllegalArgumentException.class, () -> SocketOptions.set(NOT_AN_FD, StandardSocketOptions.TCP_NODELAY, null));
        SocketOption raw = StandardSocketOptions.TCP_NODELAY;
        var e = assertThrows(IllegalArgumentException.class, () -> SocketOptions.set(NOT_AN_FD, raw, 1));
        assertTrue(e.getMessage().contains("java.lang.Boolean"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SocketOptions.get(-1, StandardSocketOptions.TCP_NODELAY));
        // Linux's keepalive ranges (outside round 11: 0, -1 and 2^31-1 reached the kernel's EINVAL)
        for (int seconds : new int[] {0, -1, 32768, Integer.MAX_VALUE}) {
            var idle = assertThrows(IllegalArgumentException.class, () -> SocketOptions.set(NOT_AN_FD, ExtendedSocketOptions.TCP_KEEPIDLE, seconds));
            assertTrue(idle.getMessage().contains("TCP_KEEPIDLE") && idle.getMessage().contains("outside 1..32767"), idle.getMessage());
            assertThrows(IllegalArgumentException.class, () -> SocketOptions.set(NOT_AN_FD, ExtendedSocketOptions.TCP_KEEPINTERVAL, seconds));
        }
        for (int count : new int[] {0, 128, 1000}) {
            var e2 = assertThrows(IllegalArgumentException.class, () -> SocketOptions.set(NOT_AN_FD, ExtendedSocketOptions.TCP_KEEPCOUNT, count));
            assertTrue(e2.getMessage().contains("outside 1..127"), e2.getMessage());
        }
        // and a real syscall on that number does fail: the refusals above are not luck
        SyscallException ebadf = assertThrows(SyscallException.class, () -> SocketOptions.get(NOT_AN_FD, StandardSocketOptions.TCP_NODELAY));
        assertEquals(Errno.EBADF, ebadf.errno());
    }

    @Test
    void aClosedHandleIsRefused() throws IOException {
        int[] pair = NetFixtures.tcpPair(NetFixtures.V4);
        Handle h = Handle.of(pair[0]);
        h.close();
        try {
            assertThrows(IllegalStateException.class, () -> SocketOptions.get(h, StandardSocketOptions.TCP_NODELAY));
            assertThrows(IllegalStateException.class, () -> SocketOptions.set(h, StandardSocketOptions.TCP_NODELAY, true));
        } finally {
            NetFixtures.close(pair[1], pair[2]);
        }
    }

    private static <T> void roundTrip(int fd, SocketOption<T> option, T first, T second) {
        SocketOptions.set(fd, option, first);
        assertEquals(first, SocketOptions.get(fd, option), option.name() + " on fd " + fd);
        SocketOptions.set(fd, option, second);
        assertEquals(second, SocketOptions.get(fd, option), option.name() + " on fd " + fd);
    }

    /** Linux keeps twice the size asked for (the rest is its bookkeeping), as the JDK reports too. */
    private static void buffersReadBackDoubled(int fd) {
        SocketOptions.set(fd, StandardSocketOptions.SO_RCVBUF, 32 * 1024);
        assertEquals(64 * 1024, SocketOptions.get(fd, StandardSocketOptions.SO_RCVBUF));
        SocketOptions.set(fd, StandardSocketOptions.SO_SNDBUF, 48 * 1024);
        assertEquals(96 * 1024, SocketOptions.get(fd, StandardSocketOptions.SO_SNDBUF));
    }
}
