package dev.ioqueue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The holder of {@link IoQueue#shared()}: one daemon platform thread that runs its queue forever
 * (held, so it waits for work from other threads). A failure to create the queue (EMFILE) is
 * thrown to the caller and the next call tries again.
 */
final class SharedQueue {
    private static volatile IoQueue queue;
    /** Counts the closes handed to this queue from other threads; a wait remembers the count it began at. */
    private static final java.util.concurrent.atomic.AtomicLong CLOSES = new java.util.concurrent.atomic.AtomicLong();
    /** fd -> the count of its last close handed here. Owner thread only. */
    private static final java.util.HashMap<Integer, Long> CLOSED_AT = new java.util.HashMap<>();

    private SharedQueue() {}

    /**
     * A wait or operation for {@code fd} is about to be posted to {@code q}: on this queue, the fd is
     * published first (a close on any thread from now on drops it, even on its way), and the count
     * of closes so far is returned for {@link #closedBeforeStart}. Thread-safe.
     */
    static long requested(IoQueue q, int fd) {
        if (!isShared(q)) return 0;
        long at = CLOSES.get();
        dev.ioqueue.internal.PublishedFds.add(fd);
        return at;
    }

    /**
     * Runs {@code register} (an await or submit on {@code q}'s thread), again once if it meets a
     * {@link PrematureCloseError} on this queue: an earlier waiter's fd of that number was closed
     * behind its back and the number came back; that waiter has been told, and this one is for the
     * new file.
     */
    static void registerOnce(IoQueue q, Runnable register) {
        try {
            register.run();
        } catch (PrematureCloseError stale) {
            if (!isShared(q)) throw stale;
            register.run();
        }
    }

    /**
     * Whether {@code fd} was closed, through a hand-off to this queue, after a wait asked for when
     * the count was {@code requestedAt}: that wait was meant for the closed file. Owner thread.
     */
    static boolean closedSince(int fd, long requestedAt) {
        Long at = CLOSED_AT.get(fd);
        if (at == null) return false;
        if (at > requestedAt) return true;
        CLOSED_AT.remove(fd); // every wait asked for before that close has been registered or dropped
        return false;
    }

    /**
     * Whether a wait or operation asked of queue {@code q} for {@code fd} when the count of closes
     * was {@code requestedAt} must be dropped: {@code q} is this queue and the number is being
     * closed, or was closed since. Owner thread of {@code q}.
     */
    static boolean closedBeforeStart(IoQueue q, int fd, long requestedAt) {
        return isShared(q) && (dev.ioqueue.internal.PublishedFds.isClosing(fd) || closedSince(fd, requestedAt));
    }

    /** Whether {@code q} is the shared queue. Thread-safe. */
    static boolean isShared(IoQueue q) {
        return q != null && q == queue;
    }

    static IoQueue get() {
        IoQueue q = queue;
        return q != null ? q : start();
    }

    private static synchronized IoQueue start() {
        if (queue != null) return queue;
        CompletableFuture<IoQueue> started = new CompletableFuture<>();
        Thread thread = Thread.ofPlatform().name("ioqueue-background").daemon(true).unstarted(() -> serve(started));
        thread.start();
        try {
            queue = started.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw e;
        }
        return queue;
    }

    /**
     * {@code fd} is about to be closed on another thread: if this queue holds it, its waiters are
     * dropped (a blocked virtual thread gets {@link WaitDroppedException}, a future completes so)
     * before the close, instead of waiting on a closed fd. The caller waits for that hand-off, and
     * calls {@link #closeDone} after the close if this returns true.
     */
    static boolean releaseBeforeClose(int fd) {
        IoQueue q = queue;
        if (q == null || q.isOwnerThread()) return false;
        // Marked closing first: a registration that slips in between the lookup below and the
        // close(2) sees it and is dropped, instead of landing on the dying file.
        dev.ioqueue.internal.PublishedFds.beginClose(fd);
        long close = CLOSES.incrementAndGet(); // before the lookup: a wait published after it began after the close
        if (!dev.ioqueue.internal.PublishedFds.contains(fd)) return true;
        CompletableFuture<Void> released = new CompletableFuture<>();
        boolean posted = q.runOnOwner(() -> {
            try {
                CLOSED_AT.put(fd, close); // a registration for it still on its way is dropped too
                q.releaseBeforeClose(fd);
            } finally {
                released.complete(null);
            }
        });
        if (posted) released.join();
        return true;
    }

    /** The close that {@link #releaseBeforeClose} prepared is done. Thread-safe. */
    static void closeDone(int fd) {
        dev.ioqueue.internal.PublishedFds.endClose(fd);
    }

    private static void serve(CompletableFuture<IoQueue> started) {
        IoQueue q;
        try {
            q = IoQueue.current();
        } catch (Throwable t) {
            started.completeExceptionally(t);
            return;
        }
        q.publishFds();
        q.hold(); // serve forever: the thread is a daemon
        started.complete(q);
        while (true) {
            try {
                q.run();
            } catch (Throwable t) { // a waiter's callback threw: report it, keep serving
                Thread self = Thread.currentThread();
                self.getUncaughtExceptionHandler().uncaughtException(self, t);
            }
        }
    }
}
