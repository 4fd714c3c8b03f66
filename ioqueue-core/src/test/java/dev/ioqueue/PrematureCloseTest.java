package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import org.junit.jupiter.api.Test;

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

    @Test
    void handleCloseUnregistersBeforeClosing() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        Handle h = Handle.of(p.readFd());
        q.await(h.fd(), ReadyEvent.READ, (fd, ev) -> { throw new AssertionError("ran after its handle closed"); });
        h.close();
        h.close(); // exactly once
        assertFalse(TestFds.isOpen(p.readFd()));
        assertFalse(q.running());
        Fds.Pipe reused = Fds.pipe();
        try {
            assertQueueStillWorks(q, reused);
        } finally {
            Fds.close(p.writeFd());
            reused.close();
        }
    }

    static void assertQueueStillWorks(IoQueue q, Fds.Pipe p) {
        boolean[] ran = {false};
        q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> ran[0] = TestFds.readByte(fd) == 42);
        TestFds.writeByte(p.writeFd(), 42);
        q.run();
        assertTrue(ran[0], "a normal wait still works");
    }

    @Test
    void anFdClosedElsewhereAfterItsWaiterRanIsWatchedAfreshWhenItsNumberComesBack() {
        IoQueue q = IoQueue.current();
        Fds.Pipe old = Fds.pipe();
        try (Fds.Pipe keep = Fds.pipe()) {
            q.await(keep.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            q.await(old.readFd(), ReadyEvent.READ, (fd, ev) -> { }); // runs, and does not wait again
            TestFds.writeByte(old.writeFd(), 1);
            assertEquals(1, q.runOnce(null));
            // Before the queue sleeps again, another thread (which this queue cannot see) closes the
            // fd, a new pipe takes the number, and someone waits on it from outside its callback.
            TestFds.rawClose(old.readFd());
            Fds.Pipe fresh = Fds.pipe();
            try {
                assertEquals(old.readFd(), fresh.readFd());
                boolean[] ran = {false};
                q.await(fresh.readFd(), ReadyEvent.READ, (fd, ev) -> ran[0] = true);
                TestFds.writeByte(fresh.writeFd(), 2);
                var ready = new ArrayList<Runnable>();
                q.poll(ready, Duration.ofSeconds(5));
                ready.forEach(Runnable::run);
                assertTrue(ran[0], "the new file was registered, not mistaken for the closed one");
            } finally {
                fresh.close();
            }
            q.unregister(keep.readFd());
        } finally {
            Fds.close(old.writeFd());
        }
    }

    @Test
    void awaitingAClosedFdWhoseRegistrationWasStillKeptIsEbadf() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { });
        TestFds.writeByte(p.writeFd(), 1);
        q.runOnce(null);
        TestFds.rawClose(p.readFd());
        try {
            SyscallException e = assertThrows(SyscallException.class, () -> q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { }));
            assertEquals("EBADF", e.errnoName());
            assertFalse(q.running());
        } finally {
            Fds.close(p.writeFd());
        }
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
        int regular = TestFds.open(file, dev.ioqueue.internal.os.Unistd.O_RDONLY);
        try (Fds.Pipe fresh = Fds.pipe()) {
            assertEquals(p.readFd(), regular, "the kernel reused the number");
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
}
