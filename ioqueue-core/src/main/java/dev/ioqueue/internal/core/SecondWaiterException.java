package dev.ioqueue.internal.core;

/**
 * The one-waiter-per-fd-and-event-per-queue rule refused the wait or operation of a thread blocked
 * outside the loop ({@link Waiter#yieldsToLoop}): another one of that event holds the fd in this
 * queue. Thrown before anything moved, and caught by that thread's wait, which asks again later;
 * never seen by a user, who gets the plain {@link IllegalStateException} the API documents.
 */
public final class SecondWaiterException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    private final boolean turnPassed;

    private SecondWaiterException(String message, boolean turnPassed) {
        super(message);
        this.turnPassed = turnPassed;
    }

    /**
     * Whether the holder of the place tells the fd's turn queue when it lets go
     * ({@link OwnedFd#passTurn}: another blocked thread's operation or wait), so the refused thread,
     * queued there, may wait to be woken; else (the loop's own wait, operation or callback, which
     * may take the place again at once) it asks again shortly.
     */
    public boolean turnPassed() {
        return turnPassed;
    }

    /** No stack: it never leaves the library, and a thread waiting its turn may meet it every few milliseconds. */
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }

    /**
     * The refusal of {@code incoming}, the place held by {@code holder}: this type for a blocked
     * thread's wait (which asks again), a plain one for anyone else's.
     */
    static IllegalStateException refusal(Object incoming, Object holder, String message) {
        if (!(incoming instanceof Waiter w && w.yieldsToLoop())) return new IllegalStateException(message);
        return new SecondWaiterException(message, holder instanceof Waiter h && h.yieldsToLoop());
    }
}
