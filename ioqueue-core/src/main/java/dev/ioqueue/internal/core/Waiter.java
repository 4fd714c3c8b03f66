package dev.ioqueue.internal.core;

/**
 * A waiter of the library's own (an I/O operation, a blocking wait, a future, a watch): what
 * {@link Registrations} runs when its fd is ready, or tells when it drops it. A user's callback is
 * held as it is and run through {@link Waiters}, so a wait allocates nothing either way. Owner
 * thread of the queue it waits in.
 */
public abstract class Waiter {
    /** The fd is ready: {@code events} are bits of {@code Interest} (never 0). */
    public abstract void ready(int fd, int events);

    /** The queue removed this waiter without running it (the fd unregistered or closed, the queue closed). */
    public abstract void dropped(int fd);

    /**
     * Whether this waiter can no longer run, so a new waiter may take its place at once: a future
     * completed by its holder before the queue withdrew it.
     */
    public boolean abandoned() {
        return false;
    }

    /**
     * Whether a thread blocked outside the loop placed it (a blocking call on a handle of an
     * io_uring loop): it then gives its place up to the loop's own waits and operations, which the
     * one-waiter rule would refuse, and its thread asks again later.
     */
    public boolean yieldsToLoop() {
        return false;
    }

    /**
     * It was taken out of its place, exactly, for the loop's own: ends, and its thread is told to
     * ask again later. Owner thread. Only called when {@link #yieldsToLoop}.
     */
    public void yieldPlace() {
        throw new UnsupportedOperationException();
    }

    /** In its fd's {@link TurnQueue} (owner thread). */
    boolean inTurnQueue;

    /**
     * Its turn came (the place it was refused is free): a blocked thread's wait wakes its thread to
     * ask again now; false if it no longer waits for a turn (it gave up, or asks already). Owner thread.
     */
    public boolean takeTurn() {
        return false;
    }

    /** Whether its blocked thread's call has ended (done, failed, dropped or given up): it will never ask for a turn. Owner thread. */
    public boolean callEnded() {
        return false;
    }

    /** Whether its thread still waits for a turn (refused, not yet asking again, not gone). Owner thread. */
    public boolean waitsForTurn() {
        return false;
    }

    /** Whether {@code existing}, in the place {@code incoming} asks for, gives it up: a blocked thread's, and the newcomer is not. */
    static boolean yieldsTo(Object existing, Object incoming) {
        return existing instanceof Waiter e && e.yieldsToLoop() && !(incoming instanceof Waiter i && i.yieldsToLoop());
    }
}
