package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.OwnerThread;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;

/**
 * A queue's owner thread and life state (open, looping, closing, closed), and the checks every
 * method of the facade starts with, each with a message that names the method and the threads.
 */
public final class Ownership {
    private final OwnerThread owner;
    private boolean looping;
    private volatile boolean closed;
    /** Closing: the tasks accepted before are running, and what they ask for is dropped, not refused. */
    private boolean draining;
    /** How many drops told at once by {@link #dropAtOnce} the calling thread is inside (any queue's). */
    private static final ThreadLocal<int[]> NESTED_DROPS = ThreadLocal.withInitial(() -> new int[1]);

    public Ownership(Thread owner) {
        this.owner = new OwnerThread(owner);
    }

    /** The owner thread, or null once it has ended (held weakly: {@link OwnerThread}). Any thread. */
    public Thread owner() {
        return owner.get();
    }

    /** The owner thread's name (as last seen alive, once it has ended). Any thread. */
    public String ownerName() {
        return owner.name();
    }

    /** Any thread. */
    public boolean isOwner() {
        return owner.isCurrent();
    }

    /** Any thread. */
    public boolean isClosed() {
        return closed;
    }

    /** Owner thread. Whether {@code close()} is running what was accepted before it (then waits are dropped, not refused). */
    public boolean isDraining() {
        return draining;
    }

    void draining(boolean on) {
        draining = on;
    }

    /**
     * Tells {@code drop} at once, on the calling thread (what a call on a closing or closed queue
     * was given is dropped), unless the call comes from inside {@link QueueCore#MAX_NESTED_SUBMITS}
     * such drops already (a drop that asks again, and again): then the call {@code method} throws,
     * so a reconnect-on-drop loop ends with a clear exception instead of a stack overflow. Any thread.
     */
    public void dropAtOnce(String method, Runnable drop) {
        int[] nested = NESTED_DROPS.get();
        if (nested[0] >= QueueCore.MAX_NESTED_SUBMITS) {
            throw new IllegalStateException(method + "() on a " + (draining ? "closing" : "closed") + " queue (thread " + owner.name()
                    + ") from inside " + QueueCore.MAX_NESTED_SUBMITS
                    + " nested drops: each such call is dropped at once; stop asking again when dropped");
        }
        nested[0]++;
        try {
            drop.run();
        } finally {
            nested[0]--;
        }
    }

    /** Owner thread. Whether the loop is under way (the caller runs inside it). */
    public boolean isLooping() {
        return looping;
    }

    /** Throws unless called on the owner thread. */
    public void check(String method) {
        if (!owner.isCurrent()) {
            throw new IllegalStateException(method + "() called on thread " + Thread.currentThread().getName()
                    + ", but this queue belongs to thread " + owner.name());
        }
    }

    /** Throws unless called on the owner thread of an open queue. */
    public void checkOpen(String method) {
        check(method);
        if (closed) throw new IllegalStateException(method + "() on a closed queue (thread " + owner.name() + ")");
    }

    /** {@link #checkOpen}, then marks the loop under way; throws if it already is (not re-entrant). */
    public void enterLoop(String method) {
        checkOpen(method);
        if (looping) {
            throw new IllegalStateException(method + "() called from inside run()/runOnce()/poll() of this queue"
                    + " (a callback, task or coroutine of the loop): the loop is not re-entrant");
        }
        looping = true;
    }

    public void exitLoop() {
        looping = false;
    }

    /** Owner thread. Marks the queue closed; false if it already was. Refused from inside the loop. */
    public boolean close() {
        check("close");
        if (closed) return false;
        if (looping) throw new IllegalStateException("close() from inside run()/poll(): close the queue after it returns");
        closed = true;
        return true;
    }

    public RejectedExecutionException rejected() {
        return new RejectedExecutionException("the queue of thread " + owner.name() + " is closed");
    }

    /** Any thread. Whether the owner thread has ended: nothing posted to the queue would ever run. */
    public boolean ownerEnded() {
        return owner.ended();
    }

    /** Why the queue refuses what is posted to it: closed, or its thread ended without closing it. Any thread. */
    public String whyRefused() {
        return !closed && ownerEnded() ? "the thread " + owner.name() + " of its queue ended without closing it" : "its queue is closed";
    }

    public RejectedExecutionException ownerEndedRejection() {
        return new RejectedExecutionException("the owner thread " + owner.name() + " of this queue has ended: nothing posted would run");
    }

    /** {@code d} in nanoseconds, saturated instead of overflowing. */
    public static long nanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException overflow) {
            return d.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }
}
