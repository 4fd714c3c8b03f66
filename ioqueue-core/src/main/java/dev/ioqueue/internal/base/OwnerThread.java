package dev.ioqueue.internal.base;

import java.lang.ref.WeakReference;

/**
 * A queue's owner thread, held weakly. A thread that has ended still holds its {@code Runnable}
 * (and so whatever that captured, often the queue itself); a queue that held its ended owner
 * strongly would keep it from its Cleaner through any path from a GC root into the queue's state
 * (a Cleaner action's bound fds, its pending futures). A live thread is always reachable, so a
 * cleared reference means an ended thread. The name is kept for messages, as last seen. Any thread.
 */
public final class OwnerThread {
    private final WeakReference<Thread> thread;
    private final String name;

    public OwnerThread(Thread thread) {
        this.thread = new WeakReference<>(thread);
        this.name = thread.getName();
    }

    /** Whether the calling thread is the owner (no strong reference made: {@link WeakReference#refersTo}). */
    public boolean isCurrent() {
        return thread.refersTo(Thread.currentThread());
    }

    /** Whether the owner has ended. */
    public boolean ended() {
        Thread t = thread.get();
        return t == null || !t.isAlive();
    }

    /** Its name now, or as last seen once it is gone. */
    public String name() {
        Thread t = thread.get();
        return t != null ? t.getName() : name;
    }

    /** The thread, or null once it ended and was collected. */
    public Thread get() {
        return thread.get();
    }
}
