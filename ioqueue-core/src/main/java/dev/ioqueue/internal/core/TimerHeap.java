package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.OwnerThread;
import dev.ioqueue.internal.base.Failures;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * The queue's timers: a binary min-heap by deadline, then by scheduling order, so timers fire in
 * deadline order and ties in FIFO order. Owner thread only, except {@link Timer#cancel()}, which
 * from another thread marks the timer and posts its removal to the owner.
 */
public final class TimerHeap {
    private final OwnerThread owner;
    private final Consumer<Runnable> toOwner;
    private Timer[] heap = new Timer[16];
    private int size;
    private long sequence;

    /** @param toOwner posts a task to the owner thread (dropping it once the queue is closed) */
    public TimerHeap(Thread owner, Consumer<Runnable> toOwner) {
        this.owner = new OwnerThread(owner);
        this.toOwner = toOwner;
    }

    /** A timer for {@code task} at {@code deadline} ({@link System#nanoTime()} scale); any thread. */
    public Timer newTimer(long deadline, Runnable task, Runnable ifDropped) {
        return new Timer(this, deadline, task, ifDropped);
    }

    /** Queues a timer made by {@link #newTimer}, unless it was cancelled meanwhile. */
    public void add(Timer t) {
        if (t.cancelled()) return;
        t.sequence = sequence++;
        if (size == heap.length) heap = Arrays.copyOf(heap, size * 2);
        t.index = size;
        heap[size++] = t;
        siftUp(t.index);
    }

    public boolean isEmpty() {
        return size == 0;
    }

    public int size() {
        return size;
    }

    /** The earliest deadline; only when not empty. */
    public long nextDeadline() {
        return heap[0].deadline;
    }

    /** Removes the earliest timer if due at {@code now} and returns its task (null when none is due). */
    public Runnable pollDue(long now) {
        while (size > 0 && heap[0].deadline - now <= 0) {
            Timer t = heap[0];
            removeAt(0);
            Runnable task = t.fire();
            if (task != null) return task;
        }
        return null;
    }

    void onCancel(Timer t) {
        if (owner.isCurrent()) removeIfQueued(t); // no allocation on the owner
        else toOwner.accept(() -> removeIfQueued(t));
    }

    private void removeIfQueued(Timer t) {
        if (t.index >= 0) removeAt(t.index);
    }

    private void removeAt(int i) {
        Timer removed = heap[i];
        removed.index = -1;
        int last = --size;
        if (i != last) {
            Timer moved = heap[last];
            heap[i] = moved;
            moved.index = i;
            heap[last] = null;
            siftDown(i);
            if (heap[i] == moved) siftUp(i);
        } else {
            heap[last] = null;
        }
    }

    private void siftUp(int i) {
        Timer t = heap[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            Timer p = heap[parent];
            if (!t.before(p)) break;
            heap[i] = p;
            p.index = i;
            i = parent;
        }
        heap[i] = t;
        t.index = i;
    }

    private void siftDown(int i) {
        Timer t = heap[i];
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            int right = child + 1;
            if (right < size && heap[right].before(heap[child])) child = right;
            if (!heap[child].before(t)) break;
            heap[i] = heap[child];
            heap[i].index = i;
            i = child;
        }
        heap[i] = t;
        t.index = i;
    }

    /**
     * Drops every timer (the queue is closing), running the {@code ifDropped} of each that has one;
     * returns {@code failure} with what they threw added.
     */
    public Throwable clear(Throwable failure) {
        while (size > 0) {
            Timer t = heap[size - 1];
            removeAt(size - 1);
            Runnable ifDropped = t.drop();
            if (ifDropped == null) continue;
            try {
                ifDropped.run();
            } catch (Throwable e) {
                failure = Failures.add(failure, e);
            }
        }
        return failure;
    }
}
