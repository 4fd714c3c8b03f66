package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ioqueue.internal.os.NativeAccounting;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The defects that testing from outside found (issue 9), one test each, numbered as there. Each
 * failed before its fix.
 */
class OutsideFindingsTest extends QueueTestSupport {

    // ---- 1. a waiter lost after its callback closed the fd behind the queue's back ----

    @Test
    void d1_callbackClosesItsFdGetsTheNumberBackFromFdsAndWaitsOnIt_theNewWaiterFires() {
        IoQueue q = IoQueue.current();
        Fds.Pipe first = Fds.pipe();
        TestFds.writeByte(first.writeFd(), 1);
        AtomicInteger secondRan = new AtomicInteger();
        int[] second = new int[2];
        q.await(first.readFd(), ReadyEvent.READ, (fd, ev) -> {
            TestFds.rawClose(fd); // behind the queue's back, as a native library might
            Fds.Pipe p = Fds.pipe();
            second[0] = p.readFd();
            second[1] = p.writeFd();
            assumeTrue(p.readFd() == fd, "the kernel handed out another number");
            q.await(p.readFd(), ReadyEvent.READ, (fd2, ev2) -> secondRan.incrementAndGet());
            TestFds.writeByte(p.writeFd(), 2);
        });
        runFor(q, Duration.ofSeconds(5), () -> secondRan.get() > 0);
        assertEquals(1, secondRan.get(), "the waiter on the reused number ran");
        Fds.close(first.writeFd());
        Fds.close(second[0]);
        Fds.close(second[1]);
    }

    @Test
    void d1_callbackClosesItsFdAndNativeCodeReusesTheNumber_theWaiterIsNeverLostForGood() {
        IoQueue q = IoQueue.current();
        Fds.Pipe first = Fds.pipe();
        TestFds.writeByte(first.writeFd(), 1);
        AtomicInteger secondRan = new AtomicInteger();
        AtomicInteger dropped = new AtomicInteger();
        int[][] raw = new int[1][];
        q.await(first.readFd(), ReadyEvent.READ, (fd, ev) -> {
            TestFds.rawClose(fd);
            raw[0] = TestFds.rawPipe(); // the library is not told of this one
            assumeTrue(raw[0][0] == fd, "the kernel handed out another number");
            q.await(fd, ReadyEvent.READ, new ReadyCallback() {
                @Override
                public void onReady(int fd2, java.util.Set<Event> events) {
                    secondRan.incrementAndGet();
                }

                @Override
                public void onDropped(int fd2) {
                    dropped.incrementAndGet();
                }
            });
            TestFds.writeByte(raw[0][1], 2);
        });
        PrematureCloseError error = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (secondRan.get() == 0 && error == null && System.nanoTime() < deadline) {
            try {
                q.runOnce(Duration.ofMillis(50));
            } catch (PrematureCloseError e) {
                error = e;
            }
        }
        // Either outcome is allowed; a waiter that can never fire is not.
        assertTrue(secondRan.get() == 1 || (error != null && error.fd() == raw[0][0] && dropped.get() == 1),
                "ran " + secondRan.get() + ", error " + error + ", dropped " + dropped.get());
        assertFalse(q.running(), "nothing left waiting");
        Fds.close(first.writeFd());
        Fds.close(raw[0][0]);
        Fds.close(raw[0][1]);
    }

    @Test
    void d1_aLoopBlockedInRunStillFindsTheLostWaiter() throws Exception {
        java.util.concurrent.CompletableFuture<Throwable> outcome = new java.util.concurrent.CompletableFuture<>();
        AtomicInteger secondRan = new AtomicInteger();
        Thread loop = new Thread(() -> {
            IoQueue q = IoQueue.current();
            try {
                Fds.Pipe first = Fds.pipe();
                TestFds.writeByte(first.writeFd(), 1);
                q.await(first.readFd(), ReadyEvent.READ, (fd, ev) -> {
                    TestFds.rawClose(fd);
                    int[] raw = TestFds.rawPipe(); // the library is not told of this one
                    if (raw[0] != fd) throw new IllegalStateException("the kernel handed out another number");
                    q.await(fd, ReadyEvent.READ, (fd2, ev2) -> secondRan.incrementAndGet()); // nothing will be written
                });
                q.run(); // blocks with no timeout: only the queue's own confirmation timer can end it
                outcome.complete(null);
            } catch (Throwable t) {
                outcome.complete(t);
            } finally {
                q.close();
            }
        }, "blocked-loop");
        loop.setDaemon(true); // a regression hangs this thread, not the test JVM
        loop.start();
        Throwable t = outcome.get(10, TimeUnit.SECONDS);
        assertInstanceOf(PrematureCloseError.class, t, String.valueOf(t));
        assertEquals(0, secondRan.get());
    }

    @Test
    void d1_aPersistedFdClosedAndReusedFromItsCallbackIsFoundToo() throws Exception {
        Throwable t = lostWaiterOutcome(true, false);
        assertInstanceOf(PrematureCloseError.class, t, String.valueOf(t));
    }

    @Test
    void d1_whenADupKeepsTheOldFileReadyTheReusedNumberIsFoundAndTheLoopQuietens() throws Exception {
        Throwable t = lostWaiterOutcome(false, true);
        assertInstanceOf(PrematureCloseError.class, t, String.valueOf(t));
    }

    /**
     * On a fresh loop thread blocked in run(): a callback closes its fd behind the queue's back,
     * native code gets the number back as an empty pipe, and the callback waits on it again each
     * time it is woken (retrying on WOULD_BLOCK as it should). Returns what run() ended with.
     */
    private static Throwable lostWaiterOutcome(boolean persist, boolean dupKeepsOldFile) throws Exception {
        java.util.concurrent.CompletableFuture<Throwable> outcome = new java.util.concurrent.CompletableFuture<>();
        AtomicInteger wakeUps = new AtomicInteger();
        Thread loop = new Thread(() -> {
            IoQueue q = IoQueue.current();
            int[] dup = {-1};
            try {
                Fds.Pipe first = Fds.pipe();
                TestFds.writeByte(first.writeFd(), 1);
                if (persist) q.persist(first.readFd());
                if (dupKeepsOldFile) dup[0] = TestFds.dup(first.readFd()); // the old file stays readable
                ReadyCallback again = new ReadyCallback() {
                    @Override
                    public void onReady(int fd, java.util.Set<Event> events) {
                        wakeUps.incrementAndGet();
                        if (TestFds.readByte(fd) == Fds.WOULD_BLOCK) q.await(fd, ReadyEvent.READ, this);
                    }
                };
                q.await(first.readFd(), ReadyEvent.READ, (fd, ev) -> {
                    TestFds.rawClose(fd);
                    int[] raw = TestFds.rawPipe(); // the library is not told of this one
                    if (raw[0] != fd) throw new IllegalStateException("the kernel handed out another number");
                    q.await(fd, ReadyEvent.READ, again);
                });
                try {
                    q.run(); // no timeout: only the queue's own check can end it
                    outcome.complete(null);
                } catch (Throwable t) {
                    int before = wakeUps.get();
                    q.runOnce(Duration.ofMillis(300)); // quiet afterwards: no more spurious wake-ups
                    outcome.complete(wakeUps.get() == before ? t : new AssertionError("still woken after the error", t));
                }
            } catch (Throwable t) {
                outcome.complete(t);
            } finally {
                if (dup[0] >= 0) TestFds.rawClose(dup[0]);
                q.close();
            }
        }, "blocked-loop");
        loop.setDaemon(true); // a regression hangs this thread, not the test JVM
        loop.start();
        return outcome.get(10, TimeUnit.SECONDS);
    }

    // ---- 2. one bad fd number blew the heap ----

    @Test
    void d2_hugeFdNumbersAreRefusedWithEbadfAndRetainNothing() {
        IoQueue q = IoQueue.current();
        long before = usedHeapAfterGc();
        int[] numbers = {1 << 16, 1 << 20, 1 << 22, 1 << 24, 1 << 28, 1_000_000_000, Integer.MAX_VALUE - 1, Integer.MAX_VALUE};
        for (int fd : numbers) {
            SyscallException e = assertThrows(SyscallException.class, () -> q.await(fd, ReadyEvent.READ, (f, ev) -> {}));
            assertEquals("EBADF", e.errnoName());
            assertEquals(fd, e.fd());
            assertTrue(e.getMessage().contains("fd " + fd), e.getMessage());
            e = assertThrows(SyscallException.class, () -> q.persist(fd));
            assertEquals("EBADF", e.errnoName());
        }
        long retained = usedHeapAfterGc() - before;
        assertTrue(retained < 16 << 20, "retained " + (retained >> 20) + " MiB");
        assertFalse(q.running());
        try (Fds.Pipe p = Fds.pipe()) {
            PrematureCloseTest.assertQueueStillWorks(q, p);
        }
    }

    @Test
    void d2_aHighFdNumberThatIsOpenWorksWithoutATableThatSize() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            int high = dup2(p.readFd(), 19_000); // ulimit -n is 20000 here
            assumeTrue(high == 19_000);
            AtomicInteger ran = new AtomicInteger();
            q.await(high, ReadyEvent.READ, (fd, ev) -> ran.incrementAndGet());
            TestFds.writeByte(p.writeFd(), 1);
            q.run();
            assertEquals(1, ran.get());
            Fds.close(high);
        }
    }

    // ---- 3. reads into read-only buffers, and the rest of the buffer matrix ----

    @Test
    void d3_readIntoReadOnlyBuffersAndSegmentsConsumesNothing() {
        try (Fds.Pipe p = Fds.pipe(); Arena arena = Arena.ofConfined()) {
            Fds.write(p.writeFd(), "hello!".getBytes(), 0, 6);
            assertThrows(ReadOnlyBufferException.class, () -> Fds.read(p.readFd(), ByteBuffer.allocate(16).asReadOnlyBuffer()));
            ByteBuffer directRo = ByteBuffer.allocateDirect(16).asReadOnlyBuffer();
            assertThrows(ReadOnlyBufferException.class, () -> Fds.read(p.readFd(), directRo));
            assertEquals(0, directRo.duplicate().get(0), "nothing written into the read-only buffer's memory");
            MemorySegment roSegment = arena.allocate(16).asReadOnly();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Fds.read(p.readFd(), roSegment));
            assertTrue(e.getMessage().contains("fd " + p.readFd()), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Fds.read(p.readFd(), MemorySegment.ofArray(new byte[16]).asReadOnly()));
            byte[] all = new byte[16];
            assertEquals(6, Fds.read(p.readFd(), all, 0, 16), "every byte is still in the pipe");
            assertEquals("hello!", new String(all, 0, 6));
        }
    }

    @Test
    void d3_closedArenaSegmentsAreRefusedBeforeTheSyscall() {
        try (Fds.Pipe p = Fds.pipe()) {
            Arena arena = Arena.ofConfined();
            MemorySegment gone = arena.allocate(8);
            arena.close();
            Fds.write(p.writeFd(), new byte[] {7}, 0, 1);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Fds.read(p.readFd(), gone));
            assertTrue(e.getMessage().contains("fd " + p.readFd()), e.getMessage());
            assertThrows(IllegalStateException.class, () -> Fds.write(p.writeFd(), gone));
            assertEquals(7, TestFds.readByte(p.readFd()), "the byte was not consumed");
        }
    }

    @Test
    void d3_heapSegmentsSlicesZeroLengthAndBoundsBehave() {
        try (Fds.Pipe p = Fds.pipe()) {
            MemorySegment heap = MemorySegment.ofArray(new byte[] {1, 2, 3, 4, 5});
            assertEquals(3, Fds.write(p.writeFd(), heap.asSlice(1, 3)));
            MemorySegment into = MemorySegment.ofArray(new long[1]);
            assertEquals(3, Fds.read(p.readFd(), into));
            assertEquals(2, into.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
            assertEquals(4, into.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 2));

            ByteBuffer direct = ByteBuffer.allocateDirect(8);
            direct.position(2).limit(5);
            ByteBuffer slice = direct.slice();
            Fds.write(p.writeFd(), new byte[] {9, 8, 7, 6}, 0, 4);
            assertEquals(3, Fds.read(p.readFd(), slice));
            direct.clear();
            assertEquals(9, direct.get(2));
            assertEquals(7, direct.get(4));
            assertEquals(0, direct.get(5), "nothing past the slice's limit");
            assertEquals(6, TestFds.readByte(p.readFd()));

            assertEquals(0, Fds.read(p.readFd(), ByteBuffer.allocate(0)));
            assertEquals(0, Fds.read(p.readFd(), new byte[4], 4, 0));
            assertEquals(0, Fds.write(p.writeFd(), MemorySegment.ofArray(new byte[0])));
            assertThrows(IndexOutOfBoundsException.class, () -> Fds.read(p.readFd(), new byte[4], 2, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> Fds.write(p.writeFd(), new byte[4], -1, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> Fds.write(p.writeFd(), new byte[4], 0, Integer.MAX_VALUE));
            assertThrows(NullPointerException.class, () -> Fds.read(p.readFd(), (MemorySegment) null));
            assertEquals(Fds.WOULD_BLOCK, TestFds.readByte(p.readFd()), "nothing stray in the pipe");
        }
    }

    // ---- 4. leaks when onDropped throws ----

    @Test
    void d4_fdsCloseClosesTheFdEvenIfOnDroppedThrows() {
        for (Throwable thrown : List.of(new IllegalStateException("from onDropped"), new AssertionError("from onDropped"))) {
            IoQueue q = IoQueue.current();
            Fds.Pipe p = Fds.pipe();
            q.await(p.readFd(), ReadyEvent.READ, throwingOnDrop(thrown));
            Throwable t = assertThrows(Throwable.class, () -> Fds.close(p.readFd()));
            assertSame(thrown, t);
            assertFalse(TestFds.isOpen(p.readFd()), "the fd was closed anyway");
            assertFalse(q.running());
            Fds.close(p.writeFd());
        }
    }

    @Test
    void d4_handleCloseClosesTheFdEvenIfOnDroppedThrows() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        Handle h = Handle.of(p.readFd());
        AssertionError thrown = new AssertionError("from onDropped");
        q.await(h.fd(), ReadyEvent.READ, throwingOnDrop(thrown));
        assertSame(thrown, assertThrows(AssertionError.class, h::close));
        assertFalse(h.isOpen());
        assertFalse(TestFds.isOpen(p.readFd()), "closed exactly once, and closed");
        h.close(); // later calls do nothing
        Fds.close(p.writeFd());
    }

    @Test
    void d4_queueCloseReleasesEverythingWhenOnDroppedThrowsAnError() throws Exception {
        IoQueue.current().close();
        long fdsBefore = TestFds.openFdCount();
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
        assertEquals(fdsBefore, TestFds.openFdCount(), "epoll fd and eventfd released");
        assertEquals(queuesBefore, NativeAccounting.liveQueues(), "native memory released");
    }

    // ---- 5. close() spun while producers kept calling execute() ----

    @Test
    void d5_closeReturnsPromptlyWhileProducersHammerExecute() throws Exception {
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

    @Test
    void d5_aRoundEndsWhileProducersKeepPosting() throws Exception {
        IoQueue q = IoQueue.current();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger ran = new AtomicInteger();
        AtomicInteger posted = new AtomicInteger();
        List<Thread> producers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Thread t = new Thread(() -> {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (!stop.get() && System.nanoTime() < deadline) {
                    try {
                        q.execute(ran::incrementAndGet);
                        posted.incrementAndGet();
                    } catch (RejectedExecutionException closed) {
                        return;
                    }
                }
            });
            t.start();
            producers.add(t);
        }
        try (Fds.Pipe p = Fds.pipe()) {
            AtomicInteger io = new AtomicInteger();
            TestFds.writeByte(p.writeFd(), 1);
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> io.incrementAndGet());
            // On a busy machine the producers may not have run yet: let them fill more than a round.
            long started = System.nanoTime();
            while (posted.get() < 10_000 && System.nanoTime() - started < TimeUnit.SECONDS.toNanos(10)) {
                Thread.onSpinWait();
            }
            for (int i = 0; i < 5; i++) q.runOnce(Duration.ofMillis(10)); // each round must end
            boolean producersStillPosting = producers.stream().allMatch(Thread::isAlive);
            stop.set(true);
            for (Thread t : producers) t.join();
            assertTrue(producersStillPosting, "five rounds ended while the producers were still posting");
            assertEquals(1, io.get(), "the fd was served meanwhile");
            assertTrue(ran.get() > 0);
        }
    }

    @Test
    void d5_pollHandsOutTasksThatRunOnceAndOnlyOnTheOwner() throws Exception {
        IoQueue q = IoQueue.current();
        AtomicInteger ran = new AtomicInteger();
        q.execute(ran::incrementAndGet);
        q.schedule(Duration.ZERO, ran::incrementAndGet);
        List<Runnable> ready = new ArrayList<>();
        assertEquals(2, q.poll(ready, Duration.ofSeconds(1)));
        Thread other = new Thread(() -> assertThrows(IllegalStateException.class, ready.get(0)::run));
        other.start();
        other.join();
        for (Runnable r : ready) {
            r.run();
            r.run();
        }
        assertEquals(2, ran.get(), "each ran once, on the owner");
    }

    @Test
    void d5_aRoundTakesAtMostABudgetOfTasksFromOtherThreads() throws Exception {
        IoQueue q = IoQueue.current();
        AtomicInteger ran = new AtomicInteger();
        Recorder timer = new Recorder();
        Thread producer = new Thread(() -> {
            for (int i = 0; i < 50_000; i++) q.execute(ran::incrementAndGet);
        });
        producer.start();
        producer.join(); // a backlog, all posted before the round
        q.schedule(Duration.ZERO, timer.task("due"));
        int first = q.runOnce(Duration.ZERO);
        assertEquals(1, timer.tasks(), "the due timer ran in the first round");
        assertTrue(ran.get() > 0 && ran.get() <= dev.ioqueue.internal.core.RunQueue.TASKS_PER_ROUND, "ran " + ran.get());
        assertEquals(first, ran.get() + 1);
        q.run();
        assertEquals(50_000, ran.get(), "the rest ran in later rounds");
    }

    @Test
    void d3_fdsCloseRefusesTheQueuesOwnFds() throws Exception {
        IoQueue q = IoQueue.current();
        List<Integer> own = new ArrayList<>();
        for (String n : new java.io.File("/proc/self/fd").list()) {
            int fd = Integer.parseInt(n);
            String target;
            try {
                target = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/" + n)).toString();
            } catch (java.io.IOException gone) {
                continue;
            }
            if (target.startsWith("anon_inode:[") && !target.equals("anon_inode:[pidfd]")) {
                try {
                    q.await(fd, ReadyEvent.READ, (f, e) -> {});
                    q.unregister(fd);
                } catch (IllegalArgumentException ours) {
                    own.add(fd);
                } catch (RuntimeException other) {
                    // not ours (another queue's or the JVM's)
                }
            }
        }
        assertEquals(TestFds.ownFdCount(q), own.size(), "epoll fd, eventfd and timerfd (and the io_uring fd): " + own);
        for (int fd : own) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Fds.close(fd));
            assertTrue(e.getMessage().contains("fd " + fd), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Handle.of(fd).close());
            Throwable[] fromOther = new Throwable[1];
            Thread other = new Thread(() -> {
                try {
                    Fds.close(fd);
                } catch (Throwable t) {
                    fromOther[0] = t;
                }
            });
            other.start();
            other.join();
            assertInstanceOf(IllegalArgumentException.class, fromOther[0], "refused from another thread too");
            assertTrue(TestFds.isOpen(fd));
        }
        try (Fds.Pipe p = Fds.pipe()) {
            PrematureCloseTest.assertQueueStillWorks(q, p);
        }
    }

    @Test
    void d5_closeWithAHugeBacklogOfFailingTasksKeepsABoundedRecord() throws Exception {
        IoQueue q = IoQueue.current();
        Thread producer = new Thread(() -> {
            for (int i = 0; i < 200_000; i++) {
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

    // ---- 6. a thread that ended without close() leaked its queue ----

    @Test
    void d6_queuesOfThreadsThatEndWithoutClosingAreReleasedOnceUnreachable() throws Exception {
        IoQueue.current().close();
        // Queues that earlier tests' ended threads left are released first, so only this test's count.
        long deadlineToSettle = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (long seen = -1, stable = 0; stable < 3 && System.nanoTime() < deadlineToSettle; ) {
            System.gc();
            Thread.sleep(50);
            long now = TestFds.openFdCount();
            stable = now == seen ? stable + 1 : 0;
            seen = now;
        }
        long before = TestFds.openFdCount();
        long queuesBefore = NativeAccounting.liveQueues();
        for (int batch = 0; batch < 20; batch++) {
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                Thread t = new Thread(() -> {
                    IoQueue q = IoQueue.current();
                    try (Fds.Pipe p = Fds.pipe()) {
                        q.persist(p.readFd());
                    }
                    // ends without q.close()
                });
                t.start();
                threads.add(t);
            }
            for (Thread t : threads) t.join();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (TestFds.openFdCount() > before && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
        }
        assertEquals(before, TestFds.openFdCount(), "/proc/self/fd back to its start");
        assertEquals(queuesBefore, NativeAccounting.liveQueues(), "native memory released");
    }

    // ---- 9. messages name the call, the fd and the errno ----

    @Test
    void d9_everySyscallFailureNamesTheCallTheFdAndTheErrno() {
        assertMessage("read on fd -1 failed: EBADF", () -> Fds.read(-1, new byte[1], 0, 1));
        assertMessage("write on fd -1 failed: EBADF", () -> Fds.write(-1, new byte[1], 0, 1));
        assertMessage("read on fd 19999 failed: EBADF", () -> Fds.read(19_999, ByteBuffer.allocateDirect(1)));
        assertMessage("accept4 on fd -1 failed: EBADF", () -> Sockets.accept(-1));
        assertMessage("getsockname on fd -1 failed: EBADF", () -> Sockets.localPort(-1));
        assertMessage("shutdown(SHUT_WR) on fd 19999 failed: EBADF", () -> Sockets.shutdownOutput(19_999));
        assertMessage("epoll_ctl(EPOLL_CTL_ADD) on fd 19999 failed: EBADF",
                () -> IoQueue.current().await(19_999, ReadyEvent.READ, (fd, ev) -> {}));
    }

    // ---- helpers ----

    private static void assertMessage(String expected, Runnable call) {
        SyscallException e = assertThrows(SyscallException.class, call::run);
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
    }

    private static ReadyCallback throwingOnDrop(Throwable t) {
        return new ReadyCallback() {
            @Override
            public void onReady(int fd, java.util.Set<Event> events) {}

            @Override
            public void onDropped(int fd) {
                if (t instanceof RuntimeException r) throw r;
                throw (Error) t;
            }
        };
    }

    private static void runFor(IoQueue q, Duration limit, java.util.function.BooleanSupplier done) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!done.getAsBoolean() && System.nanoTime() < deadline) q.runOnce(Duration.ofMillis(50));
    }

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) System.gc();
        return rt.totalMemory() - rt.freeMemory();
    }

    private static int dup2(int fd, int target) {
        try {
            var linker = java.lang.foreign.Linker.nativeLinker();
            var dup2 = linker.downcallHandle(linker.defaultLookup().find("dup3").orElseThrow(),
                    java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT,
                            java.lang.foreign.ValueLayout.JAVA_INT, java.lang.foreign.ValueLayout.JAVA_INT,
                            java.lang.foreign.ValueLayout.JAVA_INT));
            return (int) dup2.invokeExact(fd, target, 0x80000);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
