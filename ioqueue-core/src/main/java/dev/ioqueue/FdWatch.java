package dev.ioqueue;

import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The one waiter behind {@code onTicks}, {@code onSignal}, {@code onEvents} and {@code onExit}:
 * it waits for its fd to be readable, then tries the non-blocking read. Nothing read (a spurious
 * wake-up) means wait again. Something read: a repeating watch waits again first, then hands it
 * over, so a consumer that throws (out of {@link IoQueue#run()}) does not end it. One object for
 * its whole life: nothing is allocated per wake-up.
 *
 * <p>Started and run on the queue's owner thread; {@link #cancel()} is thread-safe and no delivery
 * starts after it returns true. A drop by the queue (the fd closed through {@link Fds#close} or
 * the owning object's {@code close()}, unregistered, or the queue closed) ends the watch and runs
 * {@code ifDropped}, if any, on the owner thread.
 */
abstract class FdWatch implements ReadyCallback, Cancellable {
    final IoQueue queue;
    private final int fd;
    private final boolean repeats;
    private final Runnable ifDropped;
    private final AtomicBoolean over = new AtomicBoolean();

    FdWatch(IoQueue queue, int fd, boolean repeats, Runnable ifDropped) {
        this.queue = Objects.requireNonNull(queue, "queue");
        this.fd = fd;
        this.repeats = repeats;
        this.ifDropped = ifDropped;
    }

    /** The first wait; what {@link IoQueue#await} throws propagates and nothing is kept. */
    final Cancellable start() {
        queue.await(fd, ReadyEvent.READ, this);
        return this;
    }

    /** The non-blocking read; false when nothing was there. Owner thread. */
    abstract boolean take();

    /** Hands over what {@link #take()} read. Owner thread. */
    abstract void deliver();

    @Override
    public final void onReady(int fd, Set<Event> events) {
        if (over.get()) return;
        boolean took;
        try {
            took = take();
        } catch (Throwable t) {
            over.set(true); // a failed read (EBADF...) ends it: waiting again would fail the same way
            throw t;
        }
        if (!took || repeats) queue.await(fd, ReadyEvent.READ, this);
        if (took) deliver();
    }

    /** Whether neither {@link #cancel()}, a drop nor {@link #end()} has ended it. */
    final boolean isOn() {
        return !over.get();
    }

    /** Ends it; true if this call did, so the caller makes the last delivery. */
    final boolean end() {
        return !over.getAndSet(true);
    }

    @Override
    public final void onDropped(int fd) {
        dropped();
    }

    /** The queue let go of it (also what a pending follow-up timer is told at the queue's close). */
    final void dropped() {
        if (end() && ifDropped != null) ifDropped.run();
    }

    @Override
    public final boolean cancel() {
        if (!end()) return false;
        queue.runOnOwner(() -> queue.cancel(fd, ReadyEvent.READ, this)); // a closed queue holds no waiter
        return true;
    }
}
