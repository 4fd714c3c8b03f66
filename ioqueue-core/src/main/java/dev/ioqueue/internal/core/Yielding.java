package dev.ioqueue.internal.core;

/**
 * The hooks of an {@link Operation} that a thread blocked outside the loop runs in the queue: the
 * operation gives its place up to the loop's own ({@link Waiter#yieldsToLoop}) and this is told.
 */
public interface Yielding {
    /** The operation was withdrawn, exactly, for the loop's own: its thread asks again later. Owner thread. */
    void yielded();

    /** {@link Waiter#takeTurn} of the operation. Owner thread. */
    boolean takeTurn();

    /** {@link Waiter#waitsForTurn} of the operation. Owner thread. */
    boolean waitsForTurn();

    /** {@link Waiter#callEnded} of the operation. Owner thread. */
    boolean callEnded();
}
