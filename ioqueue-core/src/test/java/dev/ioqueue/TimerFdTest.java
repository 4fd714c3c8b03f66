package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TimerFdTest extends QueueTestSupport {
    @Test
    void periodicTicksAreCountedFromTheExpirationNumbers() {
        IoQueue q = IoQueue.current();
        List<Long> deliveries = new ArrayList<>();
        try (TimerFd timer = TimerFd.open()) {
            long start = System.nanoTime();
            timer.armPeriodic(Duration.ofMillis(20));
            Cancellable ticks = timer.onTicks(q, deliveries::add);
            q.schedule(Duration.ofMillis(250), ticks::cancel);
            q.run();
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
            long sum = deliveries.stream().mapToLong(Long::longValue).sum();
            assertTrue(deliveries.stream().allMatch(n -> n >= 1), "each delivery counts at least one expiry: " + deliveries);
            // 250 ms of a 20 ms period: 12 expiries, fewer only if the last were not yet read. A late
            // loop delivers larger counts, never more than the time allows.
            assertTrue(sum >= 8, "expiries " + sum + " in " + deliveries);
            assertTrue(sum <= elapsedMillis / 20, "expiries " + sum + " in " + elapsedMillis + " ms");
        }
    }

    // guards: a close from another thread while the watch fired threw IllegalStateException out of the loop
    // ("TimerFd[...] is closed" from the watch's read or its next wait), and ifDropped never ran
    @Test
    @org.junit.jupiter.api.Timeout(120) // a loop the race killed would leave its close waiting: a failure, not a hang
    void closingATimerFromAnotherThreadWhileItsWatchFiresEndsTheWatchAsDropped() throws Exception {
        for (int round = 0; round < 200; round++) {
            try (LoopThread loop = new LoopThread("timer-close-" + round)) {
                TimerFd timer = TimerFd.open();
                java.util.concurrent.atomic.AtomicInteger dropped = new java.util.concurrent.atomic.AtomicInteger();
                java.util.concurrent.CompletableFuture<Void> watching = new java.util.concurrent.CompletableFuture<>();
                loop.queue.execute(() -> {
                    timer.armPeriodic(Duration.ofNanos(100_000));
                    timer.onTicks(loop.queue, n -> { }, dropped::incrementAndGet);
                    watching.complete(null);
                });
                watching.get(10, java.util.concurrent.TimeUnit.SECONDS);
                Thread.sleep(round % 3); // firing every 100 µs meanwhile
                timer.close(); // from this thread
                java.util.concurrent.CompletableFuture<Void> alive = new java.util.concurrent.CompletableFuture<>();
                loop.queue.execute(() -> alive.complete(null));
                alive.get(10, java.util.concurrent.TimeUnit.SECONDS); // the loop still runs: nothing was thrown out of it
                assertEquals(1, dropped.get(), "ifDropped ran once");
            }
        }
    }

    @Test
    void aOneShotTimerFiresOnce() {
        IoQueue q = IoQueue.current();
        List<Long> deliveries = new ArrayList<>();
        try (TimerFd timer = TimerFd.open()) {
            timer.armOnce(Duration.ofMillis(10));
            Cancellable ticks = timer.onTicks(q, deliveries::add);
            q.schedule(Duration.ofMillis(100), ticks::cancel);
            q.run();
            assertEquals(List.of(1L), deliveries);
            assertEquals(0, timer.read());
        }
    }

    @Test
    void aZeroDelayExpiresAtOnceInsteadOfDisarming() throws InterruptedException {
        try (TimerFd timer = TimerFd.open()) {
            timer.armOnce(Duration.ZERO);
            Thread.sleep(5);
            assertEquals(1, timer.read());
            timer.armPeriodic(Duration.ZERO, Duration.ofHours(1));
            Thread.sleep(5);
            assertEquals(1, timer.read());
        }
    }

    @Test
    void disarmStopsIt() throws InterruptedException {
        try (TimerFd timer = TimerFd.open()) {
            timer.armPeriodic(Duration.ofMillis(2));
            Thread.sleep(20);
            timer.disarm();
            assertEquals(0, timer.read(), "disarming clears the expiries not yet read");
            Thread.sleep(20);
            assertEquals(0, timer.read());
        }
    }

    @Test
    void readNeverBlocksAndIsZeroWhenNothingExpired() {
        try (TimerFd timer = TimerFd.open()) {
            assertEquals(0, timer.read());
            timer.armOnce(Duration.ofHours(1));
            assertEquals(0, timer.read());
        }
    }

    @Test
    void badDurationsAreRefused() {
        try (TimerFd timer = TimerFd.open()) {
            IllegalArgumentException negative = assertThrows(IllegalArgumentException.class, () -> timer.armOnce(Duration.ofNanos(-1)));
            assertTrue(negative.getMessage().contains("negative"), negative.getMessage());
            assertThrows(IllegalArgumentException.class, () -> timer.armPeriodic(Duration.ofMillis(-5)));
            assertThrows(IllegalArgumentException.class, () -> timer.armPeriodic(Duration.ofMillis(-1), Duration.ofMillis(5)));
            IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () -> timer.armPeriodic(Duration.ZERO));
            assertTrue(zero.getMessage().contains("armOnce"), zero.getMessage());
            IllegalArgumentException huge = assertThrows(IllegalArgumentException.class, () -> timer.armOnce(Duration.ofSeconds(Long.MAX_VALUE)));
            assertTrue(huge.getMessage().contains("292 years"), huge.getMessage());
            assertThrows(NullPointerException.class, () -> timer.armOnce(null));
            assertEquals(0, timer.read(), "nothing was armed");
        }
    }

    @Test
    void aClosedTimerIsRefusedAndClosesOnce() {
        TimerFd timer = TimerFd.open();
        int fd = timer.fd();
        timer.close();
        assertFalse(timer.isOpen());
        assertFalse(TestFds.isOpen(fd));
        IllegalStateException e = assertThrows(IllegalStateException.class, timer::read);
        assertTrue(e.getMessage().contains("TimerFd[fd " + fd + ", closed]"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> timer.armOnce(Duration.ofMillis(1)));
        assertThrows(IllegalStateException.class, timer::disarm);
        assertThrows(IllegalStateException.class, () -> timer.onTicks(IoQueue.current(), n -> { }));
        timer.close(); // a second close does nothing
    }

    @Test
    void closingTheTimerDropsItsTicksWatch() {
        IoQueue q = IoQueue.current();
        List<String> log = new ArrayList<>();
        TimerFd timer = TimerFd.open();
        timer.armPeriodic(Duration.ofMillis(1));
        Cancellable ticks = timer.onTicks(q, n -> log.add("tick"), () -> log.add("dropped"));
        timer.close();
        assertEquals(List.of("dropped"), log);
        assertFalse(q.running());
        assertFalse(ticks.cancel(), "already ended");
    }

    @Test
    void aTicksConsumerThatThrowsKeepsTheWatchGoing() {
        IoQueue q = IoQueue.current();
        List<Long> deliveries = new ArrayList<>();
        try (TimerFd timer = TimerFd.open()) {
            timer.armPeriodic(Duration.ofMillis(5));
            Cancellable ticks = timer.onTicks(q, n -> {
                deliveries.add(n);
                if (deliveries.size() == 1) throw new IllegalStateException("first tick fails");
                if (deliveries.size() == 3) throw new IllegalStateException("ought to be cancelled");
            });
            assertThrows(IllegalStateException.class, q::run);
            while (deliveries.size() < 2) q.runOnce(Duration.ofSeconds(5));
            assertTrue(ticks.cancel());
            q.run();
            assertEquals(2, deliveries.size());
        }
    }
}
