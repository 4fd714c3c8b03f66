package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Failures;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One queue's futures still pending ({@code whenReady}, {@code Connect.future}), and its connects
 * under way, whose sockets nothing else would close. When a queue's
 * owner thread ends without closing it, what it had accepted stays unrun: a callback waits for its
 * own thread, which is gone (threading.md). A future is not tied to that thread: another thread
 * holds it and may be waiting on it, and anyone may complete it. So once the owner is found ended
 * with the queue open, by the watchdog (every half threshold; once a second with the watch off),
 * by a close of a handle bound to the queue, or by the queue's Cleaner, each future still pending
 * is told. Any thread; a future is added before it is posted to the owner and removed when it
 * completes, however it completes.
 */
public final class OrphanedFutures {
    /** A future of the queue, or a connect under way, told if its owner thread ends with the queue open. */
    public interface Orphan {
        /**
         * The queue's owner thread ended without closing it: complete exceptionally (a connect:
         * close its sockets), perhaps told again until it has. {@code closing} is the handle whose close found it (its own future
         * completes on that closing thread, before the close returns), or null (the watchdog, the
         * Cleaner: no stage of the user's may run on those threads, so on another).
         */
        void ownerEnded(OwnedFd closing);
    }

    private final Ownership ownership;
    private final Set<Orphan> pending = ConcurrentHashMap.newKeySet();

    OrphanedFutures(Ownership ownership) {
        this.ownership = ownership;
    }

    public void add(Orphan f) {
        pending.add(f);
    }

    public void remove(Orphan f) {
        pending.remove(f);
    }

    /**
     * If the owner thread ended and the queue is open: tells each pending future. What one throws
     * (out of memory for a thread to complete it on) does not keep the others from being told; the
     * first throw propagates after.
     */
    void tellIfOwnerEnded(OwnedFd closing) {
        if (pending.isEmpty() || ownership.isClosed() || !ownership.ownerEnded()) return;
        Throwable failure = null;
        for (Orphan f : pending) {
            try {
                f.ownerEnded(closing);
            } catch (Throwable t) {
                failure = Failures.add(failure, t);
            }
        }
        Failures.rethrow(failure);
    }
}
