package dev.ioqueue.internal.io;

import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.core.Waiter;
import dev.ioqueue.internal.poll.Interest;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The one waiter behind {@code onTicks}, {@code onSignal}, {@code onEvents} and {@code onExit}:
 * it waits for its fd to be readable, then tries the non-blocking read. Nothing read (a spurious
 * wake-up) means wait again. Something read: a repeating watch waits again first, then hands it
 * over, so a consumer that throws (out of the loop's {@code run()}) does not end it. One object
 * for its whole life: nothing is allocated per wake-up.
 *
 * <p>Started and run on the queue's owner thread; {@link #cancel()} is thread-safe and no delivery
 * starts after it returns true. A drop by the queue (the owning object closed, its fd
 * unregistered, or the queue closed) ends the watch and runs {@code ifDropped}, if any, on the
 * owner thread.
 */
public abstract class FdWatch extends Waiter {
    private final QueueCore queue;
    private final OwnedFd owned;
    private final int fd;
    private final boolean repeats;
    private final Runnable ifDropped;
    private final AtomicBoolean over = new AtomicBoolean();

    protected FdWatch(QueueCore queue, OwnedFd owned, boolean repeats, Runnable ifDropped) {
        this.queue = Objects.requireNonNull(queue, "queue");
        this.owned = owned;
        this.fd = owned.fd;
        this.repeats = repeats;
        this.ifDropped = ifDropped;
    }

    /** The first wait; what the queue's await throws propagates and nothing is kept. Owner thread. */
    public final FdWatch start() {
        queue.await(fd, owned, Interest.READ, this);
        return this;
    }

    /** The non-blocking read; false when nothing was there. Owner thread. */
    protected abstract boolean take();

    /** Hands over what {@link #take()} read. Owner thread. */
    protected abstract void deliver();

    @Override
    public final void ready(int fd, int events) {
        if (over.get()) return;
        if (!owned.isOpen()) { // closing, from another thread: its close drops this watch, or would have
            dropped();
            return;
        }
        boolean took;
        try {
            took = take();
        } catch (Throwable t) {
            if (!owned.isOpen()) { // the close began under the read: a drop, not a failure
                dropped();
                return;
            }
            over.set(true); // a failed read (EBADF...) ends it: waiting again would fail the same way
            throw t;
        }
        boolean wantsToWait = !took || repeats;
        boolean waiting = wantsToWait;
        if (wantsToWait) {
            try {
                queue.await(fd, owned, Interest.READ, this);
            } catch (IllegalStateException closing) {
                if (owned.isOpen()) throw closing;
                waiting = false; // the close began meanwhile: what was read is still handed over, then the drop
            }
        }
        try {
            if (took) deliver();
        } finally {
            if (wantsToWait && !waiting) dropped();
        }
    }

    /** Whether neither {@link #cancel()}, a drop nor {@link #end()} has ended it. */
    public final boolean isOn() {
        return !over.get();
    }

    /** Ends it; true if this call did, so the caller makes the last delivery. */
    public final boolean end() {
        return !over.getAndSet(true);
    }

    @Override
    public final void dropped(int fd) {
        dropped();
    }

    /** The queue let go of it (also what a pending follow-up timer is told at the queue's close). */
    public final void dropped() {
        if (end() && ifDropped != null) ifDropped.run();
    }

    /** Ends it; whether this call did. No delivery starts after it returns true. Thread-safe. */
    public final boolean cancel() {
        if (!end()) return false;
        queue.runOnOwner(() -> queue.cancel(fd, Interest.READ, this)); // a closed queue holds no waiter
        return true;
    }

    /** The queue it watches in. */
    public final QueueCore queue() {
        return queue;
    }
}
