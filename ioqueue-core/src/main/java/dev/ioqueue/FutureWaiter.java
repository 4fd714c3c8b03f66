package dev.ioqueue;

import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A waiter that is also the future handed to the caller of {@link IoQueue#whenReady}: the future's
 * single completion decides every race (readiness, cancellation, drop, the queue closing), so the
 * caller sees exactly one outcome. Completed any other way (cancel, {@code orTimeout},
 * {@code complete}, {@code obtrude}...), it withdraws the waiter on the queue's thread.
 */
final class FutureWaiter extends CompletableFuture<Set<Event>> implements ReadyCallback {
    private final IoQueue queue;
    private final int fd;
    private final ReadyEvent event;
    /** On the shared queue: where the fd's closes stood when this wait was asked for. */
    private final int requestedAt;

    FutureWaiter(IoQueue queue, int fd, ReadyEvent event) {
        this.queue = queue;
        this.fd = fd;
        this.event = event;
        this.requestedAt = SharedQueue.requested(queue, fd);
    }

    /** A wait on the shared queue {@code shared}, asked for when {@code fd}'s closes stood at {@code askedAt}. */
    FutureWaiter(IoQueue shared, int fd, ReadyEvent event, int askedAt) {
        this.queue = shared;
        this.fd = fd;
        this.event = event;
        this.requestedAt = SharedQueue.publish(fd, askedAt);
    }

    /** Posts the registration to the queue's thread (run at once on it); a closed queue drops the wait. */
    FutureWaiter post() {
        if (!queue.runOnOwner(this::register)) completeExceptionally(new WaitDroppedException(fd));
        return this;
    }

    /** Registers the waiter; on the owner thread, unless the future is already done. */
    void register() {
        if (isDone()) return;
        if (queue.isClosed() || SharedQueue.closedBeforeStart(queue, fd, requestedAt)) {
            super.completeExceptionally(new WaitDroppedException(fd));
            return;
        }
        try {
            SharedQueue.registerOnce(queue, () -> queue.await(fd, event, this));
        } catch (RuntimeException | Error e) {
            super.completeExceptionally(e);
        }
    }

    @Override
    public void onReady(int fd, Set<Event> events) {
        super.complete(events); // the waiter has run: nothing to withdraw
    }

    @Override
    public void onDropped(int fd) {
        super.completeExceptionally(new WaitDroppedException(fd));
    }

    // Completed by anyone else (cancel, orTimeout, complete...): the waiter is withdrawn, and the
    // withdrawal is posted before the completion can be seen. Whoever sees this future done (and
    // then asks for a new wait on the same fd and event) posts after it, so the loop never finds
    // this waiter still there. Should the completion lose a race, withdrawing is still right: the
    // future is done either way, and a waiter that already ran is not withdrawn twice.

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        withdrawUnlessDone();
        return super.cancel(mayInterruptIfRunning);
    }

    @Override
    public boolean complete(Set<Event> value) {
        withdrawUnlessDone();
        return super.complete(value);
    }

    @Override
    public boolean completeExceptionally(Throwable ex) {
        java.util.Objects.requireNonNull(ex, "ex"); // before withdrawing: a refused completion keeps the waiter
        withdrawUnlessDone();
        return super.completeExceptionally(ex);
    }

    @Override
    public void obtrudeValue(Set<Event> value) {
        withdrawUnlessDone();
        super.obtrudeValue(value);
    }

    @Override
    public void obtrudeException(Throwable ex) {
        java.util.Objects.requireNonNull(ex, "ex");
        withdrawUnlessDone();
        super.obtrudeException(ex);
    }

    private void withdrawUnlessDone() {
        // After the registration task (FIFO), so it always finds the waiter if it was registered.
        if (!isDone()) queue.runOnOwner(() -> queue.cancel(fd, event, this));
    }

    @Override
    public String toString() {
        return "whenReady(fd " + fd + ", " + event + ")" + (isDone() ? " done" : "");
    }
}
