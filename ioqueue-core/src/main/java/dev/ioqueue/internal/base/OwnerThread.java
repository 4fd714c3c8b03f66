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
    /** Its name as last seen alive (for messages once it is gone). */
    private volatile String name;
    /** Latched once it is seen ended: from then on the reference is never read again. */
    private volatile boolean ended;

    public OwnerThread(Thread thread) {
        this.thread = new WeakReference<>(thread);
        this.name = thread.getName();
    }

    /** Whether the calling thread is the owner (no strong reference made: {@link WeakReference#refersTo}). */
    public boolean isCurrent() {
        return thread.refersTo(Thread.currentThread());
    }

    /**
     * Whether the owner has ended. Called periodically (the watchdog): once it has ended, it answers
     * without {@link WeakReference#get()}, which during a concurrent marking would keep the thread
     * (and all it holds) alive for that cycle.
     */
    public boolean ended() {
        if (ended) return true;
        if (thread.refersTo(null)) return ended = true;
        Thread t = thread.get();
        if (t != null && t.isAlive()) return false;
        return ended = true;
    }

    /** Its name now, or as last seen alive once it has ended. */
    public String name() {
        if (ended()) return name;
        Thread t = thread.get();
        if (t == null) return name;
        String now = t.getName();
        name = now;
        return now;
    }

    /** The thread, or null once it ended (whether collected or not: nothing is asked of an ended owner). */
    public Thread get() {
        return ended() ? null : thread.get();
    }
}
