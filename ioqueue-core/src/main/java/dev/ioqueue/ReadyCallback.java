package dev.ioqueue;

import java.util.Set;

/**
 * A waiter: what runs once when its fd becomes ready.
 *
 * <p>Runs on the queue's owner thread, from {@link IoQueue#run()} or from a {@code Runnable} that
 * {@link IoQueue#poll} collected. A wake-up means "try your syscall again": it may be spurious (the
 * data was taken first, or the fd was reported for another reason), so the callback must treat
 * EAGAIN as "wait again", never as an error.
 */
@FunctionalInterface
public interface ReadyCallback {
    /**
     * @param fd the fd that was waited on
     * @param events what the OS reported for it; an unmodifiable, shared set that is never empty
     */
    void onReady(int fd, Set<Event> events);

    /**
     * Called instead of {@link #onReady} when the queue removes this waiter without running it:
     * its {@link Handle} was closed (from any thread), its fd was unregistered, closed through
     * {@link Fds#close} or found closed behind the queue's back, or the queue itself was closed. Not called for
     * {@link IoQueue#cancel}, which the caller asked for. Does nothing by default; a waiter that
     * stands for a suspended computation (a coroutine, a future) fails it here instead of leaving it
     * waiting forever. Runs on the owner thread, after the queue has finished the removal.
     */
    default void onDropped(int fd) {}
}
