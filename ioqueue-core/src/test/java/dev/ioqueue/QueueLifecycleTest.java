package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ioqueue.internal.os.NativeAccounting;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A queue's life: one per thread, run until nothing is pending or it is asked to stop, closed by
 * its thread (dropping what waits, each told once, and closing the handles bound to it).
 */
class QueueLifecycleTest extends QueueTestSupport {

    // guards: queue.close() leaked fds and memory when onDropped threw an Error (outside finding D4)
    @Test
    void queueCloseReleasesEverythingWhenOnDroppedThrowsAnError() throws Exception {
        IoQueue.current().close();
        java.util.Set<String> fdsBefore = TestFds.settledOpenFds();
        long queuesBefore = NativeAccounting.liveQueues();
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        Fds.Pipe other = Fds.pipe();
        AtomicInteger toldOther = new AtomicInteger();
        q.await(p.readFd(), ReadyEvent.READ, throwingOnDrop(new AssertionError("first")));
        q.await(p.writeFd(), ReadyEvent.WRITE, throwingOnDrop(new OutOfMemoryError("second")));
        q.await(other.readFd(), ReadyEvent.READ, new ReadyCallback() {
            @Override
            public void onReady(int fd, java.util.Set<Event> events) {}

            @Override
            public void onDropped(int fd) {
                toldOther.incrementAndGet();
            }
        });
        q.schedule(Duration.ofHours(1), () -> {}, () -> {
            throw new IllegalStateException("from a timer's ifDropped");
        });
        Throwable e = assertThrows(Throwable.class, q::close);
        assertEquals(2, e.getSuppressed().length, "every other throwable is suppressed onto the first: " + e);
        assertEquals(1, toldOther.get(), "every other waiter was still told");
        assertTrue(q.isClosed());
        p.close();
        other.close();
        TestFds.assertNoneOpenedSince(fdsBefore, "epoll fd and eventfd released");
        assertEquals(queuesBefore, NativeAccounting.liveQueues(), "native memory released");
    }

    // guards: close() spun while producers kept calling execute() (outside finding D5)
    @Test
    void closeReturnsPromptlyWhileProducersHammerExecute() throws Exception {
        for (int round = 0; round < 5; round++) {
            IoQueue q = IoQueue.current();
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch started = new CountDownLatch(8);
            List<Thread> producers = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                Thread t = new Thread(() -> {
                    started.countDown();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (!stop.get() && System.nanoTime() < deadline) {
                        try {
                            q.execute(() -> {});
                        } catch (RejectedExecutionException expected) {
                            // keep going, as a careless producer would
                        }
                    }
                });
                t.start();
                producers.add(t);
            }
            started.await();
            q.close(); // returns only if it does not wait for the producers to stop
            boolean closedBeforeProducersGaveUp = producers.stream().allMatch(Thread::isAlive);
            stop.set(true);
            for (Thread t : producers) t.join();
            assertTrue(closedBeforeProducersGaveUp, "close() returned while the producers were still hammering");
        }
    }

    // guards: close() kept every failure of a huge backlog (outside finding D5)
    @Test
    void closeWithAHugeBacklogOfFailingTasksKeepsABoundedRecord() throws Exception {
        IoQueue q = IoQueue.current();
        Thread producer = new Thread(() -> {
            for (int i = 0; i < 20_000; i++) {
                int n = i;
                q.execute(() -> {
                    throw new IllegalStateException("task " + n);
                });
            }
        });
        producer.start();
        producer.join();
        IllegalStateException e = assertThrows(IllegalStateException.class, q::close);
        assertEquals("task 0", e.getMessage(), "the first failure propagates");
        assertEquals(dev.ioqueue.internal.base.Failures.MAX_SUPPRESSED, e.getSuppressed().length);
        assertTrue(q.isClosed());
    }

    // guards: the seed library's scenario: one queue per thread
    @Test
    void eachThreadHasItsOwnQueue() throws Exception {
        IoQueue mine = IoQueue.current();
        assertSame(mine, IoQueue.current());
        IoQueue theirs = CompletableFuture.supplyAsync(() -> {
            IoQueue q = IoQueue.current();
            q.close();
            return q;
        }, r -> new Thread(r).start()).get(10, TimeUnit.SECONDS);
        assertNotSame(mine, theirs);
        assertSame(Thread.currentThread(), mine.owner());
    }

    // guards: the seed library's scenario: threads each run their own queue at once
    @Test
    void severalThreadsEachRunTheirOwnQueue() throws Exception {
        int threads = 4;
        int hops = 5_000;
        List<CompletableFuture<Integer>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            CompletableFuture<Integer> result = new CompletableFuture<>();
            results.add(result);
            new Thread(() -> {
                try (Fds.Pipe a = Fds.pipe(); Fds.Pipe b = Fds.pipe()) {
                    IoQueue q = IoQueue.current();
                    // One waiter bounces a byte between the pipes: a, b, a, b, ... until it ran `hops` times.
                    Recorder pingPong = new Recorder();
                    pingPong.then((fd, ev) -> {
                        TestFds.readByte(fd);
                        if (pingPong.calls() < hops) {
                            Fds.Pipe next = fd == a.readFd() ? b : a;
                            TestFds.writeByte(next.writeFd(), 1);
                            q.await(next.readFd(), ReadyEvent.READ, pingPong);
                        }
                    });
                    q.await(a.readFd(), ReadyEvent.READ, pingPong);
                    TestFds.writeByte(a.writeFd(), 1);
                    q.run();
                    q.close();
                    List<String> log = pingPong.log();
                    for (int i = 0; i < log.size(); i++) {
                        assertEquals(Recorder.ready((i & 1) == 0 ? a.readFd() : b.readFd(), Event.READ), log.get(i), "hop " + i);
                    }
                    result.complete(pingPong.calls());
                } catch (Throwable e) {
                    result.completeExceptionally(e);
                }
            }).start();
        }
        for (CompletableFuture<Integer> r : results) assertEquals(hops, r.get(60, TimeUnit.SECONDS));
    }

    // guards: queue.close() left the Handles bound to it open (issue 18: no connection outlives its
    // loop); their operations are told dropped first, while the fd is still open
    @Test
    void closeTellsTheOperationsOfItsHandlesDroppedThenClosesThem() {
        IoQueue q = IoQueue.current();
        Fds.SocketPair s = Fds.socketPair();
        Handle h = Handle.of(s.first(), q);
        List<String> log = new ArrayList<>();
        q.submit(h, IoOperation.read(ByteBuffer.allocate(8), new IoCompletion() {
            @Override
            public void completed(int fd, long result) {
                log.add("completed");
            }

            @Override
            public void dropped(int fd) {
                log.add("dropped, fd open " + TestFds.isOpen(fd));
            }
        }));
        q.close();
        assertEquals(List.of("dropped, fd open true"), log);
        assertFalse(h.isOpen());
        assertFalse(TestFds.isOpen(s.first()));
        assertEquals(Fds.EOF, Fds.read(s.second(), ByteBuffer.allocate(1)), "the peer sees the close");
        Fds.close(s.second());
    }

    // guards: group.shutdown() returned true while the accepted connections stayed open (issue 18)
    @Test
    void groupShutdownLeavesNoConnectionFdOpen() throws Exception {
        IoQueue.current().close();
        warmUpOnce(); // what the first use opens for good (the shared queue, the JDK's own sockets) is not counted
        long before = TestFds.settledFdCount();
        IoQueueGroup group = IoQueueGroup.start(2, "shutdown-loop");
        int listener = Sockets.listenTcp(java.net.InetAddress.getLoopbackAddress(), 0, 64);
        List<java.net.Socket> clients = new ArrayList<>();
        AtomicInteger dropped = new AtomicInteger();
        try {
            for (int i = 0; i < 50; i++) {
                clients.add(new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), Sockets.localPort(listener)));
                int conn = BlockingIo.accept(listener);
                IoQueue loop = group.next();
                CountDownLatch reading = new CountDownLatch(1);
                loop.execute(() -> {
                    Handle h = Handle.of(conn, loop);
                    loop.submit(h, IoOperation.read(ByteBuffer.allocate(64), new IoCompletion() {
                        @Override
                        public void completed(int fd, long result) {}

                        @Override
                        public void dropped(int fd) {
                            dropped.incrementAndGet();
                        }
                    }));
                    reading.countDown();
                });
                assertTrue(reading.await(10, TimeUnit.SECONDS));
            }
            assertTrue(group.shutdown(Duration.ofSeconds(10)));
            assertEquals(50, dropped.get(), "every connection's read told dropped");
            for (java.net.Socket c : clients) assertEquals(-1, c.getInputStream().read(), "the server side is closed");
        } finally {
            for (java.net.Socket c : clients) c.close();
            Fds.close(listener);
        }
        assertEquals(before, TestFds.settledFdCount(), "no fd of the connections or of the loops left");
    }

    /** The calls the fd-counting test makes, once: their first use may open fds that stay (the shared queue's). */
    private static void warmUpOnce() throws Exception {
        int listener = Sockets.listenTcp(java.net.InetAddress.getLoopbackAddress(), 0, 1);
        try (java.net.Socket client = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), Sockets.localPort(listener))) {
            Fds.close(BlockingIo.accept(listener));
        } finally {
            Fds.close(listener);
        }
    }

    // guards: a running loop could not be asked to stop from another thread (issue 18)
    @Test
    void stopFromAnotherThreadMakesRunReturnAfterTheRoundUnderWay() throws Exception {
        IoQueue q = IoQueue.current();
        Cancellable hold = q.hold(); // run() would never return on its own
        Recorder tasks = new Recorder();
        q.execute(tasks.task("before"));
        Thread stopper = new Thread(q::stop);
        q.execute(stopper::start); // asks from another thread while run() is under way
        q.run();
        assertTrue(tasks.log().contains(Recorder.taskRan("before")));
        assertTrue(q.running(), "still held: run() returned because it was asked to");
        stopper.join();
        q.execute(tasks.task("after"));
        q.stop();
        q.run(); // the next run() runs one round and returns
        assertEquals(List.of(Recorder.taskRan("before"), Recorder.taskRan("after")), tasks.log());
        hold.cancel();
    }

    // guards: tasks a loop accepted before close() ran inside it where submit/await already refused:
    // "submit() on a closed queue" thrown and the operation never told anything (issue 18, defect 2)
    @Test
    void tasksAcceptedBeforeCloseThatSubmitOrAwaitAreToldDropped() throws Exception {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
            Recorder waiter = new Recorder();
            Thread other = new Thread(() -> {
                q.execute(() -> q.submit(p.readFd(), IoOperation.read(ByteBuffer.allocate(8), new IoCompletion() {
                    @Override
                    public void completed(int fd, long result) {
                        log.add("completed");
                    }

                    @Override
                    public void dropped(int fd) {
                        log.add("dropped " + fd);
                    }
                })));
                q.execute(() -> q.await(p.readFd(), ReadyEvent.READ, waiter));
            });
            other.start();
            other.join();
            q.close(); // runs the two tasks: what they ask for is dropped at once
            assertEquals(List.of("dropped " + p.readFd()), log);
            assertEquals(List.of(Recorder.dropped(p.readFd())), waiter.log());
        }
    }

    // guards: outside round 21: a dropped() that submits its operation again (a reconnect loop), or
    // an onDropped() that waits again, was dropped again at once on the same stack, over and over,
    // until close() threw StackOverflowError (about 4,000 deep). Now 16 nested drops, then the call
    // throws IllegalStateException, which close() rethrows once it has released everything. The
    // cold review found submitAnywhere doing the same, while closing and after close, on any thread.
    @Test
    void aDropThatAsksAgainWhileTheQueueClosesEndsInAnIllegalStateExceptionNotAStackOverflow() throws Exception {
        for (String call : new String[] {"submit", "await", "submitAnywhere"}) {
            IoQueue q = IoQueue.current();
            Fds.Pipe p = Fds.pipe();
            AtomicInteger drops = new AtomicInteger();
            IoOperation op = resubmittingRead(q, call, drops);
            switch (call) {
                case "submit" -> q.submit(p.readFd(), op);
                case "submitAnywhere" -> q.submitAnywhere(p.readFd(), op);
                default -> q.await(p.readFd(), ReadyEvent.READ, new ReadyCallback() {
                    @Override
                    public void onReady(int fd, Set<Event> events) {}

                    @Override
                    public void onDropped(int fd) {
                        drops.incrementAndGet();
                        q.await(fd, ReadyEvent.READ, this);
                    }
                });
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, q::close, call);
            assertTrue(e.getMessage().contains("closing queue"), e.getMessage());
            assertEquals(17, drops.get(), call + ": the first drop and 16 nested ones, then the call throws");
            assertTrue(q.isClosed());
            if (call.equals("submitAnywhere")) { // after close, from another thread: told at once, on that thread
                AtomicInteger later = new AtomicInteger();
                CompletableFuture<Throwable> thrown = CompletableFuture.supplyAsync(() -> {
                    try {
                        q.submitAnywhere(p.readFd(), resubmittingRead(q, call, later));
                        return null;
                    } catch (Throwable t) {
                        return t;
                    }
                });
                assertInstanceOf(IllegalStateException.class, thrown.get(10, TimeUnit.SECONDS));
                assertEquals(16, later.get(), "16 drops told at once, the 17th call throws");
            }
            p.close();
        }
    }

    /** A read whose dropped() counts and submits it again by {@code call}. */
    private static IoOperation resubmittingRead(IoQueue q, String call, AtomicInteger drops) {
        IoOperation[] op = new IoOperation[1];
        op[0] = IoOperation.read(ByteBuffer.allocate(8), new IoCompletion() {
            @Override
            public void completed(int fd, long result) {}

            @Override
            public void dropped(int fd) {
                drops.incrementAndGet();
                if (call.equals("submitAnywhere")) q.submitAnywhere(fd, op[0]);
                else q.submit(fd, op[0]);
            }
        });
        return op[0];
    }

    // guards: docs/threading.md's hand-off loop.execute(() -> loop.submit(fd, op)) racing shutdown threw
    // "submit() on a closed queue" to the group's handler and the operation was never told (19 of
    // 2,459 hand-offs; issue 18, defect 2): each is now completed or dropped, exactly once
    @Test
    void handOffsRacingGroupShutdownAreEachCompletedOrDroppedOnce() throws Exception {
        List<Throwable> uncaught = new java.util.concurrent.CopyOnWriteArrayList<>();
        IoQueueGroup group = IoQueueGroup.start(2, Thread.ofPlatform().factory(), (t, e) -> uncaught.add(e));
        int n = 2_000;
        AtomicInteger[] told = new AtomicInteger[n];
        Fds.Pipe p = Fds.pipe();
        try {
            Thread producer = new Thread(() -> {
                for (int i = 0; i < n; i++) {
                    AtomicInteger count = told[i] = new AtomicInteger();
                    IoQueue loop = group.next();
                    try {
                        loop.execute(() -> loop.submit(p.writeFd(), IoOperation.write(ByteBuffer.allocate(0), new IoCompletion() {
                            @Override
                            public void completed(int fd, long result) {
                                count.incrementAndGet();
                            }

                            @Override
                            public void dropped(int fd) {
                                count.incrementAndGet();
                            }
                        })));
                    } catch (RejectedExecutionException shutDown) {
                        count.incrementAndGet(); // refused at once: never accepted
                    }
                }
            });
            producer.start();
            Thread.sleep(1);
            assertTrue(group.shutdown(Duration.ofSeconds(10)));
            producer.join();
            for (int i = 0; i < n; i++) assertEquals(1, told[i].get(), "hand-off " + i);
            assertEquals(List.of(), uncaught);
        } finally {
            p.close();
        }
    }

    // guards: an accept lambda without failed() lost its listener on one EMFILE (the default closed it)
    @Test
    void anUnhandledAcceptFailureLeavesTheListenerOpenAndAccepting() throws Exception {
        IoQueue q = IoQueue.current();
        List<String> failures = new ArrayList<>();
        q.onFailure((fd, f) -> failures.add(((SyscallFailure) f).errnoName()));
        try (Handle listener = Handle.of(Sockets.listenTcp(java.net.InetAddress.getLoopbackAddress(), 0, 16), q)) {
            int port = Sockets.localPort(listener.fd());
            List<Integer> accepted = new ArrayList<>();
            IoOperation accept = IoOperation.accept((fd, conn) -> accepted.add((int) conn)); // no failed(): the default
            int client = Sockets.connectTcp(java.net.InetAddress.getLoopbackAddress(), port);
            try {
                dev.ioqueue.internal.os.Faults.failNth(dev.ioqueue.internal.os.Syscall.ACCEPT, 1, dev.ioqueue.internal.os.Errno.EMFILE);
                q.submit(listener, accept);
                assertEquals(List.of("EMFILE"), failures);
                assertTrue(listener.isOpen(), "the listener outlives the process's fd shortage");
                q.submit(listener, accept); // the connection still waits in the backlog
                q.run();
                assertEquals(1, accepted.size());
                Fds.close(accepted.get(0));
            } finally {
                Fds.close(client);
            }
        } finally {
            q.onFailure(null);
        }
    }
}
