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

    private SharedQueue() {}

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
     * before the close, instead of waiting on a closed fd. The caller waits for that hand-off.
     */
    static void releaseBeforeClose(int fd) {
        IoQueue q = queue;
        if (q == null || q.isOwnerThread() || !dev.ioqueue.internal.PublishedFds.contains(fd)) return;
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
