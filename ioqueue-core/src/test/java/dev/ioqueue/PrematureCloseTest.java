package dev.ioqueue;

import static dev.ioqueue.UringTest.onRingThread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ioqueue.internal.os.Faults;
import dev.ioqueue.internal.os.Syscall;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Plain fds closed behind the queue's back (mio's rule broken: not unregistered, not closed through
 * {@link Fds#close} on the queue's thread). The queue is not told; it reports the close where the
 * kernel tells it (a failed {@code epoll_ctl}: {@link PrematureCloseError} at unregister or at a
 * wait on the number), and an event for a registration it no longer knows rebuilds the epoll set
 * instead of spinning. A number closed behind its back and made again while its registration is
 * kept may simply wait: the rule's documented price. Closed through the library, none of this arises.
 */
class PrematureCloseTest extends QueueTestSupport {
    @Test
    void closedFdWhoseNumberIsReusedAndWaitedOnAgainIsAPrematureClose() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { throw new AssertionError("dead waiter ran"); });
        TestFds.rawClose(p.readFd());
        Fds.Pipe reused = Fds.pipe(); // the lowest free number comes back
        try {
            assertEquals(p.readFd(), reused.readFd(), "the kernel reused the number");
            PrematureCloseError e = assertThrows(PrematureCloseError.class,
                    () -> q.await(reused.readFd(), ReadyEvent.READ, (fd, ev) -> { }));
            assertEquals(p.readFd(), e.fd());
            assertFalse(q.running(), "the dead waiter was dropped");
            assertQueueStillWorks(q, reused);
        } finally {
            Fds.close(p.writeFd());
            reused.close();
        }
    }

    @Test
    void closedFdWhoseNumberIsReusedForAnotherEventIsAPrematureClose() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { });
        TestFds.rawClose(p.readFd());
        Fds.SocketPair reused = Fds.socketPair();
        try {
            assertEquals(p.readFd(), reused.first());
            PrematureCloseError e = assertThrows(PrematureCloseError.class,
                    () -> q.await(reused.first(), ReadyEvent.WRITE, (fd, ev) -> { }));
            assertEquals(p.readFd(), e.fd());
            assertFalse(q.running());
        } finally {
            Fds.close(p.writeFd());
            reused.close();
        }
    }

    @Test
    void unregisterOfAClosedWaitedOnFdIsAPrematureClose() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe other = Fds.pipe()) {
            Fds.Pipe p = Fds.pipe();
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            TestFds.rawClose(p.readFd());
            PrematureCloseError e = assertThrows(PrematureCloseError.class, () -> q.unregister(p.readFd()));
            assertEquals(p.readFd(), e.fd());
            Fds.close(p.writeFd());
            assertQueueStillWorks(q, other);
        }
    }

    // guards (cold review, 2026-12-08): a number reused by a regular file (epoll_ctl: EPERM) was a
    // premature close when the flush found it, but a plain SyscallException at unregister or at a
    // wait for another event, with the waiters left in place
    @Test
    void aNumberReusedByARegularFileIsAPrematureCloseWhereverItIsFound() throws Exception {
        IoQueue q = IoQueue.current();
        java.nio.file.Path file = java.nio.file.Files.createTempFile("ioqueue-gone", ".txt");
        try {
            for (String where : new String[] {"unregister", "another event"}) {
                Fds.Pipe p = Fds.pipe();
                int number = p.readFd();
                q.await(number, ReadyEvent.READ, (fd, ev) -> { throw new AssertionError("dead waiter ran"); });
                TestFds.rawClose(number);
                int reused = TestFds.openAt(file, 0x80000 /* O_RDONLY | O_CLOEXEC */, number);
                org.junit.jupiter.api.Assumptions.assumeTrue(reused == number, "the kernel handed out other numbers");
                try {
                    PrematureCloseError e = assertThrows(PrematureCloseError.class, () -> {
                        if (where.equals("unregister")) q.unregister(number);
                        else q.await(number, ReadyEvent.WRITE, (fd, ev) -> { });
                    }, where);
                    assertEquals(number, e.fd());
                    assertFalse(q.running(), "the dead waiter was dropped: " + where);
                } finally {
                    TestFds.rawClose(reused);
                    Fds.close(p.writeFd());
                }
            }
        } finally {
            java.nio.file.Files.delete(file);
        }
    }

    @Test
    void aDupKeepingTheClosedFilesRegistrationAliveGivesACleanWakeUpAndNoBusyLoop() throws Exception {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        int dup = TestFds.dup(p.readFd());
        try (Fds.Pipe idle = Fds.pipe()) {
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            TestFds.rawClose(p.readFd()); // the dup keeps the file, so epoll keeps reporting it
            TestFds.writeByte(p.writeFd(), 1); // and it stays readable: nobody can read it by this number
            q.await(idle.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            long cpuBefore = TestFds.threadCpuMillis();
            long end = System.nanoTime() + 1_000_000_000L;
            while (System.nanoTime() < end) {
                try {
                    var ready = new ArrayList<Runnable>();
                    q.poll(ready, Duration.ofNanos(Math.max(1, end - System.nanoTime())));
                    ready.forEach(Runnable::run); // the clean wake-up
                } catch (PrematureCloseError e) {
                    assertEquals(p.readFd(), e.fd());
                }
            }
            long cpuMillis = TestFds.threadCpuMillis() - cpuBefore;
            assertTrue(cpuMillis < 300, "1 s of polling burned " + cpuMillis + " ms of CPU: a busy loop");
            q.unregister(idle.readFd());
        } finally {
            TestFds.rawClose(dup);
            Fds.close(p.writeFd());
        }
    }

    // guards (cold review): on io_uring the rebuild closed the old epoll fd but left the ring's poll
    // of it armed, which kept the old instance (and its stale registration) alive for the ring's life,
    // waking the ring at each event of the stale file, one more instance per rebuild
    @Test
    void onIoUringTheRebuiltEpollSetsOldInstanceIsLetGoAndWakesTheRingNoMore() throws Exception {
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        Thread.ofPlatform().start(() -> { // an io_uring queue of its own, whichever backend the suite runs on
            try (IoQueue q = IoQueue.create(Backend.IO_URING)) {
                rebuildOnARing(q);
                done.complete(null);
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        try {
            done.get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Error error) throw error;
            throw e;
        }
    }

    private static void rebuildOnARing(IoQueue q) throws Exception {
        Fds.Pipe p = Fds.pipe();
        int dup = TestFds.dup(p.readFd());
        Fds.SocketPair ringUser = Fds.socketPair();
        Handle reading = Handle.of(ringUser.first());
        try (Fds.Pipe idle = Fds.pipe()) {
            // a read the ring holds, so the loop sleeps in the ring (and sees its poll's CQEs)
            q.submit(reading, IoOperation.read(java.nio.ByteBuffer.allocateDirect(16), (fd, n) -> { }));
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            TestFds.rawClose(p.readFd()); // the dup keeps the file, so the old epoll set keeps it
            q.await(idle.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            TestFds.writeByte(p.writeFd(), 1); // an event for a registration the queue no longer knows: the rebuild
            for (int i = 0; i < 5; i++) {
                try {
                    var ready = new ArrayList<Runnable>();
                    q.poll(ready, Duration.ofMillis(20));
                    ready.forEach(Runnable::run);
                } catch (PrematureCloseError e) {
                    assertEquals(p.readFd(), e.fd());
                }
            }
            long completions = q.stats().ringCompletions();
            for (int i = 0; i < 5; i++) {
                TestFds.writeByte(p.writeFd(), 1); // the stale file's events: only the old set has it
                assertEquals(0, q.poll(new ArrayList<>(), Duration.ofMillis(20)));
            }
            assertEquals(completions, q.stats().ringCompletions(), "no CQE from the old epoll set's poll");
            q.unregister(idle.readFd());
        } finally {
            TestFds.rawClose(dup);
            Fds.close(p.writeFd());
            reading.close();
            Fds.close(ringUser.second());
        }
    }

    @Test
    void aWaitReArmedOnTrustWhoseNumberNowNamesAnotherFileIsFoundByTheCheckWhileTheLoopIsKeptBusy() throws Exception {
        // The old file's bytes, which nobody reads, wake the waiter every round, forever, unless
        // the once-a-period check (a clock read every few dozen flushes) finds it.
        IoQueue q = IoQueue.current();
        Retaken r = reArmedOnTrustThenRetaken(q);
        try {
            TestFds.writeByte(r.old().writeFd(), 1);
            int[] rounds = {0};
            PrematureCloseError found = runUntilPrematureClose(q, Duration.ofMillis(10), rounds);
            assertTrue(found != null, "the check never ran: woken " + r.woken()[0] + " times by a file closed behind the queue's back");
            assertEquals(r.number(), found.fd());
            assertTrue(r.woken()[0] > 1, "the old file kept the loop busy meanwhile: " + r.woken()[0]);
            q.unregister(r.fresh().readFd());
            assertQueueStillWorks(q, r.fresh());
        } finally {
            r.close();
        }
    }

    @Test
    void aWaitReArmedOnTrustWhoseNumberNowNamesAnotherFileIsFoundByTheCheckWhenTheLoopSleeps() throws Exception {
        // The old file stays quiet, so nothing wakes the loop, and the new file's bytes are not
        // reported to a registration of the old one. The loop bounds its sleep by the check's
        // deadline and checks when it wakes.
        IoQueue q = IoQueue.current();
        Retaken r = reArmedOnTrustThenRetaken(q);
        try {
            TestFds.writeByte(r.fresh().writeFd(), 2);
            int[] rounds = {0};
            PrematureCloseError found = runUntilPrematureClose(q, Duration.ofSeconds(1), rounds);
            assertTrue(found != null, "the check never ran in " + rounds[0] + " rounds: the waiter waits on a file nobody can name");
            assertEquals(r.number(), found.fd());
            assertTrue(rounds[0] < 10, "found at the first wake-up after the period, not after many: " + rounds[0] + " rounds");
        } finally {
            r.close();
        }
    }

    /** A pipe's read end waited on by a callback that re-arms (on trust, no syscall), then closed behind the queue's back while a dup keeps its file, and its number made again. */
    private record Retaken(int number, int dup, Fds.Pipe old, Fds.Pipe fresh, int[] woken) {
        void close() {
            TestFds.rawClose(dup);
            Fds.close(old.writeFd());
            fresh.close();
        }
    }

    private static Retaken reArmedOnTrustThenRetaken(IoQueue q) {
        Fds.Pipe p = Fds.pipe();
        int[] woken = {0};
        ReadyCallback rearming = new ReadyCallback() {
            @Override
            public void onReady(int fd, Set<Event> events) {
                if (woken[0]++ == 0) TestFds.readByte(fd);
                q.await(fd, ReadyEvent.READ, this);
            }
        };
        q.await(p.readFd(), ReadyEvent.READ, rearming);
        TestFds.writeByte(p.writeFd(), 1);
        q.runOnce(Duration.ofSeconds(1));
        assertEquals(1, woken[0], "served once, then re-armed on trust");
        int dup = TestFds.dup(p.readFd());
        TestFds.rawClose(p.readFd());
        Fds.Pipe fresh = Fds.pipe();
        Retaken r = new Retaken(p.readFd(), dup, p, fresh, woken);
        if (fresh.readFd() != p.readFd()) r.close();
        assumeTrue(fresh.readFd() == p.readFd(), "the kernel gave the number back");
        return r;
    }

    /** Runs rounds of at most {@code each} for up to 5 s until one throws a premature close; null if none did. */
    private static PrematureCloseError runUntilPrematureClose(IoQueue q, Duration each, int[] rounds) {
        long end = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < end) {
            try {
                rounds[0]++;
                q.runOnce(each);
            } catch (PrematureCloseError e) {
                return e;
            }
        }
        return null;
    }

    static void assertQueueStillWorks(IoQueue q, Fds.Pipe p) {
        boolean[] ran = {false};
        q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> ran[0] = TestFds.readByte(fd) == 42);
        TestFds.writeByte(p.writeFd(), 42);
        q.run();
        assertTrue(ran[0], "a normal wait still works");
    }

    @Test
    void aWithdrawnWaitersFdClosedElsewhereAndReusedByARegularFileIsForgottenAtTheFlush() throws Exception {
        // Kotlin's awaitExit off an ioqueue dispatcher: cancelled in ioqueue-background, its pidfd
        // closed at once on the coroutine's thread, and the number taken by a directory listing
        // before the background queue flushed the withdrawal.
        IoQueue q = IoQueue.current();
        java.nio.file.Path file = java.nio.file.Files.createTempFile("ioqueue-reused", ".txt");
        Fds.Pipe p = Fds.pipe();
        ReadyCallback waiter = (fd, ev) -> { };
        q.await(p.readFd(), ReadyEvent.READ, waiter);
        assertTrue(q.cancel(p.readFd(), ReadyEvent.READ, waiter)); // released at the next flush
        TestFds.rawClose(p.readFd()); // as another thread's close: this queue is not told
        int regular = TestFds.openAt(file, dev.ioqueue.internal.os.Unistd.O_RDONLY, p.readFd());
        org.junit.jupiter.api.Assumptions.assumeTrue(regular == p.readFd(), "the kernel handed out other numbers");
        try (Fds.Pipe fresh = Fds.pipe()) {
            Cancellable hold = q.hold();
            assertEquals(0, q.runOnce(Duration.ZERO), "the flush forgets the registration (EPERM: not the file it was)");
            hold.cancel();
            assertQueueStillWorks(q, fresh);
        } finally {
            TestFds.rawClose(regular);
            java.nio.file.Files.delete(file);
            Fds.close(p.writeFd());
        }
    }

    // guards: a wait on a closed number was taken silently; a number closed through Fds.close on the
    // queue's thread is forgotten, so the next wait asks the kernel, which refuses it
    @Test
    void awaitingANumberClosedThroughFdsCloseIsRefusedWithEbadf() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        try {
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            TestFds.writeByte(p.writeFd(), 1);
            assertEquals(1, q.runOnce(null)); // its registration is kept for a wait again
            Fds.close(p.readFd());
            SyscallException e = assertThrows(SyscallException.class, () -> q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { }));
            assertEquals("EBADF", e.errnoName());
            assertEquals(p.readFd(), e.fd());
            assertFalse(q.running());
        } finally {
            Fds.close(p.writeFd());
        }
    }

    // guards: a plain fd closed on another thread while an operation waited on it (the loop is not
    // told: mio's rule) was reported as a premature close against the number's next file, or took its
    // bytes; the next use of the number reports it, the operation is told dropped once, and the new
    // file is served after that (number reuse race, 2-loop echo server)
    @Test
    void anOperationsFdClosedOnAnotherThreadIsReportedAtTheNumbersNextUse() {
        IoQueue q = IoQueue.current();
        Fds.Pipe first = Fds.pipe();
        int number = first.readFd();
        List<String> old = new ArrayList<>();
        q.submit(number, IoOperation.read(ByteBuffer.allocate(8), new IoCompletion() {
            @Override
            public void completed(int fd, long result) {
                old.add("completed " + result);
            }

            @Override
            public void dropped(int fd) {
                old.add("dropped " + fd);
            }
        }));
        Fds.Pipe second = remadeElsewhere(() -> Fds.close(number), first.writeFd());
        try {
            assumeTrue(second.readFd() == number, "another thread took the number first");
            for (int i = 0; i < 3; i++) q.runOnce(Duration.ofMillis(10)); // not told
            ByteBuffer bytes = ByteBuffer.allocate(8);
            long[] r = {-9};
            IoOperation read = IoOperation.read(bytes, (fd, n) -> r[0] = n);
            PrematureCloseError e = assertThrows(PrematureCloseError.class, () -> q.submit(number, read));
            assertEquals(number, e.fd());
            assertEquals(List.of("dropped " + number), old);
            assertFalse(read.isPending());
            q.submit(number, read);
            runUntil(q, () -> r[0] != -9);
            assertEquals("new", new String(bytes.array(), 0, (int) r[0]), "the new file's bytes, whole");
        } finally {
            second.close();
        }
    }

    // guards: a number made again while another thread was still inside Fds.close was taken for the closed file: a false PrematureCloseError dropped a live read (number reuse race, 2-loop echo server)
    @Test
    void aNumberMadeAgainWhileAnotherThreadIsStillClosingItServesTheNewFile() throws Exception {
        assumeTrue(Faults.ENABLED);
        onRingThread(q -> {
            CountDownLatch closed = new CountDownLatch(1);
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Throwable> closerFailure = new AtomicReference<>();
            Fds.Pipe theirs = Fds.pipe();
            int number = theirs.readFd();
            Thread closer = closeHeldAfterClose2(number, closed, started, closerFailure);
            await(closed);
            Fds.Pipe mine = Fds.pipe();
            try {
                long[] got = {-9};
                if (mine.readFd() == number) {
                    q.submit(mine.readFd(), IoOperation.read(ByteBuffer.allocate(8), (fd, r) -> got[0] = r));
                }
                started.countDown();
                join(closer);
                assertEquals(null, closerFailure.get());
                assumeTrue(mine.readFd() == number, "another thread took the number first");
                TestFds.writeByte(mine.writeFd(), 5);
                runUntil(q, () -> got[0] != -9); // no PrematureCloseError out of the loop
                assertEquals(1, got[0], "the new file's read completed with its byte");
            } finally {
                started.countDown();
                mine.close();
                Fds.close(theirs.writeFd());
            }
        });
    }

    /**
     * Starts a thread that closes {@code number} through {@link Fds#close}, held right after its
     * close(2) returned (before the rest of {@code Fds.close}): it counts {@code closed} down there
     * and waits for {@code release}. What the close throws goes to {@code failure}.
     */
    private static Thread closeHeldAfterClose2(int number, CountDownLatch closed, CountDownLatch release, AtomicReference<Throwable> failure) {
        Thread closer = new Thread(() -> {
            try {
                Faults.afterNth(Syscall.CLOSE, 1, () -> {
                    closed.countDown();
                    await(release);
                });
                Fds.close(number);
            } catch (Throwable t) {
                failure.set(t);
            } finally {
                Faults.clear();
                closed.countDown();
            }
        });
        closer.start();
        return closer;
    }

    private static void join(Thread t) {
        try {
            t.join(10_000);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        assertTrue(!t.isAlive(), "the closing thread is stuck");
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(10, TimeUnit.SECONDS), "timed out");
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
