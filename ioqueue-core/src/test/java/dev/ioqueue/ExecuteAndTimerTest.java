package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ExecuteAndTimerTest extends QueueTestSupport {
    @Test
    void fourThreadsPostAHundredThousandTasksEachAndNoneIsLost() throws Exception {
        IoQueue q = IoQueue.current();
        int producers = 4;
        int perProducer = 100_000;
        long[] perThreadSum = new long[producers];
        int[] lastSeen = new int[producers];
        boolean[] outOfOrder = {false};
        Recorder executed = new Recorder(); // the tasks all run here, on the owner thread
        Cancellable hold = q.hold();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < producers; t++) {
            int id = t;
            lastSeen[id] = -1;
            Runnable ran = executed.task("from " + id);
            Thread th = new Thread(() -> {
                for (int i = 0; i < perProducer; i++) {
                    int seq = i;
                    q.execute(() -> {
                        ran.run();
                        if (seq != lastSeen[id] + 1) outOfOrder[0] = true;
                        lastSeen[id] = seq;
                        perThreadSum[id] += seq;
                        if (executed.tasks() == producers * perProducer) hold.cancel();
                    });
                }
            });
            threads.add(th);
            th.start();
        }
        q.run();
        for (Thread t : threads) t.join();
        assertEquals(producers * perProducer, executed.tasks());
        List<String> log = executed.log();
        for (int id = 0; id < producers; id++) {
            assertEquals(perProducer, Collections.frequency(log, Recorder.taskRan("from " + id)), "tasks of producer " + id);
        }
        for (long s : perThreadSum) assertEquals((long) perProducer * (perProducer - 1) / 2, s);
        assertFalse(outOfOrder[0], "each producer's tasks ran in FIFO order");
    }

    @Test
    void executeFromAnotherThreadWakesASleepingPoll() throws Exception {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { }); // something to sleep on
            CountDownLatch sleeping = new CountDownLatch(1);
            Thread poster = new Thread(() -> {
                try {
                    sleeping.await();
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
                q.execute(() -> { });
            });
            poster.start();
            sleeping.countDown();
            List<Runnable> ready = new ArrayList<>();
            assertEquals(1, q.poll(ready, null), "woken by the task, not by the pipe");
            poster.join();
            q.unregister(p.readFd());
        }
    }

    @Test
    void timersFireInDeadlineOrderAndTiesInSchedulingOrder() {
        IoQueue q = IoQueue.current();
        List<String> fired = new ArrayList<>();
        long start = System.nanoTime();
        // Delays count from each call: 100 ms apart, so a thread preempted between two calls on a
        // loaded machine does not reorder their deadlines.
        q.schedule(Duration.ofMillis(300), () -> fired.add("300"));
        q.schedule(Duration.ofMillis(100), () -> fired.add("100a"));
        q.schedule(Duration.ofMillis(200), () -> fired.add("200"));
        q.schedule(Duration.ofMillis(100), () -> fired.add("100b"));
        q.schedule(Duration.ZERO, () -> fired.add("0"));
        q.run();
        assertEquals(List.of("0", "100a", "100b", "200", "300"), fired);
        assertTrue(System.nanoTime() - start >= 300_000_000L, "the last timer did not fire early");
    }

    @Test
    void cancelledTimersNeverFire() {
        IoQueue q = IoQueue.current();
        List<String> fired = new ArrayList<>();
        Cancellable a = q.schedule(Duration.ofMillis(5), () -> fired.add("a"));
        q.schedule(Duration.ofMillis(10), () -> fired.add("b"));
        Cancellable c = q.schedule(Duration.ofMillis(1), () -> fired.add("c"));
        assertTrue(a.cancel());
        assertFalse(a.cancel(), "only once");
        assertTrue(c.cancel());
        q.run();
        assertEquals(List.of("b"), fired);
    }

    @Test
    void timerCancelledFromAnotherThreadNeverFires() throws Exception {
        IoQueue q = IoQueue.current();
        AtomicBoolean fired = new AtomicBoolean();
        Cancellable timer = q.schedule(Duration.ofMillis(100), () -> fired.set(true));
        boolean[] cancelled = {false};
        Thread t = new Thread(() -> cancelled[0] = timer.cancel());
        t.start();
        t.join();
        assertTrue(cancelled[0]);
        q.schedule(Duration.ofMillis(150), () -> { });
        q.run();
        assertFalse(fired.get());
    }

    @Test
    void scheduleFromAnotherThreadRunsOnTheOwner() throws Exception {
        IoQueue q = IoQueue.current();
        Cancellable hold = q.hold();
        Thread[] ranOn = {null};
        Thread t = new Thread(() -> q.schedule(Duration.ofMillis(5), () -> { ranOn[0] = Thread.currentThread(); hold.cancel(); }));
        t.start();
        q.run();
        t.join();
        assertEquals(Thread.currentThread(), ranOn[0]);
    }

    @Test
    void tasksAcceptedBeforeCloseStillRun() throws Exception {
        IoQueue q = IoQueue.current();
        AtomicBoolean ran = new AtomicBoolean();
        Thread t = new Thread(() -> q.execute(() -> ran.set(true)));
        t.start();
        t.join(10_000);
        q.close();
        assertTrue(ran.get());
    }

    @Test
    void runningCountsWaitersTasksTimersAndHolds() {
        IoQueue q = IoQueue.current();
        assertFalse(q.running());
        Cancellable timer = q.schedule(Duration.ofHours(1), () -> { });
        assertTrue(q.running());
        timer.cancel();
        assertFalse(q.running());
        Cancellable hold = q.hold();
        assertTrue(q.running());
        hold.cancel();
        assertFalse(q.running());
        q.execute(() -> { });
        assertTrue(q.running());
        q.run();
        assertFalse(q.running());
        assertTrue(TimeUnit.SECONDS.toNanos(1) > 0);
    }

    // guards: a hold the queue's close had released said true when cancelled after it, from the
    // owner and from another thread (outside round 12)
    @Test
    void aHoldCancelledAfterItsQueueClosedWasNotCancelledByThatCall() throws Exception {
        AtomicReference<Cancellable> other = new AtomicReference<>();
        AtomicBoolean ownerSaid = new AtomicBoolean(true);
        Thread owner = Thread.ofPlatform().start(() -> {
            IoQueue q = IoQueue.current();
            Cancellable mine = q.hold();
            other.set(q.hold());
            q.close();
            ownerSaid.set(mine.cancel());
        });
        owner.join();
        assertFalse(ownerSaid.get(), "the close released it, not the cancel");
        assertFalse(other.get().cancel(), "nor from another thread");
        IoQueue q = IoQueue.current();
        Cancellable open = q.hold();
        assertTrue(open.cancel(), "an open queue's hold: this call released it");
        assertFalse(open.cancel());
    }

    // guards: a round never ended while producers kept posting (outside finding D5)
    @Test
    void aRoundEndsWhileProducersKeepPosting() throws Exception {
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

    // guards: a backlog of posted tasks starved fds and timers (outside finding D5)
    @Test
    void aRoundTakesAtMostABudgetOfTasksFromOtherThreads() throws Exception {
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

    // guards (cold review, 2026-12-08): a task the owner posted ran before one another thread had
    // posted earlier (the owner's went straight to its own list, the other's waited in the inbox)
    @Test
    void postedTasksRunInTheOrderTheyWerePostedWhicheverThreadPostedThem() throws Exception {
        IoQueue q = IoQueue.current();
        java.util.List<String> order = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        java.util.concurrent.CountDownLatch posted = new java.util.concurrent.CountDownLatch(1);
        q.execute(() -> {
            Thread other = new Thread(() -> {
                q.execute(() -> order.add("X, by another thread"));
                posted.countDown();
            });
            other.start();
            try {
                posted.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            q.execute(() -> order.add("Y, by the owner after X"));
        });
        while (order.size() < 2) q.runOnce(java.time.Duration.ofSeconds(5));
        org.junit.jupiter.api.Assertions.assertEquals(java.util.List.of("X, by another thread", "Y, by the owner after X"), order);
    }
}
