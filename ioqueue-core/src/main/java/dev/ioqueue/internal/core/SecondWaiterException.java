package dev.ioqueue.internal.core;

/**
 * The one-waiter-per-fd-and-event-per-queue rule refused a wait or an operation: another one of
 * that event holds the fd in this queue. Thrown before anything moved, so a caller that can wait
 * for its turn (a thread blocked on a handle whose queue does its I/O) tries again later; to
 * anyone else it is the {@link IllegalStateException} the API documents.
 */
public final class SecondWaiterException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    SecondWaiterException(String message) {
        super(message);
    }
}
