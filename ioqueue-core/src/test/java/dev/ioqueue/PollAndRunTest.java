package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Faults;
import dev.ioqueue.internal.os.Syscall;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PollAndRunTest extends QueueTestSupport {
    @Test
    void pollReturnsAtOnceWhenNothingIsPending() {
        IoQueue q = IoQueue.current();
        long before = Faults.calls(Syscall.EPOLL_WAIT);
        assertEquals(0, q.poll(new ArrayList<>(), null), "null timeout, yet nothing to wait for");
        assertEquals(before, Faults.calls(Syscall.EPOLL_WAIT), "no syscall either");
    }

    @Test
    void pollCollectsReadyCallbacksWithoutRunningThem() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            boolean[] ran = {false};
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> ran[0] = true);
            TestFds.writeByte(p.writeFd(), 1);
            List<Runnable> ready = new ArrayList<>();
            assertEquals(1, q.poll(ready, null));
            assertFalse(ran[0], "collected, not run");
            ready.getFirst().run();
            assertTrue(ran[0]);
        }
    }

    @Test
    void pollWithZeroTimeoutNeverBlocks() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            assertEquals(0, q.poll(new ArrayList<>(), Duration.ZERO));
            q.unregister(p.readFd());
        }
    }

    @Test
    void positiveTimeoutNeverReturnsEarly() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            for (long micros : new long[] {1, 300, 1500, 2700}) {
                long start = System.nanoTime();
                assertEquals(0, q.poll(new ArrayList<>(), Duration.ofNanos(micros * 1000)));
                long waited = System.nanoTime() - start;
                assertTrue(waited >= micros * 1000, "waited " + waited + " ns of " + micros + " us");
            }
            q.unregister(p.readFd());
        }
    }

    @Test
    void eintrInEpollWaitIsRetriedWithTheTimeLeft() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            Faults.failNth(Syscall.EPOLL_WAIT, 1, Errno.EINTR, 3);
            long start = System.nanoTime();
            assertEquals(0, q.poll(new ArrayList<>(), Duration.ofMillis(30)));
            assertTrue(System.nanoTime() - start >= 30_000_000L, "slept the whole timeout despite EINTR");
            assertFalse(Faults.pending(), "the three EINTRs happened");
            q.unregister(p.readFd());
        }
    }

    @Test
    void runReturnsWhenNothingIsPending() {
        IoQueue q = IoQueue.current();
        q.run();
        assertFalse(q.running());
    }

    @Test
    void callbackExceptionPropagatesAndTheRestOfTheBatchRunsNext() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe a = Fds.pipe(); Fds.Pipe b = Fds.pipe(); Fds.Pipe c = Fds.pipe()) {
            List<Integer> ran = new ArrayList<>();
            RuntimeException boom = new RuntimeException("boom");
            ReadyCallback record = (fd, ev) -> ran.add(fd);
            q.await(a.readFd(), ReadyEvent.READ, (fd, ev) -> { ran.add(fd); throw boom; });
            q.await(b.readFd(), ReadyEvent.READ, record);
            q.await(c.readFd(), ReadyEvent.READ, record);
            TestFds.writeByte(a.writeFd(), 1);
            TestFds.writeByte(b.writeFd(), 1);
            TestFds.writeByte(c.writeFd(), 1);
            int ranBeforeThrow;
            try {
                q.run();
                throw new AssertionError("run() swallowed the exception");
            } catch (RuntimeException e) {
                assertSame(boom, e);
                ranBeforeThrow = ran.size();
            }
            q.run();
            assertEquals(3, ran.size(), "all three ran exactly once: " + ran);
            assertEquals(3, ran.stream().distinct().count());
            assertTrue(ranBeforeThrow >= 1);
        }
    }

    @Test
    void callbacksLeftByAThrowingRunArePolledFirst() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe a = Fds.pipe(); Fds.Pipe b = Fds.pipe()) {
            Recorder thrower = new Recorder().then((fd, ev) -> { throw new IllegalStateException("x"); });
            q.await(a.readFd(), ReadyEvent.READ, thrower);
            q.await(b.readFd(), ReadyEvent.READ, thrower);
            TestFds.writeByte(a.writeFd(), 1);
            TestFds.writeByte(b.writeFd(), 1);
            assertThrows(IllegalStateException.class, q::run);
            assertEquals(1, thrower.calls(), "run() stopped at the first exception");
            List<Runnable> ready = new ArrayList<>();
            assertEquals(1, q.poll(ready, Duration.ZERO), "the second callback was kept");
            assertThrows(IllegalStateException.class, () -> ready.getFirst().run());
            assertEquals(2, thrower.calls());
            assertEquals(Set.of(Recorder.ready(a.readFd(), Event.READ), Recorder.ready(b.readFd(), Event.READ)),
                    Set.copyOf(thrower.log()), "each ran once, in either order");
        }
    }

    @Test
    void runIsNotReentrant() {
        IoQueue q = IoQueue.current();
        IllegalStateException[] caught = {null};
        q.execute(() -> caught[0] = assertThrows(IllegalStateException.class, q::run));
        q.run();
        assertTrue(caught[0].getMessage().contains("inside"), caught[0].getMessage());
    }

    @Test
    void aTaskThatKeepsRepostingItselfDoesNotStarveTheFds() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Recorder events = new Recorder();
            q.await(p.readFd(), ReadyEvent.READ, events);
            TestFds.writeByte(p.writeFd(), 1);
            Runnable spin = events.task("spin");
            Runnable spinner = new Runnable() {
                @Override
                public void run() {
                    spin.run();
                    if (events.calls() == 0 && events.tasks() < 1_000_000) q.execute(this);
                }
            };
            q.execute(spinner);
            q.run();
            List<String> log = events.log();
            int spins = log.indexOf(Recorder.ready(p.readFd(), Event.READ));
            assertTrue(spins >= 0, "the fd ran");
            assertTrue(spins < 10, "the fd ran within a few rounds, not after " + spins);
            // k spins, then the fd, then the one spin already posted, which sees the fd ran and stops
            List<String> expected = new ArrayList<>(Collections.nCopies(spins, Recorder.taskRan("spin")));
            expected.add(Recorder.ready(p.readFd(), Event.READ));
            expected.add(Recorder.taskRan("spin"));
            assertEquals(expected, log);
        }
    }

    // guards: poll() handed out tasks that could run twice or off the owner (outside finding D5)
    @Test
    void pollHandsOutTasksThatRunOnceAndOnlyOnTheOwner() throws Exception {
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

    // guards (cold review, 2026-12-08): a loop serving one byte at a time, re-arming its wait from
    // its callback (a re-arm on trust), made two epoll waits per sleeping round (a look, then the
    // timed sleep) where one does
    @Test
    void aLoopThatSleepsEveryRoundWaitsOnceARound() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Faults.ENABLED);
        onNewThread(() -> {
            IoQueue q = IoQueue.create(Backend.EPOLL); // the epoll waits are this thread's
            try (Fds.Pipe p = Fds.pipe()) {
                int[] bytes = {0};
                byte[] buf = new byte[16];
                ReadyCallback[] again = new ReadyCallback[1];
                again[0] = (fd, ev) -> {
                    int n = Fds.read(fd, buf, 0, buf.length);
                    if (n > 0) bytes[0] += n;
                    if (bytes[0] < 200) q.await(fd, ReadyEvent.READ, again[0]); // waits again from its callback: on trust
                };
                q.await(p.readFd(), ReadyEvent.READ, again[0]);
                Thread writer = Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < 200; i++) {
                        try {
                            Thread.sleep(1);
                        } catch (InterruptedException e) {
                            return;
                        }
                        Fds.write(p.writeFd(), new byte[] {1}, 0, 1);
                    }
                });
                long waitsBefore = Faults.calls(Syscall.EPOLL_WAIT);
                long roundsBefore = q.stats().rounds();
                q.run();
                writer.join();
                long waits = Faults.calls(Syscall.EPOLL_WAIT) - waitsBefore;
                long rounds = q.stats().rounds() - roundsBefore;
                assertEquals(200, bytes[0]);
                assertTrue(waits <= rounds + rounds / 8, waits + " epoll waits in " + rounds + " rounds");
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            } finally {
                q.close();
            }
        });
    }

    // guards (outside round 52): a stop() whose wake-up poll() (or runOnce) took was still honoured
    // by the next run(), but only after that run's first round had slept until something else came
    @Test
    void aStopAskedForBetweenRunsEndsTheNextRunWithoutSleeping() throws Exception {
        IoQueue q = IoQueue.current();
        Cancellable hold = q.hold(); // something pending, so run() would sleep
        try {
            for (String taker : new String[] {"poll", "runOnce"}) {
                Thread stopper = Thread.ofPlatform().start(q::stop);
                stopper.join();
                if (taker.equals("poll")) {
                    List<Runnable> ready = new ArrayList<>();
                    q.poll(ready, Duration.ofSeconds(5)); // takes the stop's wake-up
                    ready.forEach(Runnable::run);
                } else {
                    q.runOnce(Duration.ofSeconds(5));
                }
                boolean[] guardRan = {false};
                Cancellable guard = q.schedule(Duration.ofSeconds(5), () -> {
                    guardRan[0] = true;
                    q.stop();
                });
                q.run();
                guard.cancel();
                assertFalse(guardRan[0], "run() ended by the stop asked for before it (" + taker + "), not by the guard");
            }
        } finally {
            hold.cancel();
        }
    }
}
