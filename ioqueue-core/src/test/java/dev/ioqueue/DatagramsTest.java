package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** UDP and Unix datagrams: boundaries kept, senders named, truncation reported, every style. */
class DatagramsTest {
    /** IPv4's largest UDP payload; IPv6's is 65,527 (65,535 less the UDP header). */
    private static final int MAX_V4 = 65_507;
    private static final int MAX_V6 = 65_527;
    private static final int COUNT = 50_000; // per family: 100,000 in all
    private static final byte[] PATTERN = new byte[256 * 1024];

    static {
        new Random(19).nextBytes(PATTERN);
    }

    @TempDir
    Path dir;

    @Test
    void fiftyThousandUdpDatagramsOverIpv4KeepTheirBoundariesAndSender() throws Exception {
        carry(NetFixtures.V4, MAX_V4, false);
    }

    @Test
    void fiftyThousandUdpDatagramsOverIpv6ReceivedByALoopOperation() throws Exception {
        carry(NetFixtures.V6, MAX_V6, true);
    }

    /**
     * COUNT datagrams of random sizes (0 to max) from a virtual thread's blocking sends to a
     * receiver (blocking on a virtual thread, or a receive operation on a loop), a window of
     * datagrams in flight at most (UDP drops what the receiver's buffer cannot hold), each checked
     * byte for byte, its length exact and its sender the sending socket.
     */
    private void carry(InetAddress address, int max, boolean onLoop) throws Exception {
        int receiver = Datagrams.bindUdp(address, 0);
        int sender = Datagrams.bindUdp(address, 0);
        SocketOptions.set(receiver, StandardSocketOptions.SO_RCVBUF, 4 * 1024 * 1024);
        int window = Math.max(1, SocketOptions.get(receiver, StandardSocketOptions.SO_RCVBUF) / (4 * 65_536));
        SocketAddress to = Sockets.localAddress(receiver);
        SocketAddress from = Sockets.localAddress(sender);
        Semaphore credit = new Semaphore(window);
        long seed = System.nanoTime();
        CompletableFuture<Void> sent = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                Random sizes = new Random(seed);
                ByteBuffer out = ByteBuffer.allocateDirect(max);
                for (int i = 0; i < COUNT; i++) {
                    credit.acquire();
                    int length = sizes.nextInt(max + 1);
                    out.clear().put(PATTERN, i % 4096, length).flip();
                    assertEquals(length, Datagrams.send(sender, out, to));
                }
                sent.complete(null);
            } catch (Throwable t) {
                sent.completeExceptionally(t);
            }
        });
        Checker checker = new Checker(seed, max, from, credit);
        if (onLoop) {
            try (LoopThread loop = new LoopThread("udp-loop")) {
                CompletableFuture<Void> received = new CompletableFuture<>();
                ByteBuffer in = ByteBuffer.allocateDirect(max + 1);
                Handle h = Handle.of(receiver, loop.queue);
                IoOperation[] op = new IoOperation[1];
                op[0] = DatagramOperation.receive(in, new DatagramOperation.Received() {
                    @Override
                    public void received(int fd, Datagram d) {
                        try {
                            checker.check(in, d);
                        } catch (Throwable t) {
                            received.completeExceptionally(t);
                            return;
                        }
                        if (checker.seen == COUNT) {
                            received.complete(null);
                            return;
                        }
                        in.clear();
                        loop.queue.submit(h, op[0]); // the same operation again: reusable once completed
                    }

                    @Override
                    public void failed(int fd, IOException failure) {
                        received.completeExceptionally(failure);
                    }
                });
                loop.call(() -> {
                    loop.queue.submit(h, op[0]);
                    return null;
                });
                received.get(60, TimeUnit.SECONDS);
            }
        } else {
            ByteBuffer in = ByteBuffer.allocate(max + 1); // heap: through the per-thread native block
            for (int i = 0; i < COUNT; i++) {
                in.clear();
                checker.check(in, Datagrams.receive(receiver, in));
            }
            NetFixtures.close(receiver);
        }
        sent.get(60, TimeUnit.SECONDS);
        assertEquals(COUNT, checker.seen);
        NetFixtures.close(sender);
    }

    /** Checks each datagram in the order sent: length, bytes, sender; returns a credit to the sender. */
    private static final class Checker {
        final Random sizes;
        final int max;
        final SocketAddress from;
        final Semaphore credit;
        int seen;

        Checker(long seed, int max, SocketAddress from, Semaphore credit) {
            this.sizes = new Random(seed);
            this.max = max;
            this.from = from;
            this.credit = credit;
        }

        void check(ByteBuffer in, Datagram d) {
            int length = sizes.nextInt(max + 1);
            assertEquals(length, d.length(), "datagram " + seen + ": one send, one receive, same length");
            assertEquals(length, d.stored());
            assertEquals(false, d.truncated());
            assertEquals(from, d.sender(), "datagram " + seen);
            in.flip();
            assertEquals(-1, in.mismatch(ByteBuffer.wrap(PATTERN, seen % 4096, length)), "datagram " + seen + "'s bytes");
            seen++;
            credit.release();
        }
    }

    @Test
    void aDatagramLongerThanTheBufferIsReportedTruncatedAndTheNextIsWhole() throws IOException {
        int a = Datagrams.bindUdp(NetFixtures.V4, 0);
        int b = Datagrams.bindUdp(NetFixtures.V4, 0);
        try {
            SocketAddress to = Sockets.localAddress(b);
            Datagrams.send(a, ByteBuffer.wrap(PATTERN, 0, 1000), to);
            Datagrams.send(a, ByteBuffer.wrap(PATTERN, 1000, 10), to);
            ByteBuffer small = ByteBuffer.allocate(100);
            Datagram cut = Datagrams.receive(b, small);
            assertTrue(cut.truncated());
            assertEquals(1000, cut.length());
            assertEquals(100, cut.stored());
            assertEquals(100, small.position());
            assertEquals(-1, small.flip().mismatch(ByteBuffer.wrap(PATTERN, 0, 100)));
            ByteBuffer next = ByteBuffer.allocate(100);
            Datagram whole = Datagrams.receive(b, next);
            assertEquals(10, whole.length(), "the cut datagram's rest is gone, not merged into the next");
            assertEquals(false, whole.truncated());
            assertNull(Datagrams.tryReceive(b, next.clear()), "nothing pending");
        } finally {
            NetFixtures.close(a, b);
        }
    }

    @Test
    void unixDatagramsNameTheirSenderAndKeepBoundaries() throws IOException {
        UnixDomainSocketAddress pathA = UnixDomainSocketAddress.of(dir.resolve("a"));
        UnixDomainSocketAddress pathB = UnixDomainSocketAddress.of(dir.resolve("b"));
        int a = Datagrams.openUnix(pathA);
        int b = Datagrams.openUnix(pathB);
        int anonymous = Datagrams.openUnix(null);
        try (Handle hb = Handle.of(b)) {
            for (int size : new int[] {0, 1, 5000, 100_000}) { // a Unix datagram may exceed UDP's limit
                assertEquals(size, Datagrams.send(a, ByteBuffer.wrap(new byte[size]), pathB));
            }
            ByteBuffer in = ByteBuffer.allocate(200_000);
            for (int size : new int[] {0, 1, 5000, 100_000}) {
                Datagram d = Datagrams.receive(hb, in.clear());
                assertEquals(size, d.length());
                assertEquals(pathA, d.sender());
            }
            Datagrams.connect(anonymous, pathB);
            Datagrams.send(anonymous, ByteBuffer.wrap(new byte[] {1, 2, 3}), null);
            Datagram d = Datagrams.receive(hb, in.clear());
            assertEquals(3, d.length());
            assertEquals(UnixDomainSocketAddress.of(""), d.sender(), "an unbound sender: the empty path, as the JDK reports it");
        } finally {
            NetFixtures.close(a, anonymous);
        }
    }

    // guards (outside round 46): a sender bound to an abstract name came back as "@name", which as a
    // target named a file "@name": the natural echo (reply to d.sender()) failed with ENOENT
    @Test
    void aPathStartingWithAtNamesTheAbstractNamespaceSoASendersAddressCanBeRepliedTo() throws IOException {
        String base = "@ioqueue-datagrams-" + ProcessHandle.current().pid() + "-";
        UnixDomainSocketAddress nameA = UnixDomainSocketAddress.of(base + "a");
        UnixDomainSocketAddress nameB = UnixDomainSocketAddress.of(base + "b");
        int a = Datagrams.openUnix(nameA);
        int b = Datagrams.openUnix(nameB);
        try {
            assertFalse(Files.exists(nameA.getPath()) || Files.exists(nameB.getPath()), "no socket file: abstract names");
            Datagrams.send(a, ByteBuffer.wrap(new byte[] {7}), nameB);
            ByteBuffer in = ByteBuffer.allocate(16);
            Datagram d = Datagrams.receive(b, in);
            assertEquals(nameA, d.sender());
            Datagrams.send(b, ByteBuffer.wrap(new byte[] {8}), d.sender()); // the echo: a reply to whoever sent it
            Datagram reply = Datagrams.receive(a, in.clear());
            assertEquals(8, in.get(0));
            assertEquals(nameB, reply.sender());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Datagrams.send(a, ByteBuffer.allocate(1), UnixDomainSocketAddress.of("@")));
            assertTrue(e.getMessage().contains("abstract"), e.getMessage());
        } finally {
            NetFixtures.close(a, b);
            Files.deleteIfExists(nameA.getPath());
            Files.deleteIfExists(nameB.getPath());
        }
    }

    // guards (outside round 47): a sender's abstract name holding a NUL threw InvalidPathException
    // from receive (the datagram lost; a loop's receive operation gone untold); one with "//" was
    // reported normalized, and a relative file named "@x" as "@x": a reply reached another socket
    @Test
    void aSendersNameIsReportedSoAReplyReachesItOrNothingNeverAnotherSocket() throws IOException {
        long pid = ProcessHandle.current().pid();
        int receiver = Datagrams.openUnix(UnixDomainSocketAddress.of("@ioqueue-odd-senders-" + pid));
        UnixDomainSocketAddress receiverName = UnixDomainSocketAddress.of("@ioqueue-odd-senders-" + pid);
        String[] odd = {"ioq\0nul-" + pid, "ioq//slashes-" + pid, "ioq-trailing-" + pid + "/", ""};
        List<Integer> senders = new ArrayList<>();
        Path file = Path.of("@ioqueue-file-" + pid); // relative: in the working directory
        try {
            for (String name : odd) {
                senders.add(dev.ioqueue.internal.io.DatagramIo.open(dev.ioqueue.internal.os.SocketCalls.AF_UNIX,
                        dev.ioqueue.internal.os.SockAddr.unixAbstract(name.getBytes(java.nio.charset.StandardCharsets.UTF_8)), name));
            }
            int fileSender = Datagrams.openUnix(UnixDomainSocketAddress.of("./" + file));
            senders.add(fileSender);
            ByteBuffer in = ByteBuffer.allocate(16);
            for (int s : senders) Datagrams.send(s, ByteBuffer.wrap(new byte[] {(byte) s}), receiverName);
            for (int i = 0; i < odd.length; i++) {
                Datagram d = Datagrams.receive(receiver, in.clear());
                assertEquals(senders.get(i).byteValue(), in.get(0), "none lost, in order");
                assertEquals(UnixDomainSocketAddress.of(""), d.sender(), odd[i] + ": cannot be told back exactly, so unnamed");
            }
            Datagram d = Datagrams.receive(receiver, in.clear());
            assertEquals(UnixDomainSocketAddress.of("./" + file), d.sender(), "a file named @...: ./@...");
            Datagrams.send(receiver, ByteBuffer.wrap(new byte[] {9}), d.sender()); // the reply reaches the file's socket
            assertEquals(1, Datagrams.receive(fileSender, in.clear()).length());
            assertEquals(9, in.get(0));
            // and a file whose name is not UTF-8: its U+FFFD, sent back, would be another file's name
            Path latin1 = Files.createTempDirectory("ioqueue-latin1");
            byte[] nameBytes = (latin1 + "/caf").getBytes(java.nio.charset.StandardCharsets.UTF_8);
            byte[] withE9 = java.util.Arrays.copyOf(nameBytes, nameBytes.length + 1);
            withE9[nameBytes.length] = (byte) 0xE9;
            int latin1Sender = dev.ioqueue.internal.io.DatagramIo.open(dev.ioqueue.internal.os.SocketCalls.AF_UNIX,
                    dev.ioqueue.internal.os.SockAddr.unixPath(withE9), "latin-1");
            int bystander = Datagrams.openUnix(UnixDomainSocketAddress.of(latin1 + "/caf\uFFFD")); // where a U+FFFD reply would go
            Datagrams.send(latin1Sender, ByteBuffer.wrap(new byte[] {1}), receiverName);
            Datagram fromLatin1 = Datagrams.receive(receiver, in.clear());
            assertEquals(UnixDomainSocketAddress.of(""), fromLatin1.sender(), "not UTF-8: unnamed, so a reply fails");
            NetFixtures.close(latin1Sender, bystander);
            try (var files = Files.list(latin1)) {
                for (Path f : files.toList()) Files.delete(f);
            }
            Files.delete(latin1);
        } finally {
            NetFixtures.close(receiver);
            for (int s : senders) NetFixtures.close(s);
            Files.deleteIfExists(file);
        }
    }

    // Outside round 13: connect(fd, null) is refused and nothing else ended an association.
    @Test
    void disconnectEndsTheAssociationSoOtherSendersAreHeardAgain() throws IOException {
        int fd = Datagrams.bindUdp(NetFixtures.V4, 0);
        int a = Datagrams.bindUdp(NetFixtures.V4, 0);
        int b = Datagrams.bindUdp(NetFixtures.V4, 0);
        try {
            SocketAddress here = Sockets.localAddress(fd);
            Datagrams.connect(fd, Sockets.localAddress(a));
            Datagrams.send(b, ByteBuffer.wrap(new byte[] {2}), here); // not from the peer: filtered out
            Datagrams.send(a, ByteBuffer.wrap(new byte[] {1}), here);
            Datagram first = Datagrams.receive(fd, ByteBuffer.allocate(8));
            assertEquals(Sockets.localAddress(a), first.sender());
            assertEquals(null, Datagrams.tryReceive(fd, ByteBuffer.allocate(8)), "b's datagram was not taken");
            Datagrams.disconnect(fd);
            Datagrams.send(b, ByteBuffer.wrap(new byte[] {3}), here);
            assertEquals(Set.of(Event.READ), Fds.awaitReady(fd, ReadyEvent.READ, Duration.ofSeconds(10)), "b's datagram came (the port was kept)");
            Datagram second = Datagrams.receive(fd, ByteBuffer.allocate(8));
            assertEquals(Sockets.localAddress(b), second.sender(), "any sender is heard again");
            IOException e = assertThrows(IOException.class, () -> Datagrams.send(fd, ByteBuffer.wrap(new byte[] {4}), null));
            assertEquals(Errno.EDESTADDRREQ, SyscallFailure.of(e).errno(), "no default peer any more: " + e.getMessage());
            Datagrams.disconnect(fd); // again: nothing to end, no failure
        } finally {
            NetFixtures.close(fd, a, b);
        }
    }

    // Outside round 14: disconnect of a TCP socket returned normally and reset its connection.
    @Test
    void disconnectRefusesAStreamSocketAndLeavesItsConnectionWhole() throws IOException {
        Fds.SocketPair s = Fds.socketPair();
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Datagrams.disconnect(s.first()));
            assertTrue(e.getMessage().contains("fd " + s.first()) && e.getMessage().contains("not a datagram socket"), e.getMessage());
            assertEquals(1, Fds.write(s.first(), new byte[] {7}, 0, 1));
            byte[] got = new byte[1];
            assertEquals(1, Fds.read(s.second(), got, 0, 1), "the connection is whole");
            Fds.Pipe p = Fds.pipe();
            try {
                assertEquals(Errno.ENOTSOCK, SyscallFailure.of(assertThrows(SyscallException.class, () -> Datagrams.disconnect(p.readFd()))).errno());
            } finally {
                p.close();
            }
        } finally {
            NetFixtures.close(s.first(), s.second());
        }
    }

    @Test
    void aRefusalOnAConnectedUdpSocketIsAnIOExceptionWithItsErrno() throws IOException {
        int closed = Datagrams.bindUdp(NetFixtures.V4, 0);
        SocketAddress gone = Sockets.localAddress(closed);
        NetFixtures.close(closed);
        int fd = Datagrams.openUdp(java.net.StandardProtocolFamily.INET);
        try {
            Datagrams.connect(fd, gone);
            Datagrams.send(fd, ByteBuffer.wrap(new byte[] {1}), null);
            IOException e = assertThrows(IOException.class, () -> Datagrams.receive(fd, ByteBuffer.allocate(8)));
            assertInstanceOf(SyscallConnectException.class, e);
            assertEquals(Errno.ECONNREFUSED, SyscallFailure.of(e).errno());
        } finally {
            NetFixtures.close(fd);
        }
    }

    @Test
    void anOversizedIpv4DatagramIsEmsgsize() {
        int fd = Datagrams.bindUdp(NetFixtures.V4, 0);
        try {
            SocketAddress self = Sockets.localAddress(fd);
            assertEquals(MAX_V4, Datagrams.trySend(fd, ByteBuffer.allocateDirect(MAX_V4), self));
            SyscallException e = assertThrows(SyscallException.class, () -> Datagrams.trySend(fd, ByteBuffer.allocateDirect(MAX_V4 + 1), self));
            assertEquals(Errno.EMSGSIZE, e.errno());
        } finally {
            NetFixtures.close(fd);
        }
    }

    @Test
    void sendOperationsAndBadAddressesBeforeAnySyscall() throws Exception {
        int b = Datagrams.bindUdp(NetFixtures.V6, 0);
        try (LoopThread loop = new LoopThread("udp-send")) {
            int a = Datagrams.openUdp(java.net.StandardProtocolFamily.INET6);
            Handle ha = Handle.of(a, loop.queue);
            CompletableFuture<Long> done = new CompletableFuture<>();
            loop.call(() -> {
                loop.queue.submit(ha, DatagramOperation.send(ByteBuffer.wrap(new byte[42]), Sockets.localAddress(b), (fd, n) -> done.complete(n)));
                return null;
            });
            assertEquals(42L, done.get(10, TimeUnit.SECONDS));
            Datagram d = Datagrams.receive(b, ByteBuffer.allocate(64));
            assertEquals(42, d.length());
            assertEquals(Sockets.localPort(ha.fd()), ((InetSocketAddress) d.sender()).getPort());
        } finally {
            NetFixtures.close(b);
        }
        assertThrows(IllegalArgumentException.class,
                () -> Datagrams.trySend(999_999, ByteBuffer.allocate(1), InetSocketAddress.createUnresolved("x", 1)));
        assertThrows(IllegalArgumentException.class, () -> Datagrams.bindUdp(NetFixtures.V4, 65536));
    }

    // guards (cold review 49): a UDP socket shut down for receiving reports readable for good while
    // recvfrom finds nothing: a loop receive spun (a wake-up per round), a blocking one spun at full
    // CPU, and after a shutdown of both sides (a HANGUP) the loop receive reported received(fd, null)
    @Test
    void aReceiveOnASocketShutDownForReceivingFailsWithEshutdownNeverSpinsOrReportsNull() throws Exception {
        for (boolean both : new boolean[] {false, true}) {
            int fd = Datagrams.bindUdp(NetFixtures.V4, 0);
            Datagrams.connect(fd, new InetSocketAddress(NetFixtures.V4, 9)); // shutdown needs a peer (ENOTCONN); nothing is sent
            try (LoopThread loop = new LoopThread("shut-udp")) {
                java.util.concurrent.CompletableFuture<Object> outcome = new java.util.concurrent.CompletableFuture<>();
                loop.call(() -> {
                    loop.queue.submit(fd, DatagramOperation.receive(ByteBuffer.allocate(64), new DatagramOperation.Received() {
                        @Override
                        public void received(int f, Datagram d) {
                            outcome.complete(d == null ? "received null" : d);
                        }

                        @Override
                        public void failed(int f, IOException e) {
                            outcome.complete(e);
                        }
                    }));
                    return null;
                });
                if (both) Sockets.shutdownOutput(fd);
                Sockets.shutdownInput(fd);
                Object o = outcome.get(5, java.util.concurrent.TimeUnit.SECONDS);
                assertTrue(o instanceof IOException e && "ESHUTDOWN".equals(SyscallFailure.of(e).errnoName())
                        && e.getMessage().contains("fd " + fd), both + ": " + o);
                if (!both) { // blocking, on a virtual thread
                    var blocking = new java.util.concurrent.CompletableFuture<Object>();
                    Thread.ofVirtual().start(() -> {
                        try {
                            blocking.complete(Datagrams.receive(fd, ByteBuffer.allocate(64)));
                        } catch (Throwable t) {
                            blocking.complete(t);
                        }
                    });
                    Object b = blocking.get(5, java.util.concurrent.TimeUnit.SECONDS);
                    assertTrue(b instanceof IOException e && "ESHUTDOWN".equals(SyscallFailure.of(e).errnoName()), String.valueOf(b));
                    assertTrue(Datagrams.isInputShutdown(fd));
                }
                loop.call(() -> {
                    loop.queue.unregister(fd);
                    return null;
                });
            } finally {
                Fds.close(fd);
            }
        }
    }

    @Test
    void bindUdpRefusesANullAddressAsItsJavadocSays() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Datagrams.bindUdp(null, 0));
        assertTrue(e.getMessage().contains("address is null"), e.getMessage());
    }

    // guards (cold review 49): an unconnected Unix datagram socket sending to a peer whose queue is
    // full gets EAGAIN while poll reports room (it looks at a connected peer's queue only): the
    // blocking send spun at full CPU and the loop operation woke every round
    @Test
    void aSendToAFullUnconnectedUnixPeerWaitsWithoutSpinningAndTheLoopsFailsWithEagain() throws Exception {
        UnixDomainSocketAddress path = UnixDomainSocketAddress.of(dir.resolve("full"));
        int receiver = Datagrams.openUnix(path);
        int sender = Datagrams.openUnix(null);
        try {
            int queued = 0;
            while (Datagrams.trySend(sender, ByteBuffer.wrap(new byte[] {1}), path) != Fds.WOULD_BLOCK) queued++;
            assertTrue(queued > 0);
            try (LoopThread loop = new LoopThread("full-unix")) {
                CompletableFuture<Object> outcome = new CompletableFuture<>();
                loop.call(() -> {
                    loop.queue.submit(sender, DatagramOperation.send(ByteBuffer.wrap(new byte[] {2}), path, outcomeOf(outcome)));
                    return null;
                });
                Object o = outcome.get(5, TimeUnit.SECONDS);
                assertTrue(o instanceof IOException e && "EAGAIN".equals(SyscallFailure.of(e).errnoName())
                        && e.getMessage().contains("fd " + sender), String.valueOf(o));
                QueueStats before = loop.queue.stats();
                Thread.sleep(100);
                assertTrue(loop.queue.stats().wakeUps() - before.wakeUps() < 5, "the loop keeps waking: " + loop.queue.stats());
                loop.call(() -> {
                    loop.queue.unregister(sender);
                    return null;
                });
            }
            CompletableFuture<Object> blocking = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try {
                    blocking.complete(Datagrams.send(sender, ByteBuffer.wrap(new byte[] {3}), path));
                } catch (Throwable t) {
                    blocking.complete(t);
                }
            });
            Thread.sleep(100);
            assertFalse(blocking.isDone(), () -> "sent into a full queue: " + blocking.join());
            Datagrams.receive(receiver, ByteBuffer.allocate(4)); // room for one
            assertEquals(1, blocking.get(5, TimeUnit.SECONDS));
        } finally {
            NetFixtures.close(receiver, sender);
        }
    }

    // guards (cold review 49 of the fix above): senders connected to one full Unix peer all wake when
    // it takes one; the one that loses the race must wait again, not fail with EAGAIN (120 of 160 did)
    @Test
    void connectedUnixSendersToOneFullPeerWaitForRoomNoneFails() throws Exception {
        UnixDomainSocketAddress path = UnixDomainSocketAddress.of(dir.resolve("herd"));
        int receiver = Datagrams.openUnix(path);
        int[] senders = new int[3];
        for (int i = 0; i < senders.length; i++) {
            senders[i] = Datagrams.openUnix(null);
            Datagrams.connect(senders[i], path);
        }
        try (LoopThread loop = new LoopThread("herd")) {
            int queued = 0;
            while (Datagrams.trySend(senders[0], ByteBuffer.wrap(new byte[] {0}), null) != Fds.WOULD_BLOCK) queued++;
            List<CompletableFuture<Object>> outcomes = new ArrayList<>();
            for (int fd : senders) {
                CompletableFuture<Object> outcome = new CompletableFuture<>();
                outcomes.add(outcome);
                loop.call(() -> {
                    loop.queue.submit(fd, DatagramOperation.send(ByteBuffer.wrap(new byte[] {1}), null, outcomeOf(outcome)));
                    return null;
                });
            }
            ByteBuffer in = ByteBuffer.allocate(4);
            for (int taken = 0; taken < queued + senders.length; taken++) {
                if (Fds.awaitReady(receiver, ReadyEvent.READ, Duration.ofSeconds(5)).isEmpty()) break; // a sender gave up
                Datagrams.tryReceive(receiver, in.clear()); // room for one: every sender wakes, one gets it
                Thread.sleep(5);
            }
            for (CompletableFuture<Object> outcome : outcomes) assertEquals(1L, outcome.get(5, TimeUnit.SECONDS));
            loop.call(() -> {
                for (int fd : senders) loop.queue.unregister(fd);
                return null;
            });
        } finally {
            NetFixtures.close(receiver);
            NetFixtures.close(senders);
        }
    }

    // guards (outside round 49c): a blocking send pausing on an unconnected full peer did not count
    // as parked: Fds.close left it sending, through the next socket that took the number, and a
    // handle's close ended it with ClosedChannelException rather than the dropped-wait exception
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aSendPausingOnAFullUnconnectedPeerEndsAtItsFdsClose(boolean owned) throws Exception {
        UnixDomainSocketAddress path = UnixDomainSocketAddress.of(dir.resolve("paused-" + owned));
        int receiver = Datagrams.openUnix(path);
        int sender = Datagrams.openUnix(null);
        Handle handle = owned ? Handle.of(sender) : null;
        try {
            CompletableFuture<Object> ended = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try {
                    while (true) { // until the peer is full, then it pauses
                        if (owned) Datagrams.send(handle, ByteBuffer.wrap(new byte[] {1}), path);
                        else Datagrams.send(sender, ByteBuffer.wrap(new byte[] {1}), path);
                    }
                } catch (Throwable t) {
                    ended.complete(t);
                }
            });
            Thread.sleep(200);
            assertFalse(ended.isDone(), () -> "ended before the close: " + ended.join());
            if (owned) handle.close();
            else Fds.close(sender);
            Object t = ended.get(5, TimeUnit.SECONDS);
            // Paused when the close came: the dropped wait. A handle's close may also come between a
            // pause and the next try (the pause over, the thread not yet sending): that try's
            // ClosedChannelException, as any call on a closed handle (a plain number has no such state).
            if (!(owned && t instanceof java.nio.channels.ClosedChannelException)) assertInstanceOf(WaitDroppedException.class, t);
        } finally {
            NetFixtures.close(receiver);
        }
    }

    /** A completion that completes {@code outcome} with the count, or with the failure. */
    private static IoCompletion outcomeOf(CompletableFuture<Object> outcome) {
        return new IoCompletion() {
            @Override
            public void completed(int fd, long n) {
                outcome.complete(n);
            }

            @Override
            public void failed(int fd, IOException e) {
                outcome.complete(e);
            }
        };
    }
}
