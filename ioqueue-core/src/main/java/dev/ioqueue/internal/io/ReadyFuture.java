package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.core.OrphanedFutures;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.core.Waiter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.IntFunction;

/**
 * A future of an fd's next readiness ({@code IoQueue.whenReady}): a waiter of the queue, and a
 * plain {@link CompletableFuture} handed to the caller. Whoever completes the future first decides
 * (readiness, a drop, or the caller: cancel, {@code complete}, {@code completeAsync},
 * {@code orTimeout}, {@code obtrude}...): a completion by anyone but the queue withdraws the waiter
 * on the queue's thread, and until it arrives the waiter counts as abandoned, so a new wait on the
 * same fd and event replaces it at once ({@link Waiter#abandoned}). Completions made by the queue
 * go through {@code completer}: a queue the caller did not choose (the shared one) hands them to
 * another thread, so no dependent stage runs on its loop. If the queue's owner thread ends with the
 * queue open, it fails with {@code WaitDroppedException} ({@link OrphanedFutures}).
 */
public final class ReadyFuture<T> extends Waiter implements OrphanedFutures.Orphan {
    private final CompletableFuture<T> future = new CompletableFuture<>();
    private final QueueCore queue;
    private final int fd;
    private final OwnedFd owned;
    private final int kind;
    private final IntFunction<T> events;
    private final Executor completer;
    /** The queue ran or dropped it: nothing to withdraw. */
    private volatile boolean fired;
    /** Its failure for an ended owner was handed to another thread (told by several threads at once, it may be handed twice: harmless). */
    private volatile boolean toldLater;

    /**
     * A wait for {@code kind} on {@code fd} (of {@code owned}, or a plain fd) in {@code queue}; its
     * value is {@code events} of the reported bits, completed through {@code completer} (null: in place).
     */
    public ReadyFuture(QueueCore queue, int fd, OwnedFd owned, int kind, IntFunction<T> events, Executor completer) {
        this.queue = queue;
        this.fd = fd;
        this.owned = owned;
        this.kind = kind;
        this.events = events;
        this.completer = completer;
    }

    /** Posts the registration to the queue's thread (run at once on it) and returns the future. Any thread. */
    public CompletableFuture<T> start() {
        if (completer == null) { // the shared queue's thread never ends: only a thread's own queue keeps its futures
            queue.futures.add(this); // told if the owner thread ends first, with the queue open
            future.whenComplete((v, e) -> queue.futures.remove(this));
        }
        future.whenComplete((v, e) -> withdraw());
        if (!queue.runOnOwner(this::register)) future.completeExceptionally(OperationWait.refused(queue, fd));
        return future;
    }

    private void register() {
        if (future.isDone()) return;
        if (queue.ownership.isClosed()) {
            fired = true;
            future.completeExceptionally(Errors.dropped(fd, "its queue is closed"));
            return;
        }
        try {
            if (!PostedWaits.registerOrDropped(owned, () -> queue.await(fd, owned, kind, this))) dropped(fd);
        } catch (RuntimeException | Error e) {
            fired = true;
            future.completeExceptionally(e);
        }
    }

    /** Completed by the caller: the waiter goes, on the queue's thread (a closed queue holds none). */
    private void withdraw() {
        if (fired) return;
        queue.runOnOwner(() -> {
            if (!fired) queue.cancel(fd, kind, this);
        });
    }

    @Override
    public void ready(int fd, int mask) {
        fired = true;
        T value = events.apply(mask);
        if (completer == null) future.complete(value);
        else completer.execute(() -> future.complete(value));
    }

    @Override
    public void dropped(int fd) {
        fired = true;
        var failure = Errors.dropped(fd, "the fd was unregistered or closed, or its queue closed");
        if (completer == null) future.completeExceptionally(failure);
        else completer.execute(() -> future.completeExceptionally(failure));
    }

    @Override
    public void ownerEnded(OwnedFd closing) {
        fired = true; // nothing to withdraw: nobody runs that queue
        if (closing != null && closing == owned) {
            future.completeExceptionally(OperationWait.refused(queue, fd)); // before the handle's close returns
        } else if (!toldLater) { // once: the watchdog looks again until it completes
            Background.COMPLETER.execute(() -> future.completeExceptionally(OperationWait.refused(queue, fd)));
            toldLater = true; // after: a refused execute is tried again
        }
    }

    @Override
    public boolean abandoned() {
        return future.isDone() && !fired;
    }

    @Override
    public String toString() {
        return "whenReady(fd " + fd + ")" + (future.isDone() ? " done" : "");
    }
}
