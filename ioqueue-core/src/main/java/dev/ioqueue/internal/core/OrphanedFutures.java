package dev.ioqueue.internal.core;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One queue's futures still pending ({@code whenReady}, {@code Connect.future}). When a queue's
 * owner thread ends without closing it, what it had accepted stays unrun: a callback waits for its
 * own thread, which is gone (threading.md). A future is not tied to that thread: another thread
 * holds it and may be waiting on it, and anyone may complete it. So once the owner is found ended
 * with the queue open, by the watchdog's next look (every half threshold), by a close of a handle
 * bound to the queue, or by the queue's Cleaner, each future still pending is told, once. Any
 * thread; a future is added before it is posted to the owner and removed when it completes.
 */
public final class OrphanedFutures {
    /** A future of the queue, told if its owner thread ends with the queue open. */
    public interface Future {
        /**
         * The queue's owner thread ended without closing it: complete exceptionally. With
         * {@code inPlace}, the caller is a user's thread (a handle's close), where the future may
         * complete; else a library thread (the watchdog, the Cleaner), which must run no stage of
         * the user's: complete on another thread.
         */
        void ownerEnded(boolean inPlace);
    }

    private final Ownership ownership;
    private final Set<Future> pending = ConcurrentHashMap.newKeySet();

    OrphanedFutures(Ownership ownership) {
        this.ownership = ownership;
    }

    public void add(Future f) {
        pending.add(f);
    }

    public void remove(Future f) {
        pending.remove(f);
    }

    /** If the owner thread ended and the queue is open: tells each pending future (the one that removes it tells it). */
    void tellIfOwnerEnded(boolean inPlace) {
        if (pending.isEmpty() || ownership.isClosed() || !ownership.ownerEnded()) return;
        for (Future f : pending) {
            if (pending.remove(f)) f.ownerEnded(inPlace);
        }
    }
}
