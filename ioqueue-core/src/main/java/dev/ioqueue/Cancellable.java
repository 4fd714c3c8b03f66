package dev.ioqueue;

/** Something pending in an {@link IoQueue} (a timer, a hold) that can be called off. */
@FunctionalInterface
public interface Cancellable {
    /**
     * Calls it off. Thread-safe: from another thread the queue finishes the removal on its owner
     * thread, but a cancelled timer never runs either way.
     *
     * @return whether this call cancelled it; false if it had already run or been cancelled
     */
    boolean cancel();
}
