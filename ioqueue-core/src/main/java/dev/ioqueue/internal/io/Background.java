package dev.ioqueue.internal.io;

import dev.ioqueue.internal.core.FailureLog;
import dev.ioqueue.internal.core.QueueCore;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * The shared queue ({@code IoQueue.shared()}): one daemon platform thread, {@code ioqueue-background},
 * started on first use and never closed, that serves waits made off any loop through its API
 * (Kotlin on other dispatchers, futures, a blocking connect); blocking calls wait in the
 * {@link BlockingPoller}s instead. It runs on epoll: its callers make their syscalls on their own
 * threads, so a ring would have nothing to do. A failure to create it (EMFILE) is thrown to the
 * caller and the next call tries again.
 */
public final class Background {
    /**
     * Where the shared queue's futures complete: on a new virtual thread each, so no stage a caller
     * hangs on a future runs on the shared loop (which the caller did not choose) or holds it up.
     */
    public static final Executor COMPLETER = task -> Thread.ofVirtual().name("ioqueue-future").start(task);

    private static volatile QueueCore queue;
    /** The shared queue's facade, held for good (the queue holds it only weakly). */
    private static Object facade;

    private Background() {}

    /** The shared queue, started by the first call with {@code make} (run on the new thread, returning its queue). */
    public static QueueCore get(Supplier<QueueCore> make) {
        QueueCore q = queue;
        return q != null ? q : start(make);
    }

    /** The shared queue if it was started, else null. */
    public static QueueCore ifStarted() {
        return queue;
    }

    private static synchronized QueueCore start(Supplier<QueueCore> make) {
        if (queue != null) return queue;
        CompletableFuture<QueueCore> started = new CompletableFuture<>();
        Thread thread = Thread.ofPlatform().name("ioqueue-background").daemon(true).unstarted(() -> serve(make, started));
        thread.start();
        try {
            QueueCore q = started.join();
            facade = q.facade();
            queue = q;
            return q;
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw e;
        }
    }

    private static void serve(Supplier<QueueCore> make, CompletableFuture<QueueCore> started) {
        QueueCore q;
        try {
            q = make.get();
        } catch (Throwable t) {
            started.completeExceptionally(t);
            return;
        }
        q.shareWithAllThreads();
        q.hold(); // serve forever: the thread is a daemon
        started.complete(q);
        while (true) {
            try {
                q.run();
            } catch (Throwable t) {
                if (q.broken()) { // the library's own event, not a callback's
                    report(() -> FailureLog.cannotWait("the shared queue (thread ioqueue-background)",
                            "the next IoQueue.shared() starts a new one", t));
                } else { // a waiter's callback threw: report it, keep serving
                    report(() -> uncaught(t));
                }
            }
            if (q.broken()) break;
        }
        // Its epoll fd was closed behind its back: it can no longer wait. Its waiters are told
        // (dropped), and the next call starts a new shared queue, rather than this one spinning.
        synchronized (Background.class) {
            queue = null;
            facade = null;
        }
        try {
            q.close();
        } catch (Throwable t) {
            report(() -> uncaught(t));
        }
    }

    private static void uncaught(Throwable t) {
        Thread self = Thread.currentThread();
        self.getUncaughtExceptionHandler().uncaughtException(self, t);
    }

    /** Reports a failure; a handler or logger that throws must not end the shared loop (nor leave a dead queue shared). */
    private static void report(Runnable report) {
        try {
            report.run();
        } catch (Throwable ignored) {
            // nowhere left to tell
        }
    }
}
