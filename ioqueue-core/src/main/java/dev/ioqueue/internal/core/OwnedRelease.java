package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Failures;
import dev.ioqueue.internal.uring.RingStream;

/**
 * How a queue lets go of an owned fd bound to it once its close was asked for (by any thread, or
 * by the queue's own close): its waiters and operations are dropped, each told once; on a ring the
 * kernel must first let go of every request of it (the close waits here up to a second; what is
 * left completes later in the loop, which goes on for it); then the fd is closed, exactly once,
 * and leaves the queue's bound set. Owner thread of the queue.
 */
final class OwnedRelease {
    private static final long RING_RELEASE_WAIT_NANOS = 1_000_000_000L;

    private final QueueCore queue;

    OwnedRelease(QueueCore queue) {
        this.queue = queue;
    }

    /** Lets go of {@code o}; what the dropped waiters and operations threw propagates once that is done. */
    void close(OwnedFd o) {
        Failures.rethrow(close(o, null));
    }

    /**
     * Lets go of {@code o}; returns {@code failure} with what its dropped waiters and operations
     * threw added ({@link Failures#add}), so a queue's close lays every handle's failures flat on
     * its first.
     */
    Throwable close(OwnedFd o, Throwable failure) {
        if (o.ownerClosing) return failure;
        o.ownerClosing = true;
        if (o.stream != null) {
            // Whichever thread asked for this close: what their completions throw propagates out
            // of the loop (QueueCore's settledFailure), not out of this close.
            try {
                queue.shutdown.settleWritesBeforeDrop(o.stream);
            } catch (Throwable t) {
                failure = Failures.add(failure, t);
            }
        }
        queue.forgetVerdict(o.fd); // a plain-fd verdict on its number (from before the handle took it) goes with it
        try {
            failure = queue.registrations.releaseBeforeClose(o.fd, failure);
        } catch (Throwable t) {
            failure = Failures.add(failure, t);
        }
        for (int kind = 0; kind < dev.ioqueue.internal.poll.Interest.KINDS; kind++) o.passTurn(kind); // closing: every thread waiting for a turn learns it
        RingStream s = o.stream;
        if (s == null) {
            finish(o);
        } else {
            Loop loop = queue.loop;
            loop.releasing++;
            try {
                failure = queue.engine.close(s, () -> {
                    loop.releasing--;
                    finish(o);
                }, failure); // what its operations' drops threw lies flat on the first failure, as on epoll
            } catch (Throwable t) {
                failure = Failures.add(failure, t);
            }
            if (!queue.ownership.isClosed()) {
                awaitRingRelease(s);
                failure = queue.engine.runReleases(failure); // its own (let go by a reap), and any other let go meanwhile
            }
        }
        return failure;
    }

    /** Waits (a bounded time) until the kernel finished every request of {@code s}; its release then waits in the engine. */
    private void awaitRingRelease(RingStream s) {
        long deadline = System.nanoTime() + RING_RELEASE_WAIT_NANOS;
        while (RingStream.releasing(s)) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return; // it completes later, in the loop
            queue.uring.awaitCompletions(left);
        }
    }

    /** Closes {@code o}'s fd (once) and removes it from the queue's bound set. */
    void finish(OwnedFd o) {
        queue.bound.remove(o);
        o.released();
    }
}
