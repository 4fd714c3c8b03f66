package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.core.SecondWaiterException;
import dev.ioqueue.internal.core.Waiter;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * A thread blocked until an owned fd bound to an io_uring queue is ready, parked ({@link LockSupport}:
 * a virtual thread unmounts and pins no carrier) while that queue waits for it: the ring keeps what
 * it read ahead of such an fd, so only its queue can say it is readable. One state word decides
 * every race (readiness, a drop, the timeout, an interrupt): whoever moves it from WAITING first
 * wins; a thread that gives up leaves its waiter abandoned, withdrawn on the queue's thread, and
 * replaceable at once by its next wait ({@link Waiter#abandoned}). Threads refused the place while
 * another thread's wait holds it wait in the fd's turn queue ({@link OwnedFd#passTurn}); each wait
 * passes the turn on when it ends.
 */
final class LoopWait extends Waiter {
    private static final int WAITING = 0;
    private static final int READY = 1;
    private static final int DROPPED = 2;
    private static final int FAILED = 3;
    private static final int GAVE_UP = 4;
    private static final int BUSY = TurnPause.BUSY;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(LoopWait.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final QueueCore queue;
    private final int fd;
    private final OwnedFd owned;
    private final int kind;
    private final Thread thread = Thread.currentThread();
    @SuppressWarnings("unused") // through STATE
    private volatile int state;
    private int events;
    private RuntimeException failure;
    /**
     * The last refusal's holder tells the turn queue when it lets go: no need to ask before.
     * Written on the queue's thread before the state becomes BUSY, read by the blocked thread after
     * it saw BUSY.
     */
    private boolean turnPassed;

    private LoopWait(QueueCore queue, int fd, OwnedFd owned, int kind) {
        this.queue = queue;
        this.fd = fd;
        this.owned = owned;
        this.kind = kind;
    }

    /**
     * Blocks until {@code fd} of {@code owned} is ready for {@code kind} in its queue
     * {@code queue}, at most {@code timeoutNanos} (negative: no limit); returns the events (bits of
     * {@code Interest}), or what a last look finds once the time is up (often 0). The caller
     * checked it is not inside a loop.
     *
     * @throws InterruptedIOException if the thread is interrupted before or while it waits (the
     *     interrupt status stays set, the waiter is withdrawn)
     * @throws IOException the API's dropped-wait exception if the queue dropped the wait
     */
    static int await(QueueCore queue, int fd, OwnedFd owned, int kind, long timeoutNanos) throws IOException {
        if (Thread.currentThread().isInterrupted()) throw BlockingWait.interrupted(fd);
        LoopWait w = new LoopWait(queue, fd, owned, kind);
        if (!queue.runOnOwner(w::register)) throw OperationWait.refused(queue, fd);
        long deadline = timeoutNanos > 0 ? System.nanoTime() + timeoutNanos : 0;
        TurnPause turn = new TurnPause();
        while (true) {
            int state = (int) STATE.getVolatile(w);
            if (TurnPause.waiting(state)) {
                // Another waiter of this event holds the fd in the queue (another thread blocked
                // on it, or the loop's own wait): ask again shortly, within the time limit.
                // Woken when the holder lets go if it tells (the orphan check's period bounds the
                // wait, in case the turn went to a thread that was asking again meanwhile).
                long pause = turn.pause(state, w.turnPassed);
                if (timeoutNanos >= 0) {
                    long left = deadline - System.nanoTime();
                    if (timeoutNanos == 0 || left <= 0) {
                        w.leaveTurn();
                        return BlockingWait.lastLook(fd, owned, kind);
                    }
                    pause = Math.min(pause, left);
                }
                if (pause > 0) TurnPause.sleep(STATE, w, pause);
                if (Thread.currentThread().isInterrupted()) {
                    w.leaveTurn();
                    throw BlockingWait.interrupted(fd);
                }
                if (queue.ownerEnded()) {
                    w.leaveTurn();
                    throw OperationWait.orphaned(queue, owned);
                }
                STATE.setVolatile(w, WAITING);
                if (!queue.runOnOwner(w::register)) throw OperationWait.refused(queue, fd);
                continue;
            }
            if (state != WAITING) break; // the state read once: a refusal (BUSY) landing now is seen next time round
            // At most a second at a time: a queue whose thread ends without closing it will never
            // end this wait, and nothing tells us.
            if (timeoutNanos < 0) {
                LockSupport.parkNanos(w, OperationWait.ORPHAN_CHECK_NANOS);
            } else {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    if (w.giveUp()) return BlockingWait.lastLook(fd, owned, kind);
                    continue; // the queue decided first (readiness, a drop, a failure, or BUSY: looked at above)
                }
                LockSupport.parkNanos(w, Math.min(left, OperationWait.ORPHAN_CHECK_NANOS));
            }
            if (Thread.currentThread().isInterrupted() && w.giveUp()) throw BlockingWait.interrupted(fd);
            if (queue.ownerEnded() && w.giveUp()) throw OperationWait.orphaned(queue, owned);
        }
        return switch ((int) STATE.getVolatile(w)) {
            case READY -> w.events;
            case DROPPED -> throw Errors.dropped(fd, "the fd was unregistered or closed, or its queue closed");
            default -> throw w.failure;
        };
    }

    /** The thread stops waiting, unless the queue decided first; then the waiter is withdrawn. */
    private boolean giveUp() {
        if (!STATE.compareAndSet(this, WAITING, GAVE_UP)) return false;
        queue.runOnOwner(() -> {
            if (queue.cancel(fd, kind, this)) owned.passTurn(kind); // a closed queue holds no waiter
        });
        return true;
    }

    /** The thread stops waiting for its turn (GAVE_UP): {@link TurnPause#leave}. */
    private void leaveTurn() {
        TurnPause.leave((int) STATE.getAndSet(this, GAVE_UP), turnPassed, queue, owned, kind, this);
    }

    private void register() {
        if ((int) STATE.getVolatile(this) != WAITING) { // the thread gave up before it got here
            owned.passTurnOn(kind, this); // a turn handed to it, if any, goes to the next
            return;
        }
        try {
            if (!PostedWaits.registerOrDropped(owned, () -> queue.await(fd, owned, kind, this))) finish(DROPPED);
        } catch (SecondWaiterException e) {
            // Refused before it waited: the thread takes a later turn, queued for it.
            owned.awaitTurn(kind, this);
            turnPassed = e.turnPassed();
            finish(BUSY);
        } catch (RuntimeException e) {
            failure = e;
            finish(FAILED);
        }
    }

    private void finish(int outcome) {
        if (STATE.compareAndSet(this, WAITING, outcome)) LockSupport.unpark(thread);
    }

    @Override
    public void ready(int fd, int mask) {
        events = mask;
        finish(READY);
        owned.passTurn(kind);
    }

    @Override
    public void dropped(int fd) {
        finish(DROPPED);
        owned.passTurn(kind);
    }

    @Override
    public boolean callEnded() {
        int state = (int) STATE.getVolatile(this);
        return state == READY || state == DROPPED || state == FAILED || state == GAVE_UP;
    }

    @Override
    public boolean waitsForTurn() {
        return TurnPause.waiting((int) STATE.getVolatile(this));
    }

    @Override
    public boolean takeTurn() {
        return TurnPause.hand(STATE, this, thread);
    }

    @Override
    public boolean yieldsToLoop() {
        return true;
    }

    @Override
    public void yieldPlace() {
        turnPassed = false; // the loop's own may be a callback, which does not tell: ask again shortly
        finish(BUSY); // the loop's own wait took the place: the thread asks again shortly
        owned.passTurn(kind); // the threads queued behind it learn who holds it now
    }

    @Override
    public boolean abandoned() {
        return (int) STATE.getVolatile(this) == GAVE_UP;
    }
}
