package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Failures;
import dev.ioqueue.internal.uring.RingEngine;
import dev.ioqueue.internal.uring.RingStream;

/**
 * How a queue closes ({@link #close}), and what a close made on its owner thread does first: on a
 * ring, the writes made inside I/O completions and not yet given to the kernel go out and complete
 * ({@link #settleStagedWrites}), as epoll wrote them in place. Owner thread of the queue.
 */
final class QueueShutdown {
    private final QueueCore queue;

    QueueShutdown(QueueCore queue) {
        this.queue = queue;
    }

    /**
     * Before a close made on the owner thread: the ring's writes made inside this round's I/O
     * completions, not yet given to the kernel, go out and complete first, as epoll wrote them in
     * place ({@link RingEngine#settleStaged}). Nothing on epoll, on another thread, or once closed.
     */
    void settleStagedWrites() {
        settle(null);
    }

    /**
     * Before an owned fd's operations are dropped (its close or unregister): the writes staged as
     * above, this fd's and the others', go out and complete first, and this fd's write is settled
     * (also while the queue closes), as epoll wrote them in place; one the fd cannot take is then
     * dropped, as on epoll. What their completions throw propagates.
     */
    void settleWritesBeforeDrop(RingStream s) {
        settle(s);
    }

    /** The staged writes while the queue is open, then {@code s}'s write if not null; completions run as in the loop. */
    private void settle(RingStream s) {
        Ownership ownership = queue.ownership;
        if (queue.engine == null || !ownership.isOwner()) return;
        boolean open = !ownership.isClosed(); // closing: the queue's close settled the staged writes already
        if (!open && s == null) return;
        boolean around = open && !ownership.isLooping();
        if (around) ownership.enterLoop("close"); // runOnce or a queue close from a completion is refused, as in the loop
        try {
            if (open) queue.engine.settleStaged();
            if (s != null) queue.engine.settleWrite(s);
        } finally {
            if (around) ownership.exitLoop();
        }
    }

    /**
     * Closes the queue: runs the tasks already accepted (waits and operations they ask for are
     * dropped at once), lets go of every owned fd bound here, drops the remaining waiters and
     * timers (each told once), then releases the poller, which on a ring first waits for the kernel
     * to finish every request; the owned fds are closed once it has. Returns whether this call
     * closed it; what the callbacks threw propagates, the first with the rest suppressed onto it.
     */
    boolean close() {
        Ownership ownership = queue.ownership;
        Throwable settled = null;
        if (!ownership.isLooping()) { // from inside the loop the close is refused below, with nothing done
            try {
                settleStagedWrites(); // the last round's writes go out first, as epoll wrote them in place
            } catch (Throwable t) {
                settled = t;
            }
            settled = Failures.add(settled, queue.loop.takeDeferred()); // what completions run out of turn threw: the loop will not run again
        }
        if (!ownership.close()) {
            Failures.rethrow(settled);
            return false;
        }
        ownership.draining(true);
        Throwable failure = settled;
        OwnedFd[] all;
        try {
            failure = Failures.add(failure, queue.runQueue.close());
            all = queue.bound.closeAndTake();
            for (OwnedFd o : all) {
                try {
                    o.beginClose();
                    failure = queue.release.close(o, failure); // each handle's failures flat on the first
                } catch (Throwable t) {
                    failure = Failures.add(failure, t);
                }
            }
            failure = queue.registrations.close(failure);
        } catch (Throwable t) {
            failure = Failures.add(failure, t);
            all = queue.bound.closeAndTake();
        } finally {
            ownership.draining(false);
        }
        try {
            queue.poller.close(); // on this thread: a ring first waits until the kernel finished its requests
        } catch (Throwable t) {
            failure = Failures.add(failure, t);
        }
        if (queue.engine != null) failure = queue.engine.runReleases(failure); // the fds whose requests the ring finished
        for (OwnedFd o : all) {
            if (o.index >= 0) queue.release.finish(o); // the ring did not finish in time: close anyway, the ring is gone
        }
        // What completions settled while letting go of the fds threw (a write whose completion
        // was due, run by its fd's release): the loop will not run again to rethrow it.
        failure = Failures.add(failure, queue.loop.takeDeferred());
        Failures.rethrow(failure);
        return true;
    }
}
