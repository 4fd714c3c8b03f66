package dev.ioqueue.internal.core;

import dev.ioqueue.internal.poll.Interest;
import java.util.ArrayDeque;

/**
 * Threads blocked outside the loop that were refused the place of an event on one owned fd (one
 * waiter per fd and event per queue), per event in the order they were first refused: when the
 * place is let go, the first one still waiting is handed the turn and woken to ask again at once,
 * and until it asks, other blocked threads are refused too (queued behind it), so threads sharing
 * a handle take turns in order instead of racing or polling; the loop's own waits and operations
 * are never held back. When the fd has closed, every one is woken (each then learns it). Made at
 * the fd's first refusal; owner thread of its queue only.
 */
final class TurnQueue {
    @SuppressWarnings("unchecked")
    private final ArrayDeque<Waiter>[] waiting = new ArrayDeque[Interest.KINDS];
    /** Per event, the waiter handed the turn that has not asked yet, or null. */
    private final Waiter[] handedTo = new Waiter[Interest.KINDS];
    /**
     * Per event, the waiter whose turn was last taken up (handed to it, or first in the queue when
     * it asked on its own): refused even so (the loop's own, or the thread holding the place), it
     * goes back to the front.
     */
    private final Waiter[] lastAsked = new Waiter[Interest.KINDS];

    /** Queues {@code w} at the end for {@code kind}, unless it is queued already. */
    void add(int kind, Waiter w) {
        if (w.inTurnQueue) return;
        ArrayDeque<Waiter> q = waiting[kind];
        if (q == null) q = waiting[kind] = new ArrayDeque<>(4);
        if (q.size() >= 32) { // threads that left (a timed wait per call, over and over) are dropped
            q.removeIf(stale -> {
                boolean gone = !stale.waitsForTurn();
                if (gone) stale.inTurnQueue = false;
                return gone;
            });
        }
        w.inTurnQueue = true;
        if (lastAsked[kind] == w) {
            lastAsked[kind] = null;
            q.addFirst(w);
        } else {
            q.addLast(w);
        }
    }

    /**
     * {@code kind}'s place was let go (null {@code leaving}), or {@code leaving} stopped waiting
     * without asking: hands the turn to the first waiter that still waits for one, unless the turn
     * is out already (handed to another that has not asked yet), or {@code leaving} was not handed
     * it; with {@code all}, wakes every one and hands it to none.
     */
    void pass(int kind, boolean all, Waiter leaving) {
        if (!all && handedTo[kind] != leaving) return;
        handedTo[kind] = null;
        lastAsked[kind] = null;
        ArrayDeque<Waiter> q = waiting[kind];
        if (q == null) return;
        Waiter w;
        while ((w = q.pollFirst()) != null) {
            w.inTurnQueue = false;
            if (w.takeTurn() && !all) {
                handedTo[kind] = w;
                return;
            }
        }
    }

    /**
     * The waiter {@code incoming} must wait behind for {@code kind}, or null if it may go on (the
     * loop's own always may). A blocked thread's waits behind the one handed the turn, else behind
     * the first still waiting in the queue, which is handed the turn now: so no newcomer overtakes
     * a queued thread, even where the place came free without a pass (an abandoned waiter replaced,
     * say), and a queued thread asking again on its own gets its place back in order.
     */
    Waiter aheadOf(int kind, Object incoming) {
        Waiter h = handedTo[kind];
        if (h != null && h != incoming && h.callEnded()) h = handedTo[kind] = null; // every way out passes the turn on; should one not, it is not held for good
        if (h == incoming && h != null) {
            handedTo[kind] = null; // it asks now: its turn is taken up
            lastAsked[kind] = h;
            return null;
        }
        if (!(incoming instanceof Waiter in && in.yieldsToLoop())) return null;
        if (h != null) return h;
        ArrayDeque<Waiter> q = waiting[kind];
        if (q == null) return null;
        Waiter w;
        while ((w = q.peekFirst()) != null) {
            q.pollFirst();
            w.inTurnQueue = false;
            if (w == incoming) { // first in the queue: its turn; refused even so (the place is held), it goes back to the front
                lastAsked[kind] = w;
                return null;
            }
            if (w.takeTurn()) {
                handedTo[kind] = w;
                return w;
            }
            // gone, or asking already: not waiting for a turn
        }
        return null;
    }
}
