package dev.ioqueue;

import dev.ioqueue.internal.PublishedFds;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The holder of {@link IoQueue#shared()}: one daemon platform thread that runs its queue forever
 * (held, so it waits for work from other threads). A failure to create the queue (EMFILE) is
 * thrown to the caller and the next call tries again.
 */
final class SharedQueue {
    private static volatile IoQueue queue;

    private SharedQueue() {}

    /**
     * A wait or operation for {@code fd} is about to be posted to {@code q}: on this queue, the fd is
     * published (a close on any thread from now on hands off to it), and where the number's closes
     * stand is returned for {@link #closedBeforeStart}. Thread-safe.
     */
    static int requested(IoQueue q, int fd) {
        return isShared(q) ? publish(fd, PublishedFds.settledCloses(fd)) : 0;
    }

    /** Publishes {@code fd} for a wait asked for when its closes stood at {@code askedAt}; returns that. */
    static int publish(int fd, int askedAt) {
        PublishedFds.add(fd);
        return askedAt;
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
     * Whether a wait or operation asked of queue {@code q} for {@code fd} when its closes stood at
     * {@code requestedAt} must be dropped: {@code q} is this queue, and a library close of the
     * number is running or began since, so it was meant for the closing file. Owner thread of {@code q}.
     */
    static boolean closedBeforeStart(IoQueue q, int fd, int requestedAt) {
        return isShared(q) && PublishedFds.closedSince(fd, requestedAt);
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
     * {@code fd} is about to be closed (its close begun, {@link PublishedFds#beginClose}): if this
     * queue holds it and the caller is another thread, its waiters are dropped (a blocked virtual
     * thread gets {@link WaitDroppedException}, a future completes so) before the close, instead of
     * waiting on a closed fd; the caller waits for that hand-off. A registration still on its way
     * is dropped when it arrives ({@link #closedBeforeStart}).
     */
    static void releaseBeforeClose(int fd) {
        IoQueue q = queue;
        if (q == null || q.isOwnerThread() || !PublishedFds.contains(fd)) return; // looked up after the close began
        CompletableFuture<Void> released = new CompletableFuture<>();
        boolean posted = q.runOnOwner(() -> {
            try {
                q.releaseBeforeClose(fd);
            } finally {
                released.complete(null);
            }
        });
        if (posted) released.join();
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
