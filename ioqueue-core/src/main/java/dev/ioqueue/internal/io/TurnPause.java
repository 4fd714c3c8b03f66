package dev.ioqueue.internal.io;

import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.core.Waiter;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The turn-taking of a thread blocked on a handle of an io_uring loop, written once for its two
 * kinds of call ({@link OperationWait}, {@link LoopWait}), whose state words share these two
 * states: {@link #BUSY} (refused: another waiter of the event holds the place) and {@link #TURN}
 * (handed the turn by the fd's turn queue: ask again now). How long a refused thread waits before
 * it asks again: woken by the hand-off when the holder tells (a blocked thread's call), at the
 * latest after {@link #SIGNALLED_FALLBACK_NANOS}; else (the loop's own wait, operation or
 * callback, which may take the place again at once) 0.25 ms, doubling up to 8 ms. One instance
 * per blocked call; its thread only (the statics: any thread, as each says).
 */
final class TurnPause {
    /** Refused for now: another waiter of the same event holds the fd in its queue. */
    static final int BUSY = 8;
    /** Refused, then handed the turn ({@link #hand}): the thread asks again now. */
    static final int TURN = 9;
    /** The longest a thread waits for a hand-off before it asks on its own (also the orphan check's period). */
    static final long SIGNALLED_FALLBACK_NANOS = OperationWait.ORPHAN_CHECK_NANOS;
    private static final long FIRST_NANOS = 250_000L;
    private static final long MAX_NANOS = 8_000_000L;
    private long next = FIRST_NANOS;

    /** The pause to take in {@code state} (BUSY or TURN): none once handed the turn. */
    long pause(int state, boolean turnPassed) {
        if (state == TURN) return 0;
        if (turnPassed) return SIGNALLED_FALLBACK_NANOS;
        long pause = next;
        next = Math.min(2 * next, MAX_NANOS);
        return pause;
    }

    /**
     * Parks the refused thread for {@code pauseNanos}, or until it is handed the turn (its state
     * word, read through {@code state}, leaves {@link #BUSY}) or interrupted. The refusal itself
     * unparks the thread, and when the loop answered before the thread parked, that permit is
     * still there: a plain park would return at once, and the thread would ask again at once,
     * again and again, as fast as the loop answers (415 asks in 44 ms behind the loop's own read;
     * 99 in 300 ms from threads that should have waited to be told). The blocked thread.
     */
    static void sleep(VarHandle state, Object waiter, long pauseNanos) {
        long deadline = System.nanoTime() + pauseNanos;
        long left = pauseNanos;
        while (left > 0) {
            LockSupport.parkNanos(waiter, left);
            if ((int) state.getVolatile(waiter) != BUSY || Thread.currentThread().isInterrupted()) return;
            left = deadline - System.nanoTime();
        }
    }

    /** Whether {@code state} is a thread's waiting for its turn. */
    static boolean waiting(int state) {
        return state == BUSY || state == TURN;
    }

    /**
     * A thread stops waiting for its turn; its state word was {@code was} before it moved to its
     * given-up state. If the turn was handed to it meanwhile, it passes it on to the next in the
     * fd's turn queue, so no thread behind it waits for a turn nobody takes; if it was asking again
     * shortly (the holder does not tell: not {@code turnPassed}), the next one takes that over
     * (woken, it asks, and learns who holds the place). The blocked thread.
     */
    static void leave(int was, boolean turnPassed, QueueCore queue, OwnedFd owned, int kind, Waiter leaving) {
        if (was == TURN) queue.runOnOwner(() -> owned.passTurnOn(kind, leaving));
        else if (!turnPassed) queue.runOnOwner(() -> owned.passTurn(kind));
    }

    /** Hands the turn to {@code waiter} (its state word {@code state}) and wakes {@code thread}; false if it no longer waits for one. Owner thread. */
    static boolean hand(VarHandle state, Object waiter, Thread thread) {
        if (!state.compareAndSet(waiter, BUSY, TURN)) return false; // it gave up, or asks again already
        LockSupport.unpark(thread);
        return true;
    }
}
