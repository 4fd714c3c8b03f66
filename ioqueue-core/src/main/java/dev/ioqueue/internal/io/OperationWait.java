package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.core.Operation;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.core.SecondWaiterException;
import dev.ioqueue.internal.core.Transfer;
import dev.ioqueue.internal.core.Yielding;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * A thread blocked on an I/O operation that runs on an owned fd's queue: the way a blocking call
 * reads an fd whose bytes a ring keeps (they belong to its queue, in order). The operation is
 * posted to the queue; the thread parks until it ends. An interrupt withdraws it exactly: the
 * thread waits for the queue's answer, so either nothing moved, or what moved is reported. Several
 * threads blocked on one handle take turns: one at a time holds the queue's one operation of an
 * event on the fd (as the loop's own operation may); the others wait in the fd's turn queue and the
 * first is woken when the place is let go ({@link OwnedFd#passTurn}), or ask again shortly if the
 * holder is the loop's own, which does not tell.
 */
final class OperationWait implements Operation.Hooks, Yielding {
    private static final int WAITING = 0;
    private static final int DONE = 1;
    private static final int FAILED = 2;
    private static final int DROPPED = 3;
    private static final int BUSY = TurnPause.BUSY;
    private static final VarHandle STATE;
    /** Phases of a posting: on its way to the queue, submitted there, or given up before it got there. */
    private static final int POSTED = 0;
    private static final int SUBMITTED = 1;
    private static final int ABANDONED = 2;
    private static final VarHandle PHASE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(OperationWait.class, "state", int.class);
            PHASE = MethodHandles.lookup().findVarHandle(OperationWait.class, "phase", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Thread thread = Thread.currentThread();
    @SuppressWarnings("unused") // through STATE
    private volatile int state;
    @SuppressWarnings("unused") // through PHASE
    private volatile int phase;
    private long result;
    private IOException failure;
    private RuntimeException refused;
    /**
     * The last refusal's holder tells the turn queue when it lets go: no need to ask before.
     * Written on the queue's thread before the state becomes BUSY, read by the blocked thread after
     * it saw BUSY.
     */
    private boolean turnPassed;
    /** How often a blocked call looks whether its queue's thread has ended. */
    static final long ORPHAN_CHECK_NANOS = 1_000_000_000L;

    private OperationWait() {}

    /**
     * Runs {@code transfer} for {@code kind} on {@code o} in its queue {@code q} and blocks until it
     * ends: its result ({@code -1} at end-of-file).
     *
     * @throws InterruptedIOException if interrupted before anything moved (the operation withdrawn)
     */
    static long run(QueueCore q, OwnedFd o, int kind, Transfer transfer) throws IOException {
        if (Thread.currentThread().isInterrupted()) throw BlockingWait.interrupted(o.fd);
        OperationWait w = new OperationWait();
        Operation op = new Operation(kind, w, transfer);
        w.post(q, o, op);
        boolean interrupted = false;
        boolean withdrawn = false;
        boolean orphaned = false;
        TurnPause turn = new TurnPause();
        while (true) {
            int state = (int) STATE.getVolatile(w);
            if (TurnPause.waiting(state)) {
                // Another waiter of this event holds the fd in its queue (another thread blocked
                // on it, or the loop's own operation): nothing moved; try again when it may be done.
                // Woken when the holder lets go if it tells (the orphan check's period bounds the
                // wait, in case the turn went to a thread that was asking again meanwhile).
                long pause = turn.pause(state, w.turnPassed);
                if (!interrupted && pause > 0) TurnPause.sleep(STATE, w, pause);
                if (interrupted || Thread.interrupted()) {
                    interrupted = withdrawn = true;
                    w.leaveTurn(q, o, op);
                    break;
                }
                if (q.ownerEnded()) {
                    orphaned = true;
                    w.leaveTurn(q, o, op);
                    break;
                }
                STATE.setVolatile(w, WAITING);
                w.post(q, o, op);
                continue;
            }
            if (state != WAITING) break;
            // Timed: a queue whose thread ends without closing it will never end this operation,
            // and nothing tells us; looked at once a second.
            LockSupport.parkNanos(w, ORPHAN_CHECK_NANOS);
            if (Thread.interrupted()) {
                interrupted = true;
                if (!withdrawn) {
                    withdrawn = true;
                    if (PHASE.compareAndSet(w, POSTED, ABANDONED)) {
                        w.finish(DROPPED); // its queue has not run the posting (a busy or idle loop): nothing moved, nothing will
                    } else {
                        boolean asked = q.runOnOwner(() -> {
                            if (op.cancel()) w.finish(DROPPED); // its end passed the turn on
                        });
                        if (!asked) w.finish(DROPPED); // no loop will run it: nothing more moves
                    }
                }
            }
            if ((int) STATE.getVolatile(w) == WAITING && q.ownerEnded()) {
                orphaned = true;
                w.finish(DROPPED);
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        return switch ((int) STATE.getVolatile(w)) {
            case DONE -> w.result;
            case DROPPED -> throw interrupted && withdrawn ? BlockingWait.interrupted(o.fd)
                    : orphaned ? orphaned(q, o)
                    : Errors.dropped(o.fd, "the fd was closed or unregistered, or its queue closed");
            default -> {
                if (w.refused != null) throw w.refused;
                throw w.failure;
            }
        };
    }

    /** Posts the submission of {@code op} to {@code q}; its answer comes as this wait's state. */
    private void post(QueueCore q, OwnedFd o, Operation op) throws IOException {
        PHASE.setVolatile(this, POSTED);
        boolean posted = q.runOnOwner(() -> {
            if (!PHASE.compareAndSet(this, POSTED, SUBMITTED)) { // the thread gave up before it got here
                o.passTurnOn(op.kind(), op); // a turn handed to it, if any, goes to the next
                return;
            }
            try {
                if (!PostedWaits.registerOrDropped(o, () -> q.submit(o.fd, o, op))) finish(DROPPED);
            } catch (SecondWaiterException e) {
                // Refused before anything moved: the caller takes a later turn, queued for it.
                o.awaitTurn(op.kind(), op);
                turnPassed = e.turnPassed();
                finish(BUSY);
            } catch (RuntimeException e) {
                refused = e;
                finish(FAILED);
            }
        });
        if (!posted) throw refused(q, o.fd);
    }

    /**
     * A handle bound to a queue whose thread ended without closing it: its operations can never
     * run (on either backend, as tokio's I/O resources fail once their runtime is gone).
     */
    static IOException orphaned(QueueCore q, OwnedFd o) {
        return Errors.dropped(o.fd, q.ownership.whyRefused() + (o.isOpen() ? " (close the handle)" : " (its handle is closed)"));
    }

    /**
     * Why {@code q} refused a wait or operation on {@code fd} posted to it: it is closed (its
     * thread may have ended since, a group's loop after its shutdown), or its thread ended without
     * closing it.
     */
    static IOException refused(QueueCore q, int fd) {
        return Errors.dropped(fd, q.ownership.whyRefused());
    }

    /** The thread stops waiting for its turn (DROPPED): {@link TurnPause#leave}. */
    private void leaveTurn(QueueCore q, OwnedFd o, Operation op) {
        TurnPause.leave((int) STATE.getAndSet(this, DROPPED), turnPassed, q, o, op.kind(), op);
    }

    private void finish(int outcome) {
        if (STATE.compareAndSet(this, WAITING, outcome)) LockSupport.unpark(thread);
    }

    @Override
    public long attempt(int fd) {
        throw new AssertionError("a transfer attempts");
    }

    @Override
    public void completed(int fd, long value) {
        result = value;
        finish(DONE);
    }

    @Override
    public void failed(int fd, IOException e) {
        failure = e;
        finish(FAILED);
    }

    @Override
    public void dropped(int fd) {
        finish(DROPPED);
    }

    @Override
    public boolean callEnded() {
        int state = (int) STATE.getVolatile(this);
        return state == DONE || state == FAILED || state == DROPPED;
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
    public void yielded() {
        turnPassed = false; // the loop's own may be a callback, which does not tell: ask again shortly
        finish(BUSY); // the loop's own operation took the place: the thread asks again shortly
    }
}
