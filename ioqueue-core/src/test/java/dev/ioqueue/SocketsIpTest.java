package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** TCP over IPv6 (and IPv4, for the address accessors) through the queue, on real sockets. */
class SocketsIpTest extends QueueTestSupport {
    private static final Path IF_INET6 = Path.of("/proc/net/if_inet6");

    /** One line of /proc/net/if_inet6: an address of an interface. */
    private record Ipv6Interface(byte[] address, int index, int scope, int flags, String name) {
        static final int SCOPE_HOST = 0x10;
        static final int SCOPE_LINK = 0x20;

        static List<Ipv6Interface> all() throws IOException {
            if (!Files.exists(IF_INET6)) return List.of();
            return Files.readAllLines(IF_INET6).stream().map(line -> line.trim().split("\\s+")).map(f -> new Ipv6Interface(
                    HexFormat.of().parseHex(f[0]), Integer.parseInt(f[1], 16), Integer.parseInt(f[3], 16),
                    Integer.parseInt(f[4], 16), f[5])).toList();
        }

        /** Not tentative (0x40) nor DAD-failed (0x08): bindable. */
        boolean usable() {
            return (flags & (0x40 | 0x08)) == 0;
        }
    }

    /** {@code ::1}, or the test is skipped (saying why) when lo has no IPv6. */
    static InetAddress loopback6() throws IOException {
        boolean present = Ipv6Interface.all().stream()
                .anyMatch(i -> i.name.equals("lo") && i.scope == Ipv6Interface.SCOPE_HOST && i.usable());
        if (!present) System.out.println("SocketsIpTest: skipped, " + IF_INET6 + " lists no ::1 on lo: this kernel has no IPv6 loopback");
        Assumptions.assumeTrue(present, "no IPv6 on lo (" + IF_INET6 + ")");
        return InetAddress.getByName("::1");
    }

    @Test
    void ipv6EchoRoundTripOnLoopbackMovesEveryByteThroughTheQueue() throws IOException {
        IoQueue q = IoQueue.current();
        InetAddress v6 = loopback6();
        int listener = Sockets.listenTcp(v6, 0, 16);
        int client = Sockets.connectTcp(v6, Sockets.localPort(listener));
        int server = QueueEcho.acceptOne(q, listener);
        try {
            QueueEcho.awaitConnected(q, client);
            byte[] data = QueueEcho.pattern(300_000);
            assertArrayEquals(data, QueueEcho.echo(q, server, client, data));
        } finally {
            Fds.close(server);
            Fds.close(client);
            Fds.close(listener);
        }
    }

    @Test
    void bothEndsOfAnIpv6ConnectionNameEachOther() throws IOException {
        IoQueue q = IoQueue.current();
        InetAddress v6 = loopback6();
        int listener = Sockets.listenTcp(v6, 0, 16);
        int port = Sockets.localPort(listener);
        int client = Sockets.connectTcp(v6, port);
        int server = QueueEcho.acceptOne(q, listener);
        try {
            QueueEcho.awaitConnected(q, client);
            InetSocketAddress listening = new InetSocketAddress(v6, port);
            assertEquals(listening, Sockets.localAddress(listener));
            assertEquals(listening, Sockets.localAddress(server));
            assertEquals(listening, Sockets.remoteAddress(client));
            assertEquals(Sockets.localAddress(client), Sockets.remoteAddress(server));
            assertInstanceOf(Inet6Address.class, Sockets.remoteAddress(server).getAddress());
            assertTrue(Sockets.remoteAddress(server).getPort() != port, "the client has its own port");
        } finally {
            Fds.close(server);
            Fds.close(client);
            Fds.close(listener);
        }
    }

    @Test
    void bothEndsOfAnIpv4ConnectionNameEachOther() {
        IoQueue q = IoQueue.current();
        InetAddress v4 = InetAddress.getLoopbackAddress();
        int listener = Sockets.listenTcp(v4, 0, 16);
        int port = Sockets.localPort(listener);
        int client = Sockets.connectTcp(v4, port);
        int server = QueueEcho.acceptOne(q, listener);
        try {
            QueueEcho.awaitConnected(q, client);
            assertEquals(new InetSocketAddress(v4, port), Sockets.localAddress(server));
            assertEquals(new InetSocketAddress(v4, port), Sockets.remoteAddress(client));
            assertEquals(Sockets.localAddress(client), Sockets.remoteAddress(server));
            assertInstanceOf(Inet4Address.class, Sockets.remoteAddress(server).getAddress());
        } finally {
            Fds.close(server);
            Fds.close(client);
            Fds.close(listener);
        }
    }

    @Test
    void anIpv4ClientOfAnIpv6ListenerOnAMappedAddressIsReportedAsIpv4() throws Exception {
        IoQueue q = IoQueue.current();
        loopback6();
        Assumptions.assumeTrue(Files.readString(Path.of("/proc/sys/net/ipv6/bindv6only")).trim().equals("0"),
                "net.ipv6.bindv6only is set: an AF_INET6 socket takes no IPv4 peers by default");
        byte[] mapped = HexFormat.of().parseHex("00000000000000000000ffff7f000001"); // ::ffff:127.0.0.1
        int listener = Sockets.listenTcp(Inet6Address.getByAddress(null, mapped, -1), 0, 16);
        try (Socket jdkClient = new Socket(InetAddress.getLoopbackAddress(), Sockets.localPort(listener))) {
            int server = QueueEcho.acceptOne(q, listener);
            assertEquals(new InetSocketAddress(InetAddress.getLoopbackAddress(), jdkClient.getLocalPort()), Sockets.remoteAddress(server));
            Fds.close(server);
        } finally {
            Fds.close(listener);
        }
    }

    @Test
    void aLinkLocalListenerKeepsItsScopeIdAndAcceptsAConnectWithIt() throws Exception {
        IoQueue q = IoQueue.current();
        Optional<Ipv6Interface> linkLocal = Ipv6Interface.all().stream()
                .filter(i -> i.scope == Ipv6Interface.SCOPE_LINK && i.usable()).findFirst();
        if (linkLocal.isEmpty()) System.out.println("SocketsIpTest: skipped, no interface has a usable link-local IPv6 address");
        Assumptions.assumeTrue(linkLocal.isPresent(), "no link-local IPv6 address");
        Inet6Address address = Inet6Address.getByAddress(null, linkLocal.get().address, linkLocal.get().index);
        int listener = Sockets.listenTcp(address, 0, 4);
        int client = Sockets.connectTcp(address, Sockets.localPort(listener)); // EINVAL without the scope id
        int server = QueueEcho.acceptOne(q, listener);
        try {
            QueueEcho.awaitConnected(q, client);
            Inet6Address local = assertInstanceOf(Inet6Address.class, Sockets.localAddress(listener).getAddress());
            assertEquals(linkLocal.get().index, local.getScopeId());
            assertEquals(address, local);
        } finally {
            Fds.close(server);
            Fds.close(client);
            Fds.close(listener);
        }
    }

    @Test
    void connectTcpToAnIpv6PortNobodyListensOnEndsWithEconnrefused() throws IOException {
        IoQueue q = IoQueue.current();
        InetAddress v6 = loopback6();
        int listener = Sockets.listenTcp(v6, 0, 1);
        int port = Sockets.localPort(listener);
        Fds.close(listener);
        int client = Sockets.connectTcp(v6, port);
        try {
            int[] error = {-1};
            q.await(client, ReadyEvent.WRITE, (fd, events) -> error[0] = Sockets.connectError(fd));
            q.run();
            assertEquals(111, error[0], "ECONNREFUSED");
        } finally {
            Fds.close(client);
        }
    }

    @Test
    void aTakenIpv6PortIsEaddrinuseNamingTheBracketedAddress() throws IOException, InterruptedException {
        InetAddress v6 = loopback6();
        int listener = Sockets.listenTcp(v6, 0, 1);
        int port = Sockets.localPort(listener);
        java.util.Set<String> fdsBefore = TestFds.settledOpenFds();
        try {
            SyscallException e = assertThrows(SyscallException.class, () -> Sockets.listenTcp(v6, port, 1));
            assertEquals("bind", e.operation());
            assertEquals("EADDRINUSE", e.errnoName());
            assertTrue(e.getMessage().contains("[0:0:0:0:0:0:0:1]:" + port), e.getMessage());
            TestFds.assertNoneOpenedSince(fdsBefore, "the refused socket was closed");
        } finally {
            Fds.close(listener);
        }
    }

    @Test
    void aUnixSocketHasNoIpAddressAndNoPort() {
        try (Fds.SocketPair pair = Fds.socketPair()) {
            assertEquals(null, Sockets.localAddress(pair.first()));
            assertEquals(null, Sockets.remoteAddress(pair.first()));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sockets.localPort(pair.first()));
            assertTrue(e.getMessage().contains("fd " + pair.first() + " is AF_UNIX"), e.getMessage());
        }
    }

    // guards: the seed library's scenario: TCP urgent data wakes PRIORITY_READ
    @Test
    void priorityReadSeesTcpUrgentData() throws Exception {
        IoQueue q = IoQueue.current();
        int listener = Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 16);
        int port = Sockets.localPort(listener);
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            int[] conn = {-1};
            q.await(listener, ReadyEvent.READ, (fd, ev) -> conn[0] = Sockets.accept(fd));
            q.run();
            assertTrue(conn[0] >= 0, "accepted");
            List<Set<Event>> seen = new ArrayList<>();
            int[] urgent = {-1};
            q.await(conn[0], ReadyEvent.PRIORITY_READ, (fd, ev) -> {
                seen.add(ev);
                urgent[0] = Sockets.readUrgent(fd);
            });
            client.sendUrgentData(0x5A);
            q.run();
            assertTrue(seen.getFirst().contains(Event.PRIORITY_READ), seen.toString());
            assertEquals(0x5A, urgent[0]);
            Fds.close(conn[0]);
        } finally {
            Fds.close(listener);
        }
    }

    // guards: the seed library's scenario: a java.net.Socket client's bytes wake READ
    @Test
    void readyToReadOnATcpConnectionFromAJavaClient() throws Exception {
        IoQueue q = IoQueue.current();
        int listener = Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 16);
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), Sockets.localPort(listener))) {
            int[] conn = {-1};
            q.await(listener, ReadyEvent.READ, (fd, ev) -> conn[0] = Sockets.accept(fd));
            q.run();
            OutputStream out = client.getOutputStream();
            out.write("ping".getBytes());
            out.flush();
            byte[] got = new byte[4];
            q.await(conn[0], ReadyEvent.READ, (fd, ev) -> assertEquals(4, Fds.read(fd, got, 0, 4)));
            q.run();
            assertEquals("ping", new String(got));
            Fds.close(conn[0]);
        } finally {
            Fds.close(listener);
        }
    }

    @Test
    void shutdownInputEndsAReadWaitingOnTheQueueWithEndOfFileAndTellsThePeerNothing() throws Exception {
        IoQueue q = IoQueue.current();
        int[] pair = NetFixtures.tcpPair(NetFixtures.V4);
        try (Handle ours = Handle.of(pair[1], q)) {
            long[] result = {Long.MIN_VALUE};
            q.submit(ours, IoOperation.read(ByteBuffer.allocateDirect(64), (fd, count) -> result[0] = count));
            q.runOnce(Duration.ofMillis(20)); // nothing came: the read waits (on io_uring, in the ring)
            assertEquals(Long.MIN_VALUE, result[0]);
            Sockets.shutdownInput(ours.fd());
            for (int i = 0; i < 500 && result[0] == Long.MIN_VALUE; i++) q.runOnce(Duration.ofMillis(10));
            assertEquals(Fds.EOF, result[0], "the waiting read ended with end-of-file");
            ByteBuffer none = ByteBuffer.allocate(1);
            assertEquals(Fds.WOULD_BLOCK, Fds.read(pair[0], none), "the peer got no end-of-file: SHUT_RD sends nothing");
        } finally {
            NetFixtures.close(pair[0], pair[2]);
        }
    }

    // guards: the ktor adapter half-closed an unbound handle's socket by its number, checked open
    // first; a close between the check and the syscall let it reach the number's next file. The
    // Handle overloads hold the fd for the syscall, and refuse a closed handle
    @Test
    void shutdownOfAHandleHalfClosesItAndAClosedOneIsRefusedWithoutTouchingTheNumbersNextFile() throws Exception {
        int[] pair = NetFixtures.tcpPair(NetFixtures.V4);
        Handle ours = Handle.of(pair[1]);
        int number = ours.fd();
        Sockets.shutdownOutput(ours);
        Fds.awaitReady(pair[0], ReadyEvent.READ);
        assertEquals(Fds.EOF, Fds.read(pair[0], ByteBuffer.allocate(1)), "the peer read end-of-file");
        ours.close();
        int[] next = NetFixtures.tcpPair(NetFixtures.V4); // the lowest free numbers: ours among them
        try {
            assertTrue(java.util.Arrays.stream(next).anyMatch(fd -> fd == number), "the number was taken again");
            assertThrows(IllegalStateException.class, () -> Sockets.shutdownOutput(ours));
            assertThrows(IllegalStateException.class, () -> Sockets.shutdownInput(ours));
            assertEquals(Fds.WOULD_BLOCK, Fds.read(next[0], ByteBuffer.allocate(1)), "the new pair's client was not shut down");
            assertEquals(Fds.WOULD_BLOCK, Fds.read(next[1], ByteBuffer.allocate(1)), "the new pair's server was not shut down");
        } finally {
            NetFixtures.close(pair[0], pair[2], next[0], next[1], next[2]);
        }
    }

    @Test
    void theAddressesOfAHandleAreItsOwnAndAClosedOneIsRefusedRatherThanNamingTheNumbersNextFile() throws Exception {
        int[] pair = NetFixtures.tcpPair(NetFixtures.V4);
        Handle ours = Handle.of(pair[1]);
        int number = ours.fd();
        InetSocketAddress local = Sockets.localAddress(pair[1]);
        InetSocketAddress remote = Sockets.remoteAddress(pair[1]);
        assertEquals(local, Sockets.localAddress(ours));
        assertEquals(remote, Sockets.remoteAddress(ours));
        ours.close();
        int[] next = NetFixtures.tcpPair(NetFixtures.V4); // the lowest free numbers: ours among them
        try {
            assertTrue(java.util.Arrays.stream(next).anyMatch(fd -> fd == number), "the number was taken again");
            IllegalStateException refused = assertThrows(IllegalStateException.class, () -> Sockets.remoteAddress(ours));
            assertTrue(refused.getMessage().contains("fd " + number), refused.getMessage());
            assertThrows(IllegalStateException.class, () -> Sockets.localAddress(ours));
        } finally {
            NetFixtures.close(pair[0], pair[2], next[0], next[1], next[2]);
        }
    }
}
