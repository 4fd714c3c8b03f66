package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

/**
 * The shared queue ({@link IoQueue#shared()}): one loop that serves the waits of every thread
 * without a loop of its own. Its rule for plain fds is "do not close an fd while a thread waits on
 * it"; closing it after the wait returned, and getting the number back at once, is ordinary use.
 */
class SharedQueueTest {
    @Test
    void fdsOfTheSharedQueueAreRefusedByFdsClose() throws Exception {
        IoQueue shared = IoQueue.shared();
        int epfd = sharedEpollFd(shared);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Fds.close(epfd));
        assertTrue(e.getMessage().contains("fd " + epfd) && e.getMessage().contains("an open queue's own fds"), e.getMessage());
        try (Fds.Pipe p = Fds.pipe()) { // and the shared queue still serves
            TestFds.writeByte(p.writeFd(), 1);
            shared.whenReady(p.readFd(), ReadyEvent.READ).get(10, TimeUnit.SECONDS);
        }
    }

    // guards: with its epoll fd closed behind its back, the shared loop threw EBADF ~30,000 times a
    // second for good, and its waiters were never told; later (outside round 27), it said so as an
    // uncaught exception's stack on stderr, not through the library's logger
    @Test
    void aSharedQueueWhoseEpollFdIsClosedBehindItsBackTellsItsWaitersAndIsReplaced() throws Exception {
        IoQueue shared = IoQueue.shared();
        try (Fds.Pipe p = Fds.pipe(); LogCapture log = new LogCapture()) {
            CompletableFuture<Set<Event>> waiting = shared.whenReady(p.readFd(), ReadyEvent.READ);
            CompletableFuture.runAsync(() -> {}, shared).get(10, TimeUnit.SECONDS); // FIFO: the wait is registered
            TestFds.rawClose(sharedEpollFd(shared)); // as a native library's stray close would
            shared.execute(() -> {}); // the loop, asleep in the closed instance, wakes and waits again: EBADF
            ExecutionException dropped = assertThrows(ExecutionException.class, () -> waiting.get(10, TimeUnit.SECONDS));
            assertInstanceOf(WaitDroppedException.class, dropped.getCause());
            LogRecord told = log.await(r -> r.getMessage().startsWith("the shared queue (thread ioqueue-background) can no longer wait"));
            assertNotNull(told, "a WARNING through the library's logger");
            assertEquals(Level.WARNING, told.getLevel());
            assertInstanceOf(SyscallException.class, told.getThrown(), "with the failed epoll_wait");
            IoQueue next = IoQueue.shared();
            assertNotEquals(shared, next, "a new shared queue");
            TestFds.writeByte(p.writeFd(), 1);
            next.whenReady(p.readFd(), ReadyEvent.READ).get(10, TimeUnit.SECONDS);
        }
    }

    // guards: the number of the shared queue's epoll fd, closed behind its back, taken by another
    // epoll instance with a ready fd: the loop took that instance's report for one of its own,
    // "rebuilt" its set, and closed the other instance's fd, going on as if nothing happened
    @Test
    void aSharedQueueWhoseEpollNumberIsTakenByAnotherEpollInstanceLeavesThatInstanceAlone() throws Exception {
        IoQueue shared = IoQueue.shared();
        try (Fds.Pipe p = Fds.pipe(); Fds.Pipe mine = Fds.pipe()) {
            CompletableFuture<Set<Event>> waiting = shared.whenReady(p.readFd(), ReadyEvent.READ);
            CompletableFuture.runAsync(() -> {}, shared).get(10, TimeUnit.SECONDS); // FIFO: the wait is registered
            int number = sharedEpollFd(shared);
            java.lang.foreign.MemorySegment errno = dev.ioqueue.internal.os.Native.threadErrno();
            int other = dev.ioqueue.internal.os.Epoll.create(errno);
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                java.lang.foreign.MemorySegment event = arena.allocate(16, 8);
                assertEquals(0, dev.ioqueue.internal.os.Epoll.ctl(other, dev.ioqueue.internal.os.Epoll.EPOLL_CTL_ADD, mine.readFd(),
                        dev.ioqueue.internal.os.Epoll.EPOLLIN, 12345, event, errno));
            }
            TestFds.rawClose(number); // as a native library's stray close would
            assertEquals(number, dev.ioqueue.internal.os.Unistd.fcntl(other, dev.ioqueue.internal.os.Unistd.F_DUPFD_CLOEXEC, number, errno),
                    "the other instance takes the number");
            TestFds.rawClose(other);
            TestFds.writeByte(mine.writeFd(), 1); // the other instance has a report, for a token the shared queue never made
            shared.execute(() -> {}); // the loop, asleep in its closed instance, wakes and waits again: in the other one
            ExecutionException dropped = assertThrows(ExecutionException.class, () -> waiting.get(10, TimeUnit.SECONDS));
            assertInstanceOf(WaitDroppedException.class, dropped.getCause());
            String info = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/fdinfo/" + number));
            assertTrue(info.lines().anyMatch(l -> l.startsWith("tfd:") && l.substring(4).trim().startsWith(mine.readFd() + " ")),
                    "the other instance is open and still holds its fd: " + info);
            assertNotEquals(shared, IoQueue.shared(), "a new shared queue");
            TestFds.rawClose(number);
        }
    }

    /** The shared queue's epoll fd, found in /proc/self/fd. */
    private static int sharedEpollFd(IoQueue shared) {
        return TestFds.epollFdOf(shared);
    }

    // guards: a number closed after its wait returned and made again at once, before the shared loop
    // released the kept registration, waited forever (the new file never reached epoll)
    @Test
    void aNumberClosedAfterItsWaitReturnedAndMadeAgainIsWatchedAfresh() throws Exception {
        IoQueue shared = IoQueue.shared();
        Fds.Pipe first = Fds.pipe();
        int number = first.readFd();
        CompletableFuture<Set<Event>> firstWait = shared.whenReady(number, ReadyEvent.READ);
        CompletableFuture.runAsync(() -> {}, shared).get(10, TimeUnit.SECONDS); // FIFO: the wait is registered
        CountDownLatch roundHeld = new CountDownLatch(1);
        CountDownLatch releaseRound = new CountDownLatch(1);
        CountDownLatch releaseTimer = new CountDownLatch(1);
        // Hold the loop in a task; meanwhile make the fd readable and add a due timer, so the next
        // round runs the first wait's waiter and then the timer, which holds the loop again: the
        // first wait has returned, and the loop has not yet released its registration.
        shared.execute(() -> {
            shared.schedule(Duration.ZERO, () -> await(releaseTimer));
            roundHeld.countDown();
            await(releaseRound);
        });
        await(roundHeld);
        TestFds.writeByte(first.writeFd(), 1);
        releaseRound.countDown();
        try {
            assertEquals(Set.of(Event.READ), firstWait.get(10, TimeUnit.SECONDS));
            first.close(); // no thread waits on it any more
            Fds.Pipe second = TestFds.pipeAt(number);
            assumeTrue(second != null, "the kernel handed out other numbers");
            try {
                TestFds.writeByte(second.writeFd(), 2);
                CompletableFuture<Set<Event>> secondWait = shared.whenReady(number, ReadyEvent.READ); // reaches the held round
                releaseTimer.countDown();
                assertEquals(Set.of(Event.READ), secondWait.get(10, TimeUnit.SECONDS), "the new file's readiness");
            } finally {
                second.close();
            }
        } finally {
            releaseRound.countDown();
            releaseTimer.countDown();
        }
    }

    // guards: a wait whose number an earlier, still waiting caller had let be closed behind the
    // shared queue's back got that caller's PrematureCloseError instead of being served
    @Test
    void aWaitAfterAnotherCallersFdWasClosedUnderItsWaitIsServedAndTheEarlierWaitDropped() throws Exception {
        IoQueue shared = IoQueue.shared();
        Fds.Pipe broken = Fds.pipe();
        int number = broken.readFd();
        CompletableFuture<Set<Event>> brokenWait = shared.whenReady(number, ReadyEvent.READ);
        CompletableFuture.runAsync(() -> {}, shared).get(10, TimeUnit.SECONDS);
        broken.close(); // against the rule: a wait is under way on it
        Fds.Pipe fresh = TestFds.pipeAt(number);
        assumeTrue(fresh != null, "the kernel handed out other numbers");
        try {
            CompletableFuture<Set<Event>> freshWait = shared.whenReady(number, ReadyEvent.READ);
            ExecutionException dropped = assertThrows(ExecutionException.class, () -> brokenWait.get(10, TimeUnit.SECONDS));
            assertInstanceOf(WaitDroppedException.class, dropped.getCause());
            TestFds.writeByte(fresh.writeFd(), 1);
            assertEquals(Set.of(Event.READ), freshWait.get(10, TimeUnit.SECONDS));
        } finally {
            fresh.close();
        }
    }

    // guards: shared-queue futures completed on ioqueue-background, so a slow dependent stage stopped
    // every blocking wait in the process (a 500 ms thenRun delayed an unrelated read by ~495 ms;
    // issue 18, defect 3)
    @Test
    void aFuturesDependentStageRunsOffTheSharedLoopAndHoldsUpNoOtherThread() throws Exception {
        IoQueue shared = IoQueue.shared();
        try (Fds.Pipe ready = Fds.pipe(); Fds.Pipe other = Fds.pipe()) {
            CountDownLatch stageRunning = new CountDownLatch(1);
            CountDownLatch releaseStage = new CountDownLatch(1);
            CompletableFuture<String> stageThread = new CompletableFuture<>();
            CompletableFuture<Void> stage = shared.whenReady(ready.readFd(), ReadyEvent.READ).thenRun(() -> {
                stageThread.complete(Thread.currentThread().getName());
                stageRunning.countDown();
                await(releaseStage); // a stage that takes its time
            });
            TestFds.writeByte(ready.writeFd(), 1);
            try {
                await(stageRunning);
                assertNotEquals("ioqueue-background", stageThread.getNow(null));
                // While the stage holds its thread: another thread's blocking read is served, and a
                // close of an fd the shared queue has waited on goes through.
                int closing = Fds.dup(other.readFd());
                IoQueue.shared().whenReady(closing, ReadyEvent.WRITE).cancel(false);
                CompletableFuture<Integer> read = new CompletableFuture<>();
                Thread reader = Thread.ofVirtual().start(() -> {
                    try {
                        read.complete(BlockingIo.read(other.readFd(), ByteBuffer.allocate(8)));
                    } catch (Throwable t) {
                        read.completeExceptionally(t);
                    }
                });
                TestFds.writeByte(other.writeFd(), 7);
                assertEquals(1, read.get(10, TimeUnit.SECONDS), "the read was served while the stage ran");
                CompletableFuture.runAsync(() -> Fds.close(closing)).get(10, TimeUnit.SECONDS);
                reader.join();
                assertTrue(!stage.isDone(), "all this while the stage ran");
            } finally {
                releaseStage.countDown();
            }
        }
    }

    static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(10, TimeUnit.SECONDS), "timed out");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
