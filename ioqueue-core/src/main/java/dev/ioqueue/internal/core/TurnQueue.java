package dev.ioqueue.internal.core;

import dev.ioqueue.internal.poll.Interest;
import java.util.ArrayDeque;

/**
 * Threads blocked outside the loop that were refused the place of an event on one owned fd (one
 * waiter per fd and event per queue), per event in the order they were first refused: when the
 * place is let go, the first one still waiting is woken to ask again at once, so threads sharing a
 * handle take turns in order instead of finding out by polling. When the fd has closed, every one
 * is woken (each then learns it). Made at the fd's first refusal; owner thread of its queue only.
 */
final class TurnQueue {
    @SuppressWarnings("unchecked")
    private final ArrayDeque<Waiter>[] waiting = new ArrayDeque[Interest.KINDS];

    /** Queues {@code w} at the end for {@code kind}, unless it is queued already. */
    void add(int kind, Waiter w) {
        if (w.inTurnQueue) return;
        ArrayDeque<Waiter> q = waiting[kind];
        if (q == null) q = waiting[kind] = new ArrayDeque<>(4);
        w.inTurnQueue = true;
        q.addLast(w);
    }

    /** {@code kind}'s place was let go: wakes the first waiter that still waits for a turn; every one with {@code all}. */
    void pass(int kind, boolean all) {
        ArrayDeque<Waiter> q = waiting[kind];
        if (q == null) return;
        Waiter w;
        while ((w = q.pollFirst()) != null) {
            w.inTurnQueue = false;
            if (w.takeTurn() && !all) return;
        }
    }
}
