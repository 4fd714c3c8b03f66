package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ioqueue.internal.os.Faults;
import dev.ioqueue.internal.os.Syscall;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class UnregisterAndPersistTest extends QueueTestSupport {
    @Test
    void unregisterPreventsTheCallbackAndRunReturnsAtOnce() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { throw new AssertionError("ran after unregister"); });
            TestFds.writeByte(p.writeFd(), 1);
            q.unregister(p.readFd());
            assertFalse(q.running());
            long waits = Faults.calls(Syscall.EPOLL_WAIT);
            q.run();
            assertEquals(waits, Faults.calls(Syscall.EPOLL_WAIT), "run() returned without polling");
        }
    }

    @Test
    void unregisterVoidsCallbacksAlreadyCollectedInTheBatch() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe a = Fds.pipe(); Fds.Pipe b = Fds.pipe()) {
            List<Integer> ran = new ArrayList<>();
            // Whichever runs first unregisters the other; both are in the same batch.
            q.await(a.readFd(), ReadyEvent.READ, (fd, ev) -> { ran.add(fd); q.unregister(b.readFd()); });
            q.await(b.readFd(), ReadyEvent.READ, (fd, ev) -> { ran.add(fd); q.unregister(a.readFd()); });
            TestFds.writeByte(a.writeFd(), 1);
            TestFds.writeByte(b.writeFd(), 1);
            q.run();
            assertEquals(1, ran.size(), "only the first of the batch ran: " + ran);
        }
    }

    @Test
    void unregisterVoidsRunnablesHandedOutByPollAndTellsTheirWaiters() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Recorder r = new Recorder();
            q.await(p.readFd(), ReadyEvent.READ, r);
            TestFds.writeByte(p.writeFd(), 1);
            List<Runnable> ready = new ArrayList<>();
            assertEquals(1, q.poll(ready, null));
            q.unregister(p.readFd());
            ready.getFirst().run();
            ready.getFirst().run();
            assertEquals(List.of(Recorder.dropped(p.readFd())), r.log(), "told once, never ran after unregister");
        }
    }

    @Test
    void aRunnableFromPollRunsItsCallbackAtMostOnce() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Recorder r = new Recorder();
            q.await(p.readFd(), ReadyEvent.READ, r);
            TestFds.writeByte(p.writeFd(), 1);
            List<Runnable> ready = new ArrayList<>();
            q.poll(ready, null);
            ready.getFirst().run();
            ready.getFirst().run();
            assertEquals(List.of(Recorder.ready(p.readFd(), Event.READ)), r.log());
        }
    }

    @Test
    void unregisterOfAnUnknownFdMakesNoSyscall() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            long ctl = Faults.calls(Syscall.EPOLL_CTL);
            q.unregister(p.readFd());
            q.unregister(100_000);
            assertEquals(ctl, Faults.calls(Syscall.EPOLL_CTL));
        }
    }

    @Test
    void waitingAgainFromTheCallbackCostsNoEpollCtl() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Recorder echo = new Recorder();
            echo.then((fd, events) -> {
                TestFds.readByte(fd);
                if (echo.calls() < 1000) {
                    TestFds.writeByte(p.writeFd(), 1);
                    q.await(fd, ReadyEvent.READ, echo);
                }
            });
            long ctlBefore = Faults.calls(Syscall.EPOLL_CTL);
            long started = System.nanoTime();
            q.await(p.readFd(), ReadyEvent.READ, echo);
            TestFds.writeByte(p.writeFd(), 1);
            q.run();
            assertEquals(Collections.nCopies(1000, Recorder.ready(p.readFd(), Event.READ)), echo.log());
            long ctl = Faults.calls(Syscall.EPOLL_CTL) - ctlBefore;
            // One ADD, one final DEL, and the trust check: one MOD per 100 ms period the run spanned
            // (none on an idle machine; a loaded one may stretch the run over a period or more).
            long checks = trustChecksAllowed(started);
            assertTrue(ctl <= 2 + checks, "1000 waits cost " + ctl + " epoll_ctl (one ADD, one final DEL, " + checks + " checks allowed)");
        }
    }

    @Test
    void persistedFdStaysRegisteredBetweenWaitsWithoutEpollCtl() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            q.persist(p.readFd());
            Recorder reader = new Recorder().then((fd, ev) -> TestFds.readByte(fd));
            long ctlBefore = Faults.calls(Syscall.EPOLL_CTL);
            long started = System.nanoTime();
            for (int i = 0; i < 100; i++) {
                q.await(p.readFd(), ReadyEvent.READ, reader);
                TestFds.writeByte(p.writeFd(), 1);
                q.run(); // the waiter runs; nobody waits again before the queue goes idle
                assertEquals(i + 1, reader.calls(), "round " + i);
            }
            assertEquals(Collections.nCopies(100, Recorder.ready(p.readFd(), Event.READ)), reader.log());
            long ctl = Faults.calls(Syscall.EPOLL_CTL) - ctlBefore;
            long checks = trustChecksAllowed(started);
            assertTrue(ctl >= 1 && ctl <= 1 + checks, "one MOD to add EPOLLIN, then only the trust check (" + checks + " allowed): " + ctl);
            q.unregister(p.readFd());
        }
    }

    @Test
    void withoutPersistAnFdNobodyWaitsOnIsDeregisteredBeforeTheNextSleep() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe(); Fds.Pipe other = Fds.pipe()) {
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { }); // does not read: stays readable
            TestFds.writeByte(p.writeFd(), 1);
            q.runOnce(null);
            long waits = Faults.calls(Syscall.EPOLL_WAIT);
            q.await(other.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            assertEquals(0, q.poll(new ArrayList<>(), Duration.ofMillis(20)), "the unread pipe no longer wakes the queue");
            // one sleep; if the once-per-100-ms trust check falls due inside it (on a slow moment),
            // a look and a wait bounded by the check, then the rest (threading.md): 4 at most
            long slept = Faults.calls(Syscall.EPOLL_WAIT) - waits;
            assertTrue(slept >= 1 && slept <= 4, "a sleep, not a spin: " + slept + " waits in 20 ms");
            q.unregister(other.readFd());
        }
    }

    @Test
    void persistedFdWithUnreadDataAndNoWaiterDoesNotSpin() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe(); Fds.Pipe other = Fds.pipe()) {
            q.persist(p.readFd());
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            TestFds.writeByte(p.writeFd(), 1);
            q.runOnce(null);
            q.await(other.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            long waits = Faults.calls(Syscall.EPOLL_WAIT);
            assertEquals(0, q.poll(new ArrayList<>(), Duration.ofMillis(50)));
            // a stray event may wake poll once, then the queue narrows it; and the once-per-100-ms
            // trust check bounds a wait (a look, then a wait up to the check), once at most in 50 ms
            long waited = Faults.calls(Syscall.EPOLL_WAIT) - waits;
            assertTrue(waited <= 4, "no spin: " + waited + " waits in 50 ms");
            q.unregister(other.readFd());
            q.unregister(p.readFd());
        }
    }

    @Test
    void waitersRemovedWithoutRunningAreToldSoAndNeverRun() {
        IoQueue q = IoQueue.current();
        Fds.SocketPair s = Fds.socketPair();
        try (Fds.Pipe a = Fds.pipe()) {
            Recorder byUnregister = new Recorder();
            q.await(a.readFd(), ReadyEvent.READ, byUnregister);
            q.unregister(a.readFd());
            Recorder readByClose = new Recorder();
            Recorder writeByClose = new Recorder();
            TestFds.fill(s.first());
            q.await(s.first(), ReadyEvent.READ, readByClose);
            q.await(s.first(), ReadyEvent.WRITE, writeByClose);
            Fds.close(s.first());
            Recorder byCancel = new Recorder();
            q.await(a.readFd(), ReadyEvent.READ, byCancel);
            q.cancel(a.readFd(), ReadyEvent.READ, byCancel);
            TestFds.writeByte(a.writeFd(), 1);
            q.run();
            assertEquals(List.of(Recorder.dropped(a.readFd())), byUnregister.log());
            assertEquals(List.of(Recorder.dropped(s.first())), readByClose.log());
            assertEquals(List.of(Recorder.dropped(s.first())), writeByClose.log());
            assertEquals(List.of(), byCancel.log(), "cancel is asked for: nothing to tell");
            Fds.close(s.second());
        }
    }

    @Test
    void aWaiterCollectedButNotRunIsToldWhenItsFdIsUnregistered() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe a = Fds.pipe(); Fds.Pipe b = Fds.pipe()) {
            // Both are ready in one batch; whichever runs first unregisters the other.
            Recorder onA = new Recorder().then((fd, ev) -> q.unregister(b.readFd()));
            Recorder onB = new Recorder().then((fd, ev) -> q.unregister(a.readFd()));
            q.await(a.readFd(), ReadyEvent.READ, onA);
            q.await(b.readFd(), ReadyEvent.READ, onB);
            TestFds.writeByte(a.writeFd(), 1);
            TestFds.writeByte(b.writeFd(), 1);
            q.run();
            List<String> aRan = List.of(Recorder.ready(a.readFd(), Event.READ));
            List<String> bRan = List.of(Recorder.ready(b.readFd(), Event.READ));
            List<String> aDropped = List.of(Recorder.dropped(a.readFd()));
            List<String> bDropped = List.of(Recorder.dropped(b.readFd()));
            List<List<String>> logs = List.of(onA.log(), onB.log());
            assertTrue(logs.equals(List.of(aRan, bDropped)) || logs.equals(List.of(aDropped, bRan)),
                    "one ran, the other was told it was dropped: " + logs);
        }
    }

    @Test
    void closingTheQueueTellsEveryWaiter() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe a = Fds.pipe()) {
            Recorder r = new Recorder();
            q.await(a.readFd(), ReadyEvent.READ, r);
            q.close();
            assertEquals(List.of(Recorder.dropped(a.readFd())), r.log());
        }
    }

    /** The trust checks a run that began at {@code started} may have made: one per 100 ms period it touched. */
    private static long trustChecksAllowed(long started) {
        return (System.nanoTime() - started) / 100_000_000L + 1;
    }

    // guards: a persisted fd closed and its number made again from its own callback lost the new
    // file's waiter (outside finding D1); Fds.close on the queue's thread forgets the persist mark too
    @Test
    void aPersistedFdClosedThroughFdsCloseFromItsCallbackIsForgottenAndItsNumbersNextFileIsWatched() {
        IoQueue q = IoQueue.current();
        Fds.Pipe first = Fds.pipe();
        q.persist(first.readFd());
        TestFds.writeByte(first.writeFd(), 1);
        Recorder second = new Recorder();
        Fds.Pipe[] made = new Fds.Pipe[1];
        q.await(first.readFd(), ReadyEvent.READ, (fd, ev) -> {
            Fds.close(fd);
            made[0] = Fds.pipe();
            q.await(made[0].readFd(), ReadyEvent.READ, second);
            TestFds.writeByte(made[0].writeFd(), 2);
        });
        try {
            runUntil(q, () -> second.calls() > 0);
            assumeTrue(made[0].readFd() == first.readFd(), "the kernel handed out another number");
            assertEquals(List.of(Recorder.ready(first.readFd(), Event.READ)), second.log());
            assertFalse(q.running());
        } finally {
            Fds.close(first.writeFd());
            made[0].close();
        }
    }

    // guards: on io_uring, a write made inside an I/O completion and its handle unregistered at once
    // was dropped unsent (the ring had not been entered yet), where epoll had written it in place
    @Test
    void aWriteMadeInACompletionThenUnregisteredIsWrittenAndCompletedOnBothBackends() throws Exception {
        IoQueue q = IoQueue.current();
        List<String> log = new ArrayList<>();
        try (TriggeredWrite t = new TriggeredWrite()) {
            t.onTrigger(q, () -> {
                q.submit(t.out, IoOperation.write(java.nio.ByteBuffer.wrap("hello".getBytes()), new IoCompletion() {
                    @Override
                    public void completed(int fd, long written) {
                        log.add("written " + written);
                    }

                    @Override
                    public void dropped(int fd) {
                        log.add("dropped");
                    }
                }));
                q.unregister(t.out);
            });
            runUntil(q, () -> !log.isEmpty());
            assertEquals(List.of("written 5"), log);
            byte[] got = new byte[16];
            assertEquals(5, Fds.read(t.target.second(), got, 0, got.length));
        }
    }

    /**
     * Two socket pairs: a byte sent to {@code trigger}'s peer completes a read on {@link #in}
     * (the first end of {@code trigger}), whose completion runs the test's body; {@link #out} is the
     * first end of {@code target}, whose peer the test reads. Closes all four.
     */
    private static final class TriggeredWrite implements AutoCloseable {
        final Fds.SocketPair trigger = Fds.socketPair();
        final Fds.SocketPair target = Fds.socketPair();
        final Handle in = Handle.of(trigger.first());
        final Handle out = Handle.of(target.first());

        void onTrigger(IoQueue q, Runnable body) {
            q.submit(in, IoOperation.read(java.nio.ByteBuffer.allocateDirect(16), (fd, n) -> body.run()));
            TestFds.writeByte(trigger.second(), 1);
        }

        @Override
        public void close() {
            in.close();
            out.close();
            Fds.close(trigger.second());
            Fds.close(target.second());
        }
    }

    // guards (cold review of the fix above): the write settled by unregister ran a completion that
    // closed the handle and took its number for a new pipe; unregister then went on with the number
    // and dropped the new pipe's waiter
    @Test
    void aCompletionRunByUnregisterThatClosesTheHandleLeavesTheNumbersNextFileAlone() throws Exception {
        IoQueue q = IoQueue.current();
        Fds.Pipe[] next = new Fds.Pipe[1];
        List<String> log = new ArrayList<>();
        try (TriggeredWrite t = new TriggeredWrite()) {
            int number = t.target.first();
            t.onTrigger(q, () -> {
                q.submit(t.out, IoOperation.write(java.nio.ByteBuffer.wrap("hello".getBytes()), (f, written) -> {
                    log.add("written " + written);
                    t.out.close(); // on the loop's thread: closed in place
                    next[0] = Fds.pipe(); // the lowest free number: the handle's, usually
                    q.await(next[0].readFd(), ReadyEvent.READ, new ReadyCallback() {
                        @Override
                        public void onReady(int fd, Set<Event> events) {
                            log.add("next file ready");
                        }

                        @Override
                        public void onDropped(int fd) {
                            log.add("next file's waiter dropped");
                        }
                    });
                }));
                if (t.out.isOpen()) q.unregister(t.out); // on epoll the write, and its close, happened in place
            });
            runUntil(q, () -> !log.isEmpty());
            assumeTrue(next[0] != null && next[0].readFd() == number, "the kernel handed out another number");
            TestFds.writeByte(next[0].writeFd(), 1);
            runUntil(q, () -> log.size() > 1);
            assertEquals(List.of("written 5", "next file ready"), log);
        } finally {
            if (next[0] != null) {
                q.unregister(next[0].readFd());
                next[0].close();
            }
        }
    }

    // guards (outside round 47): unregister(int) of a handle's number dropped its operations on epoll
    // and left them on io_uring (they live in the ring, out of the number's reach): refused on both
    @Test
    void unregisterOfABoundHandlesNumberIsRefusedOnBothBackends() throws Exception {
        IoQueue q = IoQueue.current();
        Fds.SocketPair pair = Fds.socketPair();
        Handle h = Handle.of(pair.first());
        try {
            q.submit(h, IoOperation.read(java.nio.ByteBuffer.allocateDirect(8), (fd, n) -> { }));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> q.unregister(h.fd()));
            assertTrue(e.getMessage().contains("fd " + h.fd()) && e.getMessage().contains("Handle"), e.getMessage());
            assertEquals(1, q.stats().pendingOperations(), "the read is still pending");
        } finally {
            h.close();
            Fds.close(pair.second());
        }
    }
}
