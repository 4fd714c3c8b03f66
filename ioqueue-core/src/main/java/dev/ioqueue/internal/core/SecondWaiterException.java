package dev.ioqueue.internal.core;

/**
 * The one-waiter-per-fd-and-event-per-queue rule refused the wait or operation of a thread blocked
 * outside the loop ({@link Waiter#yieldsToLoop}): another one of that event holds the fd in this
 * queue. Thrown before anything moved, and caught by that thread's wait, which asks again later;
 * never seen by a user, who gets the plain {@link IllegalStateException} the API documents.
 */
public final class SecondWaiterException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    private SecondWaiterException(String message) {
        super(message);
    }

    /** No stack: it never leaves the library, and a thread waiting its turn may meet it every few milliseconds. */
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }

    /** The refusal of {@code incoming}: this type for a blocked thread's wait (which asks again), a plain one for anyone else's. */
    static IllegalStateException refusal(Object incoming, String message) {
        return incoming instanceof Waiter w && w.yieldsToLoop() ? new SecondWaiterException(message) : new IllegalStateException(message);
    }
}
