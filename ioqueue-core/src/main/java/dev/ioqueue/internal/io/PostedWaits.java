package dev.ioqueue.internal.io;

import dev.ioqueue.internal.core.OwnedFd;

/**
 * The one rule for a wait or operation posted to a handle's queue from another thread: if the
 * handle was closed on its way there, or its close began while it was being registered, that close
 * dropped it (the caller tells it so), whatever the refusal said. Looked at before the
 * registration and again after a refusal, so no moment between the two is left to a close.
 */
final class PostedWaits {
    private PostedWaits() {}

    /**
     * Runs {@code registration} on the queue's thread (the caller is there); false if the close of
     * {@code owned} (null: a plain fd, never) dropped it instead. What else refuses it is thrown.
     */
    static boolean registerOrDropped(OwnedFd owned, Runnable registration) {
        if (owned != null && !owned.isOpen()) return false;
        try {
            registration.run();
            return true;
        } catch (RuntimeException | Error e) {
            if (owned != null && !owned.isOpen()) return false;
            throw e;
        }
    }
}
