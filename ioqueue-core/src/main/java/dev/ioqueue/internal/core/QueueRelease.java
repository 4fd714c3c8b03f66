package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Failures;

/**
 * Releasing a queue nobody will close: the Cleaner's action, once its facade is unreachable, and
 * the watchdog's release, once its owner thread ended with the queue open. Both close the owned fds
 * bound to it, as {@code close()} would (each one whatever another threw: the set no longer holds
 * them), and fail its pending futures ({@link OrphanedFutures}). Any thread.
 */
final class QueueRelease {
    private QueueRelease() {}

    /**
     * The Cleaner's action: the bound fds, then the poller's fds and memory, then the futures. It
     * holds {@code releasePoller}, {@code bound} and {@code futures}, never the queue's facade, or
     * the action would keep it reachable.
     */
    static Runnable cleanerAction(Runnable releasePoller, BoundFds bound, OrphanedFutures futures) {
        return () -> {
            Throwable failure = closeBound(bound, null);
            try {
                releasePoller.run();
            } catch (Throwable t) {
                failure = Failures.add(failure, t);
            }
            try {
                futures.tellIfOwnerEnded(null);
            } catch (Throwable t) {
                failure = Failures.add(failure, t);
            }
            Failures.rethrow(failure);
        };
    }

    /**
     * The watchdog found {@code q}'s owner thread ended with the queue open: its futures fail, and
     * the handles bound to it are closed (nothing can use them now), as its Cleaner would, so that
     * nothing the Cleaner holds keeps the queue (and what its waiters captured) reachable. Again is
     * harmless.
     */
    static void afterOwnerEnded(QueueCore q) {
        if (q.ownership.isClosed() || !q.ownership.ownerEnded()) return;
        Throwable failure = null;
        try {
            q.futures.tellIfOwnerEnded(null);
        } catch (Throwable t) {
            failure = t;
        }
        failure = closeBound(q.bound, failure);
        try {
            q.poller.afterOwnerEnded(); // an io_uring ring's requests and file slots held the fds' files
        } catch (Throwable t) {
            failure = Failures.add(failure, t);
        }
        Failures.rethrow(failure);
    }

    /** Takes every fd bound and releases each, whatever another threw; what they threw, added to {@code failure}. */
    private static Throwable closeBound(BoundFds bound, Throwable failure) {
        for (OwnedFd o : bound.closeAndTake()) {
            try {
                o.released();
            } catch (Throwable t) {
                failure = Failures.add(failure, t);
            }
        }
        return failure;
    }
}
