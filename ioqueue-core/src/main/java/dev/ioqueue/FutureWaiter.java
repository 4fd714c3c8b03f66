package dev.ioqueue;

import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A waiter that is also the future handed to the caller of {@link IoQueue#whenReady}: the future's
 * single completion decides every race (readiness, cancellation, drop, the queue closing), so the
 * caller sees exactly one outcome. Cancelling it withdraws the waiter on the queue's thread.
 */
final class FutureWaiter extends CompletableFuture<Set<Event>> implements ReadyCallback {
    private final IoQueue queue;
    private final int fd;
    private final ReadyEvent event;

    FutureWaiter(IoQueue queue, int fd, ReadyEvent event) {
        this.queue = queue;
        this.fd = fd;
        this.event = event;
    }

    /** Registers the waiter; on the owner thread, unless the future is already done. */
    void register() {
        if (isDone()) return;
        if (queue.isClosed()) {
            completeExceptionally(new WaitDroppedException(fd));
            return;
        }
        try {
            queue.await(fd, event, this);
        } catch (RuntimeException | Error e) {
            completeExceptionally(e);
        }
    }

    @Override
    public void onReady(int fd, Set<Event> events) {
        complete(events);
    }

    @Override
    public void onDropped(int fd) {
        completeExceptionally(new WaitDroppedException(fd));
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        // After the registration task (FIFO), so it always finds the waiter if it was registered.
        if (cancelled) queue.runOnOwner(() -> queue.cancel(fd, event, this));
        return cancelled;
    }

    @Override
    public String toString() {
        return "whenReady(fd " + fd + ", " + event + ")" + (isDone() ? " done" : "");
    }
}
