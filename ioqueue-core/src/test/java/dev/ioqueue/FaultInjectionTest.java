package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ioqueue.internal.os.NativeAccounting;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Faults;
import dev.ioqueue.internal.os.Syscall;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Real calls made to fail on purpose through the OS layer's seam, and one real EMFILE. */
class FaultInjectionTest extends QueueTestSupport {
    @ParameterizedTest
    @ValueSource(ints = {Errno.ENOMEM, Errno.EMFILE})
    void epollWaitFailureSurfacesAndTheWaiterRunsExactlyOnceAfterwards(int errno) {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Recorder waiter = new Recorder();
            q.await(p.readFd(), ReadyEvent.READ, waiter);
            TestFds.writeByte(p.writeFd(), 1);
            Faults.failNth(Syscall.EPOLL_WAIT, 1, errno);
            SyscallException e = assertThrows(SyscallException.class, q::run);
            assertEquals("epoll_wait", e.operation());
            assertEquals(dev.ioqueue.Errno.nameOf(errno), e.errnoName());
            assertEquals(List.of(), waiter.log());
            assertTrue(q.running(), "the waiter is still there");
            q.run();
            assertEquals(List.of(Recorder.ready(p.readFd(), Event.READ)), waiter.log());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {Errno.ENOMEM, Errno.ENOSPC})
    void epollCtlFailureAtAwaitLeavesNoHalfRegisteredWaiter(int errno) {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Faults.failNth(Syscall.EPOLL_CTL, 1, errno);
            SyscallException e = assertThrows(SyscallException.class,
                    () -> q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { throw new AssertionError("refused waiter ran"); }));
            assertEquals(dev.ioqueue.Errno.nameOf(errno), e.errnoName());
            assertEquals(p.readFd(), e.fd());
            assertTrue(e.getMessage().contains("fd " + p.readFd()), e.getMessage());
            assertFalse(q.running());
            Recorder waiter = new Recorder();
            q.await(p.readFd(), ReadyEvent.READ, waiter);
            TestFds.writeByte(p.writeFd(), 1);
            q.run();
            assertEquals(List.of(Recorder.ready(p.readFd(), Event.READ)), waiter.log());
        }
    }

    @Test
    void epollCtlFailureWhileFlushingIsReportedAndRetriedAtTheNextFlush() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe a = Fds.pipe(); Fds.Pipe b = Fds.pipe()) {
            q.await(a.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            q.await(b.readFd(), ReadyEvent.READ, (fd, ev) -> { throw new AssertionError("b is silent"); });
            TestFds.writeByte(a.writeFd(), 1);
            assertEquals(1, q.runOnce(null)); // a ran and did not wait again: its DEL is due
            Faults.failNth(Syscall.EPOLL_CTL, 1, Errno.ENOMEM);
            SyscallException e = assertThrows(SyscallException.class, () -> q.runOnce(Duration.ZERO));
            assertEquals("epoll_ctl(EPOLL_CTL_DEL)", e.operation());
            long before = Faults.calls(Syscall.EPOLL_CTL);
            assertEquals(0, q.runOnce(Duration.ZERO));
            assertEquals(1, Faults.calls(Syscall.EPOLL_CTL) - before, "the DEL was retried");
            q.unregister(b.readFd());
        }
    }

    @Test
    void eintrInReadAndWriteIsRetriedOtherErrorsSurfaceWithTheFd() {
        try (Fds.Pipe p = Fds.pipe()) {
            Faults.failNth(Syscall.WRITE, 1, Errno.EINTR, 2);
            assertEquals(1, Fds.write(p.writeFd(), new byte[] {5}, 0, 1));
            Faults.failNth(Syscall.READ, 1, Errno.EINTR, 3);
            assertEquals(5, TestFds.readByte(p.readFd()));
            Faults.failNth(Syscall.READ, 1, Errno.ENOMEM);
            SyscallException r = assertThrows(SyscallException.class, () -> Fds.read(p.readFd(), new byte[1], 0, 1));
            assertEquals("read", r.operation());
            assertEquals(p.readFd(), r.fd());
            Faults.failNth(Syscall.WRITE, 1, Errno.ENOSPC);
            SyscallException w = assertThrows(SyscallException.class, () -> Fds.write(p.writeFd(), new byte[1], 0, 1));
            assertEquals("ENOSPC", w.errnoName());
            assertTrue(w.getMessage().contains("write on fd " + p.writeFd() + " failed: ENOSPC"), w.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"EPOLL_CREATE", "EVENTFD", "EPOLL_CTL"})
    void aQueueThatCannotBeCreatedLeaksNothing(String call) throws InterruptedException {
        IoQueue.current().close();
        java.util.Set<String> fds = TestFds.settledOpenFds();
        long queues = NativeAccounting.liveQueues();
        // Twice: where io_uring is allowed, "auto" falls back to epoll when the ring's setup fails,
        // and that fallback must fail too (on epoll the second is never reached, and is disarmed).
        Faults.failNth(Syscall.valueOf(call), 1, Errno.EMFILE, 2);
        SyscallException e = assertThrows(SyscallException.class, IoQueue::current);
        Faults.clear();
        assertEquals("EMFILE", e.errnoName());
        TestFds.assertNoneOpenedSince(fds, "no fd left open");
        assertEquals(queues, NativeAccounting.liveQueues());
        try (Fds.Pipe p = Fds.pipe()) {
            PrematureCloseTest.assertQueueStillWorks(IoQueue.current(), p);
        }
    }

    @Test
    void aGroupWhoseSecondQueueCannotBeMadeThrowsItsSyscallExceptionAfterClosingTheFirst() throws Exception {
        java.util.Set<String> before = TestFds.settledOpenFds();
        java.util.concurrent.atomic.AtomicInteger made = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.ThreadFactory factory = loop -> {
            int n = made.incrementAndGet();
            return Thread.ofPlatform().name("faulty-" + n).unstarted(() -> {
                // Twice: where io_uring is allowed, "auto" falls back to epoll, whose epoll_create1 must fail too.
                if (n == 2) Faults.failNth(Syscall.EPOLL_CREATE, 1, Errno.EMFILE, 2);
                loop.run();
            });
        };
        Throwable thrown;
        try {
            thrown = assertThrows(Throwable.class, () -> IoQueueGroup.start(2, factory, null));
        } finally {
            Faults.clear();
        }
        assertTrue(thrown instanceof SyscallException e && e.errnoName().equals("EMFILE"), "as documented: " + thrown);
        TestFds.assertNoneOpenedSince(before, "the first loop's queue was closed before start threw");
        for (Thread t : Thread.getAllStackTraces().keySet()) assertFalse(t.getName().startsWith("faulty-"), t.getName() + " still runs");
    }

    // guards: on "auto", an io_uring_setup that ran out of fds fell back to epoll (a group could so
    // mix backends), or failed in the fallback's log line with an Error, not the EMFILE itself
    @Test
    void autoDoesNotFallBackWhenIoUringRanOutOfFds() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(UringTest.ioUringAllowed(), "io_uring is disabled or missing here: auto never tries it");
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread t = new Thread(() -> {
            String saved = System.getProperty(Backend.PROPERTY);
            System.setProperty(Backend.PROPERTY, "auto");
            Faults.failNth(Syscall.IO_URING_SETUP, 1, Errno.EMFILE);
            try {
                outcome.set(IoQueue.create(null).backend());
            } catch (Throwable e) {
                outcome.set(e);
            } finally {
                Faults.clear();
                if (saved == null) System.clearProperty(Backend.PROPERTY);
                else System.setProperty(Backend.PROPERTY, saved);
                IoQueue q = IoQueue.currentIfAny();
                if (q != null) q.close();
            }
        });
        t.start();
        t.join();
        assertTrue(outcome.get() instanceof SyscallException e && e.errnoName().equals("EMFILE"), String.valueOf(outcome.get()));
    }

    @Test
    void aRealEmfileIsClearAndEverythingWorksOnceFdsAreFreed() throws Throwable {
        IoQueue q = IoQueue.current();
        new SyscallException("warm-up", -1, Errno.EMFILE).getMessage(); // load what the error path needs
        long soft = FdLimit.soft();
        List<Fds.Pipe> hog = new ArrayList<>();
        SyscallException pipeError;
        Throwable queueError;
        FdLimit.setSoft(TestFds.openFdCount() + 100);
        try {
            while (true) {
                try {
                    hog.add(Fds.pipe());
                } catch (SyscallException e) {
                    pipeError = e;
                    break;
                }
            }
            CompletableFuture<Throwable> other = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    IoQueue.current();
                    other.complete(null);
                } catch (Throwable e) {
                    other.complete(e);
                }
            });
            t.start();
            queueError = other.get();
        } finally {
            for (Fds.Pipe p : hog) p.close();
            FdLimit.setSoft(soft);
        }
        assertEquals("EMFILE", pipeError.errnoName());
        assertEquals("pipe2", pipeError.operation());
        assertTrue(queueError instanceof SyscallException s && s.errnoName().equals("EMFILE"), String.valueOf(queueError));
        try (Fds.Pipe p = Fds.pipe()) {
            PrematureCloseTest.assertQueueStillWorks(q, p);
        }
    }

    @Test
    void underRandomFaultsNoWaiterIsLostOrRunTwice() {
        IoQueue q = IoQueue.current();
        long seed = System.nanoTime();
        Random random = new Random(seed);
        try (Fds.Pipe a = Fds.pipe(); Fds.Pipe b = Fds.pipe()) {
            Recorder reader = new Recorder().then((fd, ev) -> TestFds.readByte(fd));
            int rounds = 3000;
            int failures = 0;
            for (int i = 0; i < rounds; i++) {
                Fds.Pipe p = (i & 1) == 0 ? a : b;
                int before = reader.calls();
                q.await(p.readFd(), ReadyEvent.READ, reader);
                TestFds.writeByte(p.writeFd(), 1);
                int roll = random.nextInt(10);
                if (roll < 3) Faults.failNth(Syscall.EPOLL_WAIT, 1, Errno.EINTR, 1 + random.nextInt(3));
                else if (roll < 4) Faults.failNth(Syscall.EPOLL_WAIT, 1, Errno.ENOMEM);
                else if (roll < 5) Faults.failNth(Syscall.EPOLL_CTL, 1, Errno.ENOMEM);
                while (reader.calls() == before) {
                    try {
                        q.run();
                    } catch (SyscallException expected) {
                        failures++;
                    }
                }
                Faults.clear();
                assertEquals(before + 1, reader.calls(), "seed " + seed + ", round " + i);
                assertEquals(p.readFd(), reader.lastFd(), "seed " + seed + ", round " + i);
            }
            assertEquals(rounds, reader.calls());
            assertEquals(0, reader.drops(), "no waiter was dropped (seed " + seed + ")");
            assertTrue(failures > 0, "faults were injected (seed " + seed + ")");
        }
    }
}
