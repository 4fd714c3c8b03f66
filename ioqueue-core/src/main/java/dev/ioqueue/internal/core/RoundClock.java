package dev.ioqueue.internal.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Which round a queue's loop is in, for the {@link Watchdog}: the loop publishes each round's number
 * when the round starts running what it collected, and 0 when it leaves the loop. A number that
 * stays the same while the loop is awake is a round that has not ended: a callback, task or
 * coroutine slice holds the loop. The watchdog times it with its own clock, so the loop pays one
 * release store per round (a plain move on x86-64) and no {@code nanoTime}.
 *
 * <p>The owner thread writes; the watchdog reads. The store of a round's number comes before the
 * loop announces it is awake ({@link RunQueue#afterSleep}), so a reader that sees the loop awake
 * sees this round's number, never the one from before its sleep.
 */
final class RoundClock {
    private static final VarHandle MARK;

    static {
        try {
            MARK = MethodHandles.lookup().findVarHandle(RoundClock.class, "mark", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Rounds started, counted from 1 (owner thread; others read it racily, for statistics). */
    long rounds;
    @SuppressWarnings("unused") // through MARK
    private volatile long mark;

    /** A round starts running what it collected. Owner thread. */
    void roundStarted() {
        MARK.setRelease(this, ++rounds);
    }

    /** The loop returned to its caller: nothing it runs now is the loop's. Owner thread. */
    void leftLoop() {
        MARK.setRelease(this, 0L);
    }

    /** The round under way, or 0 outside the loop. Any thread. */
    long mark() {
        return (long) MARK.getAcquire(this);
    }
}
