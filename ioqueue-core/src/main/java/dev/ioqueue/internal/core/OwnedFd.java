package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.base.Failures;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.Unistd;
import dev.ioqueue.internal.uring.RingEngine;
import dev.ioqueue.internal.uring.RingStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;

/**
 * One owned fd (the API's {@code Handle}): bound to one queue, which runs its waits, its
 * operations and its close, and closed exactly once. Identity is this object, never the number:
 * the number stays the fd's until {@code close(2)}, which comes only after its queue dropped its
 * waits and operations and the kernel let go of every ring request on it.
 *
 * <p><b>State</b>, one atomic word: the count of threads inside a syscall on the fd off its queue
 * ({@link #acquire}/{@link #release}: a blocking read on a virtual thread), and four steps that
 * each happen once: CLOSING (asked; nothing new may start), TOLD (the threads blocked on it were
 * told, by whoever set CLOSING), RELEASED (its queue let go) and CLOSED ({@code close(2)} done, by
 * whoever saw TOLD and RELEASED with no thread inside). So the number is never closed before the
 * blocked threads' pollers let go of it: a tell arriving after the close would drop the waits of
 * whatever file took the number meanwhile. The binding is set once, under its queue's lock
 * ({@link QueueCore#bind}).
 *
 * <p><b>Threads blocked on it off its queue</b> (a virtual thread parked in a blocking call, which
 * waits through the blocking pollers, not through its queue) are woken by whoever sets CLOSING:
 * the pollers, once started, are told of every close ({@link #closesTold}; before any thread can
 * wait in them), before anything else, on the closing thread; so are threads waiting on its bare
 * number there.
 *
 * <p>Thread-safe, except the fields its queue's owner thread keeps ({@link #stream}).
 */
public final class OwnedFd {
    private static final int USERS = (1 << 27) - 1;
    private static final int TOLD = 1 << 27;
    private static final int CLOSING = 1 << 28;
    private static final int RELEASED = 1 << 29;
    private static final int CLOSED = 1 << 30;
    private static final VarHandle STATE;
    private static final VarHandle QUEUE;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            STATE = lookup.findVarHandle(OwnedFd.class, "state", int.class);
            QUEUE = lookup.findVarHandle(OwnedFd.class, "queue", QueueCore.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    public final int fd;
    /** What the API calls it in messages ("Handle", "TimerFd"...). */
    private final String kind;
    @SuppressWarnings("unused") // through STATE
    private volatile int state;
    @SuppressWarnings("unused") // through QUEUE
    private volatile QueueCore queue;
    /** Whether O_NONBLOCK was found set (checked once, before its first operation). */
    volatile boolean nonBlocking;
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    /** Where threads wait on it outside its queue, or null while none ever did. */

    // Owner thread of its queue:
    /** Its completion I/O state on a ring queue, made by its first ring operation. */
    RingStream stream;
    /** Its place in its queue's list of owned fds, or -1. */
    int index = -1;
    /** Its queue has begun letting go of it. */
    boolean ownerClosing;
    /** Blocked threads refused a place on it, waiting for their turn; null until the first (owner thread of its queue). */
    private TurnQueue turns;

    /**
     * Queues {@code w}, a blocked thread's wait just refused the place of {@code kind} (bits index of
     * {@code Interest}), for its turn: woken by {@link #passTurn}. Owner thread of its queue.
     */
    public void awaitTurn(int kind, Waiter w) {
        if (turns == null) turns = new TurnQueue();
        turns.add(kind, w);
    }

    /**
     * The place of {@code kind} on it was let go (its holder ended or gave it up): the first thread
     * waiting for a turn asks again now; once it is closing, every one does (and learns it). Owner
     * thread of its queue.
     */
    public void passTurn(int kind) {
        if (turns != null) turns.pass(kind, !isOpen(), null);
    }

    /** {@code leaving} stopped waiting without asking: if it was handed the turn of {@code kind}, the next one has it. Owner thread of its queue. */
    public void passTurnOn(int kind, Waiter leaving) {
        if (turns != null) turns.pass(kind, !isOpen(), leaving);
    }

    /** The blocked thread's wait that {@code incoming} must queue behind for {@code kind} (its turn is being handed), or null. Owner thread of its queue. */
    Waiter turnAheadOf(int kind, Object incoming) {
        return turns == null ? null : turns.aheadOf(kind, incoming);
    }

    public OwnedFd(int fd, String kind) {
        if (fd < 0) throw new IllegalArgumentException("fd " + fd + " is negative");
        this.fd = fd;
        this.kind = kind;
    }

    /**
     * Threads that wait on owned fds outside their queues: told, by the thread that sets CLOSING,
     * that {@code o} is closing, so every thread parked on it wakes (and makes no syscall on it
     * again). Must not block, nor run user code.
     */
    public interface BlockedThreads {
        void closing(OwnedFd o);
    }

    /** Where threads wait on owned fds outside their queues, told of every close from now on; null until then. */
    private static volatile BlockedThreads closesTold;

    /** From now on, every close tells {@code where} first. Set once, before any thread waits there. */
    public static void closesTold(BlockedThreads where) {
        closesTold = where;
    }

    /** The thread that set CLOSING tells the blocked threads, then sets TOLD (whatever the tell threw). */
    private void closing() {
        try {
            BlockedThreads b = closesTold;
            if (b != null) b.closing(this);
        } finally {
            closeIfDue((int) STATE.getAndBitwiseOr(this, TOLD) | TOLD);
        }
    }

    /** {@code s} is the state a step left: if told, released and with no thread inside, closes now (once). */
    private void closeIfDue(int s) {
        if ((s & (USERS | TOLD | RELEASED)) == (TOLD | RELEASED)) closeNow();
    }

    /** Where threads wait on owned fds outside their queues now (tests wrap it). */
    static BlockedThreads toldOfCloses() {
        return closesTold;
    }

    /** The queue it is bound to, or null. */
    public QueueCore queue() {
        return queue;
    }

    /** Binds it to {@code q} if unbound; the caller holds {@code q}'s lock. Whether it is now bound to {@code q}. */
    boolean bindTo(QueueCore q) {
        return QUEUE.compareAndSet(this, null, q) || queue == q;
    }

    /** Whether {@code close} has not been asked for. */
    public boolean isOpen() {
        return ((int) STATE.getVolatile(this) & CLOSING) == 0;
    }

    /**
     * The fd, for a syscall the caller makes on its queue's thread.
     *
     * @throws IllegalStateException once closed
     */
    public int fd() {
        if (!isOpen()) throw closedException();
        return fd;
    }

    public IllegalStateException closedException() {
        return new IllegalStateException(this + " is closed");
    }

    /**
     * Enters a syscall on the fd from a thread other than its queue's: until {@link #release}, the
     * fd is not closed (a close waits for it). False once closing: make no syscall then.
     */
    public boolean acquire() {
        while (true) {
            int s = (int) STATE.getVolatile(this);
            if ((s & CLOSING) != 0) return false;
            if (STATE.compareAndSet(this, s, s + 1)) return true;
        }
    }

    /** Leaves the syscall {@link #acquire} entered; the last one out of a released fd closes it. */
    public void release() {
        closeIfDue((int) STATE.getAndAdd(this, -1) - 1);
    }

    /** Asks for the close; true if this call did (the caller then carries it out), false if it was asked already. */
    public boolean beginClose() {
        while (true) {
            int s = (int) STATE.getVolatile(this);
            if ((s & CLOSING) != 0) return false;
            if (STATE.compareAndSet(this, s, s | CLOSING)) {
                closing();
                return true;
            }
        }
    }

    /**
     * Its queue (or, unbound, its closer) let go of it: closes it now, or when the last syscall off
     * its queue returns, or when the thread that set CLOSING has told the blocked threads.
     */
    void released() {
        int s = (int) STATE.getAndBitwiseOr(this, RELEASED | CLOSING);
        if ((s & CLOSING) == 0) closing(); // closes once told, if no thread is inside
        else if ((s & RELEASED) == 0) closeIfDue(s | RELEASED);
    }

    private void closeNow() {
        int s = (int) STATE.getAndBitwiseOr(this, CLOSED);
        if ((s & CLOSED) != 0) return;
        int r = Unistd.close(fd, Native.threadErrno());
        NonBlocking.closed(fd, r); // a verdict kept on the number elsewhere (a plain-fd call's) goes with it
        if (r < 0 && r != -Errno.EINTR) { // EINTR: Linux has released the fd
            closed.completeExceptionally(Errors.syscall("close", fd, -r, kind + "'s fd was closed behind its back?"));
        } else {
            closed.complete(null);
        }
    }

    /**
     * Closes it from any thread: its queue drops its waits and operations (each told once), waits
     * until the kernel let go of its ring requests, then {@code close(2)}; until then the number is
     * its own. Unbound, it closes at once. With {@code wait}, returns once closed; without, as soon
     * as the close is under way. The call that began the close throws what {@code close(2)} failed
     * with if it was done by then (run in place, or waited for); a later call does nothing more.
     */
    public void close(boolean wait) {
        QueueCore bound = queue;
        if (bound == null || !isOpen()) {
            closeAsked(wait);
            return;
        }
        Throwable failure = null;
        try {
            bound.settleStagedWrites(); // on its owner thread only
        } catch (Throwable t) {
            failure = t;
        }
        try {
            closeAsked(wait);
        } catch (Throwable t) {
            failure = Failures.add(failure, t);
        }
        Failures.rethrow(failure);
    }

    private void closeAsked(boolean wait) {
        boolean first = beginClose();
        if (first) {
            QueueCore q = queue; // read after CLOSING is set: a bind racing this either saw it or is seen here
            if (q == null) {
                released();
            } else if (!q.runOnOwner(() -> q.release.close(this))) {
                // The queue is closed (its close lets go of every fd bound to it, this one too) or its
                // owner thread ended without closing it (the kernel ended its ring requests then).
                if (q.ownership.ownerEnded()) {
                    released();
                    q.futures.tellIfOwnerEnded(this); // a future on this handle was promised its close
                }
            }
        }
        if (wait) awaitClosed();
        if (first && closed.isCompletedExceptionally()) { // done, and failed (EBADF: closed behind its back)
            if (closed.exceptionNow() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(closed.exceptionNow());
        }
    }

    /** Waits until {@code close(2)} was done (or failed: {@link #whenClosed} says). */
    private void awaitClosed() {
        boolean interrupted = false;
        while (true) {
            try {
                closed.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (java.util.concurrent.ExecutionException e) {
                break;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Whether {@code close(2)} was done. */
    public boolean isClosed() {
        return closed.isDone();
    }

    /** A stage of the close, done once {@code close(2)} was (or failed): its dependents run on the closing thread. */
    public java.util.concurrent.CompletionStage<Void> whenClosed() {
        return closed.minimalCompletionStage();
    }

    /**
     * Any thread: what its queue's ring last published for a look ({@link RingStream#lookState}:
     * bytes kept for the next read, a ring read armed); 0 with no ring.
     */
    public int ringLookState() {
        RingStream s = stream; // made once by the owner; a look that misses it saw nothing kept yet
        return s == null ? 0 : s.lookState();
    }

    /** Its ring stream on {@code engine}, made on first use. Owner thread of its queue. */
    RingStream stream(RingEngine engine) {
        RingStream s = stream;
        if (s == null) stream = s = engine.open(fd);
        return s;
    }

    @Override
    public String toString() {
        int s = (int) STATE.getVolatile(this);
        return kind + "[fd " + fd + ((s & CLOSED) != 0 ? ", closed]" : (s & CLOSING) != 0 ? ", closing]" : "]");
    }
}
