package dev.ioqueue;

import static dev.ioqueue.UringTest.onRingThread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link IoQueue#stats()} against workloads whose counts are known: pipe reads woken by readiness,
 * wake-ups made spurious by taking their data first, tasks and timers, the ring's read-ahead on a
 * {@link Handle}, and a group's queues. Read on the owner thread between rounds, the counts are exact.
 */
class QueueStatsTest extends QueueTestSupport {
    private static final int N = 20;

    /** A read of one byte that submits itself again until it has read {@code n}. */
    private static final class Reads implements IoCompletion {
        final ByteBuffer one = ByteBuffer.allocate(1);
        final IoOperation op = IoOperation.read(one, this);
        int done;

        @Override
        public void completed(int fd, long result) {
            assertEquals(1, result);
            done++;
            one.clear();
        }
    }

    @Test
    void aFreshQueueHasCountedNothing() {
        QueueStats s = IoQueue.current().stats();
        assertEquals(new QueueStats(IoQueue.current().backend(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), withoutRingSetup(s));
    }

    /** The ring counts of a fresh io_uring queue are its setup's (its poll of its epoll fd): compared elsewhere. */
    private static QueueStats withoutRingSetup(QueueStats s) {
        return new QueueStats(s.backend(), s.registeredFds(), s.waiters(), s.ownedFds(), s.pendingOperations(), s.ringOperations(),
                s.wakeUps(), s.spuriousWakeUps(), s.callbacksRun(), s.tasksRun(), s.timersFired(), s.rounds(), 0, 0, 0, s.keptBytes());
    }

    @Test
    void nReadsWokenByReadinessAreNCallbacksAndNWakeUpsAndNoneSpurious() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Reads reads = new Reads();
            for (int i = 1; i <= N; i++) {
                q.submit(p.readFd(), reads.op); // nothing there yet: it waits for the fd
                QueueStats waiting = q.stats();
                assertEquals(1, waiting.pendingOperations());
                assertEquals(1, waiting.waiters(), "the operation waits as the fd's READ waiter");
                assertEquals(1, waiting.registeredFds());
                Fds.write(p.writeFd(), ByteBuffer.wrap(new byte[] {(byte) i}));
                assertEquals(1, q.runOnce(Duration.ofSeconds(10)));
                assertEquals(i, reads.done);
            }
            QueueStats s = q.stats();
            assertEquals(N, s.callbacksRun(), "one wake-up of the operation per byte");
            assertEquals(N, s.wakeUps(), "each round waited once and found its byte");
            assertEquals(0, s.spuriousWakeUps(), "every wake-up found data");
            assertEquals(N, s.rounds());
            assertEquals(0, s.pendingOperations());
            assertEquals(0, s.waiters());
            assertEquals(0, s.tasksRun());
            assertEquals(0, s.timersFired());
        }
    }

    @Test
    void wakeUpsWhoseDataWasTakenFirstAreCountedSpuriousAndTheOperationWaitsOn() {
        IoQueue q = IoQueue.current();
        int spurious = 5;
        try (Fds.Pipe p = Fds.pipe()) {
            Reads reads = new Reads();
            q.submit(p.readFd(), reads.op);
            List<Runnable> ready = new ArrayList<>();
            for (int k = 1; k <= spurious; k++) {
                Fds.write(p.writeFd(), ByteBuffer.wrap(new byte[] {1}));
                assertEquals(1, q.poll(ready, Duration.ofSeconds(10)), "the read's wake-up, collected, not yet run");
                assertEquals(1, Fds.read(p.readFd(), ByteBuffer.allocate(1)), "its byte taken behind its back");
                ready.remove(0).run(); // the attempt would block: the operation waits again
                assertEquals(0, reads.done);
                assertEquals(k, q.stats().spuriousWakeUps());
                assertEquals(1, q.stats().pendingOperations(), "still pending, silently");
            }
            Fds.write(p.writeFd(), ByteBuffer.wrap(new byte[] {2}));
            assertEquals(1, q.runOnce(Duration.ofSeconds(10)));
            assertEquals(1, reads.done, "the next byte completes it");
            QueueStats s = q.stats();
            assertEquals(spurious, s.spuriousWakeUps());
            assertEquals(spurious + 1, s.callbacksRun());
            assertEquals(0, s.pendingOperations());
        }
    }

    // guards: a writeFully the peer drains slowly woke, wrote some, and waited again at each
    // wake-up; each was counted spurious (253 of 254 outside round 12), where nothing was
    @Test
    void aWriteFullyThatWritesAtEachWakeUpCountsNoneSpurious() throws Exception {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            byte[] whole = new byte[1 << 20]; // many pipe buffers: it waits, and is woken, again and again
            long[] done = {-1};
            q.submit(p.writeFd(), IoOperation.writeFully(ByteBuffer.wrap(whole), (fd, n) -> done[0] = n));
            ByteBuffer drain = ByteBuffer.allocate(16 * 1024);
            long drained = 0;
            int wakeUps = 0;
            while (done[0] < 0) {
                drain.clear();
                int n = Fds.read(p.readFd(), drain); // room for one more piece of the write
                if (n > 0) drained += n;
                q.runOnce(Duration.ofMillis(100));
                wakeUps++;
            }
            assertEquals(whole.length, done[0]);
            assertTrue(wakeUps > 10, "it waited more than a few times: " + wakeUps);
            assertEquals(0, q.stats().spuriousWakeUps(), "every wake-up wrote some");
            while (drained < whole.length) {
                drain.clear();
                drained += Math.max(0, Fds.read(p.readFd(), drain));
            }
        }
    }

    @Test
    void tasksAndTimersAreCountedWhenTheyRun() {
        IoQueue q = IoQueue.current();
        int[] ran = {0};
        for (int i = 0; i < 7; i++) q.execute(() -> ran[0]++);
        for (int i = 0; i < 3; i++) q.schedule(Duration.ZERO, () -> ran[0]++);
        Cancellable never = q.schedule(Duration.ofHours(1), () -> ran[0]++);
        assertEquals(0, q.stats().tasksRun(), "posted is not run");
        while (ran[0] < 10) q.runOnce(Duration.ofSeconds(10));
        QueueStats s = q.stats();
        assertEquals(7, s.tasksRun());
        assertEquals(3, s.timersFired());
        assertTrue(never.cancel());
        q.run();
        assertEquals(3, q.stats().timersFired(), "a cancelled timer never fires");
    }

    @Test
    void theRingKeepsWhatItReadAheadOneCompletionPerWriteAndNoSubmissionWhileItsReadStaysArmed() throws Exception {
        onRingThread(q -> {
            Fds.Pipe p = Fds.pipe();
            try (Handle h = Handle.of(p.readFd(), q)) {
                Reads reads = new Reads();
                q.submit(h, reads.op); // nothing there: the ring reads from now on
                QueueStats armed = q.stats();
                assertEquals(1, armed.ringOperations());
                assertEquals(1, armed.pendingOperations());
                assertEquals(1, armed.ownedFds());
                assertEquals(0, armed.waiters(), "the ring reads it: nothing waits for readiness");
                Fds.write(p.writeFd(), ByteBuffer.wrap(new byte[] {1, 2, 3}));
                QueueTestSupport.runUntil(q, () -> reads.done == 1);
                QueueStats first = q.stats();
                assertTrue(first.ringSubmissions() >= 1 && first.ringCompletions() >= 1 && first.ringEnters() >= 1, first::toString);
                assertEquals(2, first.keptBytes(), "three bytes came, one was read");
                assertEquals(0, first.ringOperations());
                assertEquals(1, first.callbacksRun(), "the ring's completion of the read");

                Cancellable hold = q.hold(); // no read waits: keep the loop entering the ring
                int writes = 5;
                for (int i = 1; i <= writes; i++) {
                    Fds.write(p.writeFd(), ByteBuffer.wrap(new byte[] {(byte) (10 + i)}));
                    long kept = 2 + i;
                    QueueTestSupport.runUntil(q, () -> q.stats().keptBytes() == kept);
                }
                hold.cancel();
                QueueStats after = q.stats();
                assertEquals(writes, after.ringCompletions() - first.ringCompletions(), "one CQE per write");
                assertEquals(0, after.ringSubmissions() - first.ringSubmissions(), "one multishot read brought them all");

                ByteBuffer all = ByteBuffer.allocate(16);
                IoOperation read = IoOperation.read(all, (fd, r) -> { });
                while (q.stats().keptBytes() > 0) q.submit(h, read); // each completes in place with what is kept
                assertEquals(2 + writes, all.position(), "every kept byte, and no more");
            } finally {
                Fds.close(p.writeFd());
            }
        });
    }

    @Test
    void aGroupReportsEachQueueInThreadOrder() throws Exception {
        try (IoQueueGroup group = IoQueueGroup.start(2, "stats")) {
            CountDownLatch ran = new CountDownLatch(8);
            for (int i = 0; i < 5; i++) group.queues().get(0).execute(ran::countDown);
            for (int i = 0; i < 3; i++) group.queues().get(1).execute(ran::countDown);
            assertTrue(ran.await(10, TimeUnit.SECONDS));
            List<QueueStats> stats = group.stats();
            assertEquals(2, stats.size());
            assertEquals(5, stats.get(0).tasksRun());
            assertEquals(3, stats.get(1).tasksRun());
            assertEquals(group.queues().get(0).backend(), stats.get(0).backend());
        }
    }

    // Outside round 13: a registration kept after its waiter ran stayed counted for ever once the
    // fd was unregistered or closed (the kernel's epoll set no longer had it).
    @Test
    void anFdUnregisteredOrClosedAfterItsWaiterRanIsNoLongerCounted() {
        IoQueue q = IoQueue.current();
        for (boolean close : new boolean[] {false, true}) {
            Fds.Pipe p = Fds.pipe();
            try {
                q.await(p.writeFd(), ReadyEvent.WRITE, (fd, events) -> {});
                q.run();
                assertEquals(1, q.stats().registeredFds(), "kept after its waiter ran, until the next flush");
                if (close) Fds.close(p.writeFd());
                else q.unregister(p.writeFd());
                assertEquals(0, q.stats().registeredFds(), close ? "after Fds.close" : "after unregister");
                q.runOnce(Duration.ZERO);
                assertEquals(0, q.stats().registeredFds(), "after the next round");
            } finally {
                if (!close) Fds.close(p.writeFd());
                Fds.close(p.readFd());
            }
        }
    }
}
