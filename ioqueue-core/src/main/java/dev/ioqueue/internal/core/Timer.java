package dev.ioqueue.internal.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One scheduled task in a {@link TimerHeap}. Its state moves once, from pending to fired or to
 * cancelled, by CAS, so a cancelled timer never fires and {@link #cancel()} is exact from any thread.
 */
public final class Timer {
    private static final int PENDING = 0;
    private static final int FIRED = 1;
    private static final int CANCELLED = 2;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Timer.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final long deadline;
    long sequence; // set when it enters the heap; owner thread only
    private final TimerHeap heap;
    private Runnable task;
    private Runnable ifDropped;
    int index = -1; // position in the heap, -1 when out of it; owner thread only
    @SuppressWarnings("unused") // through STATE
    private volatile int state;

    Timer(TimerHeap heap, long deadline, Runnable task, Runnable ifDropped) {
        this.heap = heap;
        this.deadline = deadline;
        this.task = task;
        this.ifDropped = ifDropped;
    }

    /** Thread-safe. Whether this call stopped the timer; false once it fired or was cancelled. */
    public boolean cancel() {
        if (!STATE.compareAndSet(this, PENDING, CANCELLED)) return false;
        task = null;
        ifDropped = null;
        heap.onCancel(this);
        return true;
    }

    /** Claims the timer for running; returns its task, or null if it was cancelled. */
    Runnable fire() {
        if (!STATE.compareAndSet(this, PENDING, FIRED)) return null;
        Runnable t = task;
        task = null;
        ifDropped = null;
        return t;
    }

    /** Claims the timer for dropping (the queue closes); returns what to tell, or null. */
    Runnable drop() {
        if (!STATE.compareAndSet(this, PENDING, CANCELLED)) return null;
        Runnable d = ifDropped;
        task = null;
        ifDropped = null;
        return d;
    }

    boolean cancelled() {
        return (int) STATE.getVolatile(this) == CANCELLED;
    }

    boolean before(Timer other) {
        return deadline != other.deadline ? deadline - other.deadline < 0 : sequence < other.sequence;
    }
}
