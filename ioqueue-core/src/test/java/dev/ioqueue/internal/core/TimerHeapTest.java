package dev.ioqueue.internal.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The timer heap: deadline order, FIFO ties, exact cancel, and what close tells. */
class TimerHeapTest {
    private final TimerHeap heap = new TimerHeap(Thread.currentThread(), Runnable::run);

    @Test
    void dueTimersComeOutByDeadlineThenInSchedulingOrder() {
        List<String> order = new ArrayList<>();
        heap.add(heap.newTimer(30, () -> order.add("c"), null));
        heap.add(heap.newTimer(10, () -> order.add("a1"), null));
        heap.add(heap.newTimer(20, () -> order.add("b"), null));
        heap.add(heap.newTimer(10, () -> order.add("a2"), null));
        assertEquals(10, heap.nextDeadline());
        for (Runnable r; (r = heap.pollDue(25)) != null; ) r.run();
        assertEquals(List.of("a1", "a2", "b"), order);
        assertNull(heap.pollDue(29), "c is not due yet");
        heap.pollDue(30).run();
        assertTrue(heap.isEmpty());
    }

    @Test
    void aCancelledTimerNeverComesOut() {
        Timer t = heap.newTimer(5, () -> { throw new AssertionError("ran"); }, null);
        heap.add(t);
        assertTrue(t.cancel());
        assertFalse(t.cancel(), "only once");
        assertTrue(heap.isEmpty());
        assertNull(heap.pollDue(Long.MAX_VALUE));
    }

    @Test
    void randomCancelsKeepTheHeapOrdered() {
        Random random = new Random(7);
        List<Timer> timers = new ArrayList<>();
        long[] last = {Long.MIN_VALUE};
        for (int i = 0; i < 2_000; i++) {
            long deadline = random.nextInt(10_000);
            Timer t = heap.newTimer(deadline, () -> {
                assertTrue(deadline >= last[0], "out of order");
                last[0] = deadline;
            }, null);
            heap.add(t);
            timers.add(t);
        }
        for (int i = 0; i < 700; i++) timers.get(random.nextInt(timers.size())).cancel();
        for (Runnable r; (r = heap.pollDue(Long.MAX_VALUE / 2)) != null; ) r.run();
        assertTrue(heap.isEmpty());
    }

    @Test
    void clearTellsEachPendingTimerThatAskedOnceAndCollectsWhatTheyThrow() {
        List<String> told = new ArrayList<>();
        heap.add(heap.newTimer(1, () -> {}, () -> told.add("a")));
        heap.add(heap.newTimer(2, () -> {}, null));
        heap.add(heap.newTimer(3, () -> {}, () -> { throw new IllegalStateException("b"); }));
        Timer cancelled = heap.newTimer(4, () -> {}, () -> told.add("never"));
        heap.add(cancelled);
        cancelled.cancel();
        IllegalStateException first = new IllegalStateException("first");
        Throwable failure = heap.clear(first);
        assertSame(first, failure);
        assertEquals(1, first.getSuppressed().length);
        assertEquals(List.of("a"), told);
        assertTrue(heap.isEmpty());
    }
}
