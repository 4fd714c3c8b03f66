package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Connect, completed: every style, refusals, time limits on a peer that never answers, names, cancellation races. */
class ConnectTest {
    private static final Duration LIMIT = Duration.ofMillis(200);

    @TempDir
    Path dir;
    private LoopThread loop;
    private final List<Integer> toClose = new ArrayList<>();

    @BeforeEach
    void startLoop() {
        loop = new LoopThread("connect-loop");
    }

    @AfterEach
    void stopLoop() throws Exception {
        loop.close();
        NetFixtures.close(toClose.stream().mapToInt(Integer::intValue).toArray());
    }

    private int listener(InetAddress address, int backlog) {
        int fd = Sockets.listenTcp(address, 0, backlog);
        toClose.add(fd);
        return fd;
    }

    @Test
    void portZeroIsRefusedBeforeAnySyscall() {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        for (Executable call : List.<Executable>of(
                () -> Sockets.connectTcp(loopback, 0),
                () -> BlockingIo.connect(new InetSocketAddress(loopback, 0), null),
                () -> BlockingIo.connect("localhost", 0, null))) {
            var e = assertThrows(IllegalArgumentException.class, call);
            assertTrue(e.getMessage().contains("port 0"), e.getMessage());
        }
    }

    @Test
    void aCallbackConnectCompletesOnTheLoopWithABoundHandle() throws Exception {
        int listener = listener(NetFixtures.V4, 8);
        CompletableFuture<Handle> got = new CompletableFuture<>();
        AtomicBoolean onLoop = new AtomicBoolean();
        loop.call(() -> Connect.start(loop.queue, new InetSocketAddress(NetFixtures.V4, Sockets.localPort(listener)), LIMIT,
                new Connect.Completion() {
                    @Override
                    public void connected(Handle connection) {
                        onLoop.set(loop.queue.isOwnerThread());
                        got.complete(connection);
                    }

                    @Override
                    public void failed(IOException failure) {
                        got.completeExceptionally(failure);
                    }
                }));
        Handle h = got.get(10, TimeUnit.SECONDS);
        assertTrue(onLoop.get());
        assertSame(loop.queue, h.queue());
        assertEquals(true, SocketOptions.get(h, StandardSocketOptions.TCP_NODELAY), "the default");
        int server = BlockingIo.accept(listener);
        toClose.add(server);
        assertEquals(Sockets.localPort(listener), Sockets.remoteAddress(h.fd()).getPort());
        h.close();
    }

    @Test
    void aFutureOnTheSharedQueueGivesAnUnboundHandleThatCarriesBytes() throws Exception {
        int listener = listener(NetFixtures.V6, 8);
        Handle h = Connect.future(IoQueue.shared(), new InetSocketAddress(NetFixtures.V6, Sockets.localPort(listener)), LIMIT)
                .get(10, TimeUnit.SECONDS);
        try (h) {
            int server = BlockingIo.accept(listener);
            toClose.add(server);
            BlockingIo.writeFully(h, "hello".getBytes(), 0, 5);
            byte[] in = new byte[5];
            BlockingIo.readFully(server, ByteBuffer.wrap(in));
            assertEquals("hello", new String(in));
            assertNull(null);
        }
    }

    @Test
    void blockingConnectOnAVirtualThread() throws Exception {
        int listener = listener(NetFixtures.V4, 8);
        CompletableFuture<Handle> got = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                got.complete(BlockingIo.connect(new InetSocketAddress(NetFixtures.V4, Sockets.localPort(listener)), null));
            } catch (Throwable t) {
                got.completeExceptionally(t);
            }
        });
        try (Handle h = got.get(10, TimeUnit.SECONDS)) {
            assertNull(h.queue(), "unbound until used");
            assertTrue(h.isOpen());
        }
    }

    @Test
    void aClosedPortIsAConnectExceptionWithEconnrefusedAndNoFdLeft() throws Exception {
        int port = freePort();
        java.util.Set<String> before = TestFds.settledOpenFds();
        IOException e = assertThrows(IOException.class, () -> BlockingIo.connect(new InetSocketAddress(NetFixtures.V4, port), LIMIT));
        assertInstanceOf(ConnectException.class, e);
        assertInstanceOf(SyscallConnectException.class, e);
        assertEquals(Errno.ECONNREFUSED, SyscallFailure.of(e).errno());
        assertTrue(e.getMessage().contains("127.0.0.1:" + port), e.getMessage());
        ExecutionException viaFuture = assertThrows(ExecutionException.class,
                () -> Connect.future(loop.queue, new InetSocketAddress(NetFixtures.V6, port), LIMIT).get(10, TimeUnit.SECONDS));
        assertInstanceOf(SyscallConnectException.class, viaFuture.getCause());
        assertTrue(NetFixtures.eventually(() -> TestFds.openedSince(before).isEmpty()), "still open: " + TestFds.openedSince(before));
    }

    @Test
    void aPeerThatNeverAnswersTimesOutAfterTheLimitWithTheSocketClosed() throws Exception {
        InetSocketAddress silent = silentPeer();
        java.util.Set<String> before = TestFds.settledOpenFds();
        long start = System.nanoTime();
        IOException e = assertThrows(IOException.class, () -> BlockingIo.connect(silent, LIMIT));
        long tookNanos = System.nanoTime() - start;
        assertInstanceOf(SocketTimeoutException.class, e);
        assertEquals(Errno.ETIMEDOUT, SyscallFailure.of(e).errno());
        assertTrue(tookNanos >= LIMIT.toNanos(), "gave up after " + tookNanos + " ns");
        int fd = SyscallFailure.of(e).fd();
        assertTrue(fd >= 0, "the exception names the socket");
        assertTrue(NetFixtures.eventually(() -> TestFds.openedSince(before).isEmpty()), "still open: " + TestFds.openedSince(before));

        // the callback style, on a loop
        CompletableFuture<IOException> failed = new CompletableFuture<>();
        long start2 = System.nanoTime();
        loop.call(() -> Connect.start(loop.queue, silent, LIMIT, new Connect.Completion() {
            @Override
            public void connected(Handle connection) {
                connection.close();
                failed.completeExceptionally(new AssertionError("connected to a silent peer"));
            }

            @Override
            public void failed(IOException failure) {
                failed.complete(failure);
            }
        }));
        assertInstanceOf(SyscallTimeoutException.class, failed.get(10, TimeUnit.SECONDS));
        assertTrue(System.nanoTime() - start2 >= LIMIT.toNanos());
        assertTrue(NetFixtures.eventually(() -> TestFds.openedSince(before).isEmpty()), "still open: " + TestFds.openedSince(before));
    }

    @Test
    void happyEyeballsStartsTheNextCandidateAfter250msAndClosesTheLoser() throws Exception {
        InetSocketAddress silent = silentPeer();
        int listener = listener(NetFixtures.V4, 8);
        InetSocketAddress good = new InetSocketAddress(NetFixtures.V4, Sockets.localPort(listener));
        java.util.Set<String> before = TestFds.settledOpenFds();
        long start = System.nanoTime();
        try (Handle h = Connect.future(loop.queue, List.of(silent, good), Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS)) {
            long took = System.nanoTime() - start;
            assertEquals(good.getPort(), Sockets.remoteAddress(h.fd()).getPort());
            assertTrue(took >= TimeUnit.MILLISECONDS.toNanos(250), "the second attempt waits for the first 250 ms: " + took);
            assertTrue(NetFixtures.eventually(() -> TestFds.openedSince(before).size() == 1), "only the winner is left open: " + TestFds.openedSince(before));
        }
    }

    @Test
    void aRefusedCandidateHandsOverToTheNextAtOnce() throws Exception {
        int listener = listener(NetFixtures.V4, 8);
        InetSocketAddress refused = new InetSocketAddress(NetFixtures.V6, freePort());
        InetSocketAddress good = new InetSocketAddress(NetFixtures.V4, Sockets.localPort(listener));
        try (Handle h = Connect.future(loop.queue, List.of(refused, good), null).get(10, TimeUnit.SECONDS)) {
            assertEquals(good, Sockets.remoteAddress(h.fd()));
        }
        ExecutionException both = assertThrows(ExecutionException.class,
                () -> Connect.future(loop.queue, List.of(refused, new InetSocketAddress(NetFixtures.V4, refused.getPort())), null)
                        .get(10, TimeUnit.SECONDS));
        assertInstanceOf(SyscallConnectException.class, both.getCause());
        assertEquals(1, both.getCause().getSuppressed().length, "the second candidate's refusal rides on the first");
    }

    // guards (outside round 32): the time limit's failure dropped the refusal of a candidate tried before
    @Test
    void aTimeLimitEndingACandidateListKeepsTheCandidatesFailuresSuppressed() throws Exception {
        InetSocketAddress refused = new InetSocketAddress(NetFixtures.V6, freePort());
        InetSocketAddress silent = silentPeer();
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> Connect.future(loop.queue, List.of(refused, silent), Duration.ofMillis(300)).get(10, TimeUnit.SECONDS));
        assertInstanceOf(SocketTimeoutException.class, e.getCause());
        assertEquals(1, e.getCause().getSuppressed().length, "the refused candidate rides on the time limit's failure");
        assertInstanceOf(SyscallConnectException.class, e.getCause().getSuppressed()[0]);
    }

    @Test
    void localhostByNameResolvesToBothFamiliesAndConnects() throws Exception {
        InetAddress[] all = InetAddress.getAllByName("localhost");
        assertTrue(Set.of(all).contains(NetFixtures.V4) && Set.of(all).contains(NetFixtures.V6), List.of(all).toString());
        // a listener on each family at one port: whichever the order picks first answers
        int v6 = Sockets.listenTcp(NetFixtures.V6, 0, 8);
        toClose.add(v6);
        int port = Sockets.localPort(v6);
        toClose.add(Sockets.listenTcp(NetFixtures.V4, port, 8));
        try (Handle h = BlockingIo.connect("localhost", port, LIMIT)) {
            assertEquals(all[0], Sockets.remoteAddress(h.fd()).getAddress(), "the resolver's first address, per RFC 8305");
        }
        NetFixtures.close(v6);
        toClose.remove(Integer.valueOf(v6));
        // with the first family's listener gone, the other family answers
        try (Handle h = Connect.future(loop.queue, "localhost", port, LIMIT).get(10, TimeUnit.SECONDS)) {
            assertEquals(NetFixtures.V4, Sockets.remoteAddress(h.fd()).getAddress());
        }
    }

    @Test
    void namesResolveOffTheLoopWhichKeepsRunning() throws Exception {
        int listener = listener(NetFixtures.V4, 8);
        TestNames.slowCallers.clear();
        CompletableFuture<Handle> connect = Connect.future(loop.queue, TestNames.SLOW, Sockets.localPort(listener), null);
        CompletableFuture<Boolean> tick = new CompletableFuture<>();
        loop.queue.schedule(Duration.ofMillis(20), () -> tick.complete(connect.isDone()));
        assertEquals(false, tick.get(10, TimeUnit.SECONDS), "a timer ran on the loop while the name was resolving");
        try (Handle h = connect.get(10, TimeUnit.SECONDS)) {
            assertTrue(h.isOpen());
        }
        Thread resolver = TestNames.slowCallers.peek();
        assertTrue(resolver != null && resolver.isVirtual(), "resolved on " + resolver);
        assertNotSame(loop.queue.owner(), resolver);
        IOException unknown = assertThrows(IOException.class, () -> BlockingIo.connect("no-such-host.invalid", 80, LIMIT));
        assertInstanceOf(UnknownHostException.class, unknown);
    }

    @Test
    void unixSocketsConnectByPath() throws Exception {
        Path path = dir.resolve("u");
        int listener = Sockets.listenUnix(path, 4);
        toClose.add(listener);
        try (Handle h = BlockingIo.connect(UnixDomainSocketAddress.of(path), LIMIT)) {
            int server = BlockingIo.accept(listener);
            toClose.add(server);
            BlockingIo.writeFully(server, new byte[] {7}, 0, 1);
            byte[] one = new byte[1];
            assertEquals(1, BlockingIo.read(h, one, 0, 1));
            assertEquals(7, one[0]);
        }
        IOException missing = assertThrows(IOException.class, () -> BlockingIo.connect(UnixDomainSocketAddress.of(dir.resolve("none")), LIMIT));
        assertEquals(Errno.ENOENT, SyscallFailure.of(missing).errno());
    }

    /** A Unix listener at {@code path} (backlog 0) whose backlog is full: the next connect finds no room. */
    private int fullUnixListener(Path path) {
        int listener = Sockets.listenUnix(path, 0);
        toClose.add(listener);
        while (true) {
            try {
                toClose.add(Sockets.connectUnix(path));
            } catch (SyscallException full) {
                assertEquals("EAGAIN", full.errnoName());
                return listener;
            }
        }
    }

    // guards: a connect to a Unix listener whose backlog was full failed at once with EAGAIN, where
    // a blocking connect (the JDK's) waits for room (outside round 11)
    @Test
    void aUnixConnectWaitsForRoomInAFullBacklog() throws Exception {
        Path path = dir.resolve("full");
        int listener = fullUnixListener(path);
        AtomicLong roomAt = new AtomicLong();
        CompletableFuture<Integer> accepted = new CompletableFuture<>();
        Thread acceptor = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(100); // the connect below finds no room first
                roomAt.set(System.nanoTime()); // there is no room before this accept
                accepted.complete(BlockingIo.accept(listener));
            } catch (Throwable t) {
                accepted.completeExceptionally(t);
            }
        });
        try (Handle h = BlockingIo.connect(UnixDomainSocketAddress.of(path), Duration.ofSeconds(10))) {
            long connectedAt = System.nanoTime();
            long room = roomAt.get();
            assertTrue(h.isOpen());
            assertTrue(room != 0 && connectedAt - room >= 0, "connected only after the accept made room");
            toClose.add(accepted.get(10, TimeUnit.SECONDS));
        }
        acceptor.join();
    }

    // guards: the retries of a Unix connect waiting for room end at its time limit, on cancel, and on
    // a refusal (the listener gone), each with its socket closed (outside round 11)
    @Test
    void aUnixConnectWaitingForRoomEndsAtItsLimitOnCancelOrARefusalLeavingNoFd() throws Exception {
        Path path = dir.resolve("full");
        int listener = fullUnixListener(path);
        IoQueue.shared(); // made once per process: not a leak of what follows
        java.util.Set<String> before = TestFds.settledOpenFds();
        SyscallTimeoutException stayedFull = assertThrows(SyscallTimeoutException.class,
                () -> BlockingIo.connect(UnixDomainSocketAddress.of(path), LIMIT));
        assertTrue(stayedFull.getMessage().contains("backlog stayed full"), stayedFull.getMessage());
        CompletableFuture<Handle> cancelled = Connect.future(loop.queue, UnixDomainSocketAddress.of(path), null);
        Thread.sleep(20); // retrying by now
        assertTrue(cancelled.cancel(false));
        CompletableFuture<Handle> refused = Connect.future(loop.queue, UnixDomainSocketAddress.of(path), Duration.ofSeconds(10));
        Thread.sleep(20);
        toClose.remove(Integer.valueOf(listener));
        Fds.close(listener); // the next try finds nobody listening
        ExecutionException e = assertThrows(ExecutionException.class, () -> refused.get(5, TimeUnit.SECONDS));
        assertInstanceOf(SyscallConnectException.class, e.getCause());
        TestFds.assertNoneOpenedSince(before, "the sockets of the connects that waited for room");
    }

    // guards: a connect in flight when its queue's thread ended without closing the queue kept its
    // socket open for good (nothing would run its loop again); the last note's leftover
    @Test
    void aConnectInFlightWhenItsQueuesThreadEndsHasItsSocketClosed() throws Exception {
        Path path = dir.resolve("full");
        fullUnixListener(path); // a connect there retries on the queue's timers: in flight for good
        int tcp = listener(NetFixtures.V4, 8); // never accepts: a connect there waits for the loop to see it writable
        InetSocketAddress tcpTarget = new InetSocketAddress(NetFixtures.V4, Sockets.localPort(tcp));
        Set<String> before = TestFds.settledOpenFds();
        List<CompletableFuture<Handle>> futures = new ArrayList<>();
        Set<String> connecting = new java.util.HashSet<>();
        Thread t = new Thread(() -> {
            IoQueue q = IoQueue.current();
            futures.add(Connect.future(q, UnixDomainSocketAddress.of(path), Duration.ofSeconds(30)));
            futures.add(Connect.future(q, tcpTarget, Duration.ofSeconds(30)));
            Connect.start(q, UnixDomainSocketAddress.of(path), null, h -> { throw new AssertionError("connected on a dead loop"); });
            connecting.addAll(sockets(TestFds.openedSince(before))); // looked at before the thread ends: the watchdog acts after
        }, "ends-connecting"); // and without close()
        t.start();
        t.join();
        assertTrue(connecting.size() >= 3, "the connects' sockets: " + connecting);
        ExecutionException e = assertThrows(ExecutionException.class, () -> futures.get(0).get(10, TimeUnit.SECONDS));
        assertInstanceOf(WaitDroppedException.class, e.getCause());
        try {
            futures.get(1).get(10, TimeUnit.SECONDS).close(); // connected at once, or dropped
        } catch (ExecutionException dropped) {
            assertInstanceOf(WaitDroppedException.class, dropped.getCause());
        }
        long end = System.nanoTime() + 5_000_000_000L;
        while (!sockets(TestFds.openedSince(before)).isEmpty() && System.nanoTime() < end) Thread.sleep(10);
        assertEquals(Set.of(), sockets(TestFds.openedSince(before)), "sockets of connects whose queue's thread ended");
    }

    // guards (cold review): a connect whose socket its queue could not wait on (epoll_ctl refused,
    // say ENOSPC at fs.epoll.max_user_watches) threw out of the loop's task: its future never
    // completed (a BlockingIo.connect without a limit hung) and the connect stayed in its queue's set
    @Test
    void aConnectWhoseSocketTheQueueCannotWaitOnFailsWithThatErrnoLeavingNoSocket() throws Exception {
        int tcp = listener(NetFixtures.V4, 8);
        InetSocketAddress target = new InetSocketAddress(NetFixtures.V4, Sockets.localPort(tcp));
        Set<String> before = TestFds.settledOpenFds();
        loop.call(() -> { // the plan fails a call of the loop's thread, which the connect is posted to
            dev.ioqueue.internal.os.Faults.failNth(dev.ioqueue.internal.os.Syscall.EPOLL_CTL, 1, Errno.ENOSPC.number());
            return null;
        });
        CompletableFuture<Handle> f;
        try {
            f = Connect.future(loop.queue, target, null); // no time limit: only the failure can end it
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
            assertInstanceOf(IOException.class, e.getCause());
            assertEquals(Errno.ENOSPC, SyscallFailure.of(e.getCause()).errno(), String.valueOf(e.getCause()));
        } finally {
            dev.ioqueue.internal.os.Faults.clear();
        }
        assertEquals(Set.of(), sockets(TestFds.openedSince(before)), "the socket of the connect that could not wait");
        assertEquals(1, loop.call(() -> 1), "the loop goes on");
    }

    private static Set<String> sockets(Set<String> fds) {
        return fds.stream().filter(f -> f.contains("socket:")).collect(java.util.stream.Collectors.toSet());
    }

    @Test
    void aThousandConnectsRacingCancellationLeaveNoFd() throws Exception {
        int listener = listener(NetFixtures.V4, 4096);
        InetSocketAddress target = new InetSocketAddress(NetFixtures.V4, Sockets.localPort(listener));
        Thread acceptor = Thread.ofVirtual().start(() -> {
            try {
                while (true) NetFixtures.close(BlockingIo.accept(listener));
            } catch (IOException | RuntimeException stop) {
                // the listener was closed
            }
        });
        // What the process makes once, before the count: the shared queue, and the blocking pollers
        // the acceptor waits in (counted after they started, or the test saw them as a leak).
        for (IoQueue q : List.of(loop.queue, IoQueue.shared())) Connect.future(q, target, Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS).close();
        java.util.Set<String> before = TestFds.settledOpenFds();
        List<CompletableFuture<Handle>> futures = new CopyOnWriteArrayList<>();
        int cancelled = 0;
        for (int i = 0; i < 1000; i++) {
            IoQueue q = i % 2 == 0 ? loop.queue : IoQueue.shared();
            CompletableFuture<Handle> f = Connect.future(q, target, Duration.ofSeconds(5));
            futures.add(f);
            int spin = ThreadLocalRandom.current().nextInt(20_000);
            for (int s = 0; s < spin; s++) Thread.onSpinWait();
            if (f.cancel(false)) cancelled++;
        }
        int connected = 0;
        for (CompletableFuture<Handle> f : futures) {
            try {
                f.get(10, TimeUnit.SECONDS).close();
                connected++;
            } catch (java.util.concurrent.CancellationException expected) {
                // the connect was called off: its socket is closed on its loop
            }
        }
        assertEquals(1000, cancelled + connected);
        assertTrue(NetFixtures.eventually(() -> TestFds.openedSince(before).isEmpty()), "still open: " + TestFds.openedSince(before)
                + " (" + cancelled + " cancelled, " + connected + " connected)");
        // Closed through the library, which wakes the acceptor blocked on it (a raw close(2) would
        // leave it parked: the kernel reports nothing for a closed number).
        Fds.close(listener);
        toClose.remove(Integer.valueOf(listener));
        acceptor.join(10_000);
        assertFalse(acceptor.isAlive(), "the acceptor blocked on the closed listener was not woken");
    }

    @Test
    void aQueueClosedUnderAConnectFailsItAndClosesItsSocket() throws Exception {
        InetSocketAddress silent = silentPeer();
        java.util.Set<String> before = TestFds.settledOpenFds();
        CompletableFuture<Handle> f = Connect.future(loop.queue, silent, null);
        Thread.sleep(20);
        loop.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        assertInstanceOf(WaitDroppedException.class, e.getCause());
        loop = new LoopThread("connect-loop-2"); // as many fds of its own as the closed one had
        assertTrue(NetFixtures.eventually(() -> TestFds.openedSince(before).isEmpty()), "still open: " + TestFds.openedSince(before));
    }

    @Test
    void anInterruptedBlockingConnectClosesItsSocket() throws Exception {
        InetSocketAddress silent = silentPeer();
        java.util.Set<String> before = TestFds.settledOpenFds();
        CompletableFuture<Throwable> outcome = new CompletableFuture<>();
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                BlockingIo.connect(silent, null).close();
                outcome.complete(null);
            } catch (Throwable e) {
                outcome.complete(e);
            }
        });
        Thread.sleep(50);
        t.interrupt();
        assertInstanceOf(InterruptedIOException.class, outcome.get(10, TimeUnit.SECONDS));
        assertTrue(NetFixtures.eventually(() -> TestFds.openedSince(before).isEmpty()), "still open: " + TestFds.openedSince(before));
    }

    // guards (outside round 31): an interrupt that came as the connect completed found the future done,
    // its cancel too late, and the connection it held was left open (up to 11 of 1,000 per backend)
    @Test
    void aBlockingConnectInterruptedAtAnyPointLeavesNoSocketOpen() throws Exception {
        int listener = listener(NetFixtures.V4, 4096);
        InetSocketAddress target = new InetSocketAddress(NetFixtures.V4, Sockets.localPort(listener));
        Thread acceptor = Thread.ofPlatform().daemon().start(() -> {
            try {
                while (true) Fds.close(BlockingIo.accept(listener));
            } catch (Throwable ended) {
                // the listener closed: done
            }
        });
        java.util.Set<String> before = TestFds.settledOpenFds();
        for (int i = 0; i < 2000; i++) {
            Thread t = Thread.ofVirtual().start(() -> {
                try {
                    BlockingIo.connect(target, null).close();
                } catch (IOException interrupted) {
                    // InterruptedIOException: its socket is closed
                }
            });
            long until = System.nanoTime() + ThreadLocalRandom.current().nextLong(300_000);
            while (System.nanoTime() < until) Thread.onSpinWait();
            t.interrupt();
            t.join();
        }
        assertTrue(NetFixtures.eventually(() -> TestFds.openedSince(before).isEmpty()), "still open: " + TestFds.openedSince(before));
        Sockets.shutdownInput(listener); // ends the acceptor's wait
        acceptor.join(10_000);
    }

    @Test
    void badArgumentsAreRefusedBeforeAnySyscall() {
        assertThrows(IllegalArgumentException.class, () -> Connect.future(loop.queue, new InetSocketAddress(NetFixtures.V4, 1), Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> Connect.future(loop.queue, List.of(), null));
        assertThrows(IllegalArgumentException.class, () -> BlockingIo.connect("localhost", 70000, null));
        assertThrows(IllegalStateException.class, () -> Connect.start(loop.queue, new InetSocketAddress(NetFixtures.V4, 1), null, c -> {}),
                "off the loop's thread");
    }

    // ---- fixtures ----


    private int freePort() {
        int fd = Sockets.listenTcp(NetFixtures.V6, 0, 1);
        int port = Sockets.localPort(fd);
        NetFixtures.close(fd);
        return port;
    }

    /**
     * A loopback peer that never answers: a listener with backlog 0 whose accept queue is full of
     * connections nobody accepts, so the kernel drops every further SYN. Checked: a connect to it
     * is still pending after 300 ms.
     */
    private InetSocketAddress silentPeer() throws IOException {
        int listener = listener(NetFixtures.V4, 0);
        int port = Sockets.localPort(listener);
        for (int i = 0; i < 16; i++) {
            int fd = Sockets.connectTcp(NetFixtures.V4, port);
            toClose.add(fd);
            Set<Event> ready = Fds.awaitReady(fd, ReadyEvent.WRITE, Duration.ofMillis(300));
            if (ready.isEmpty()) return new InetSocketAddress(NetFixtures.V4, port); // this SYN was dropped: full
        }
        throw new AssertionError("the listener's accept queue never filled: no silent peer on this kernel");
    }
}
