package dev.ioqueue.internal.core;

/**
 * How the queue runs a waiter it holds: a {@link Waiter} of the library's own directly, a user's
 * callback (a type of the API package, held as an {@code Object}) through the facade's
 * implementation of this interface. One instance per process; stateless.
 */
public interface Waiters {
    /** Runs the user's callback {@code callback} for {@code fd} with {@code events} (bits of {@code Interest}). */
    void ready(Object callback, int fd, int events);

    /** Tells the user's callback {@code callback} it was dropped. */
    void dropped(Object callback, int fd);

    /** Runs any waiter. */
    static void ready(Waiters users, Object waiter, int fd, int events) {
        if (waiter instanceof Waiter w) w.ready(fd, events);
        else users.ready(waiter, fd, events);
    }

    /** Tells any waiter it was dropped. */
    static void dropped(Waiters users, Object waiter, int fd) {
        if (waiter instanceof Waiter w) w.dropped(fd);
        else users.dropped(waiter, fd);
    }

    /** Whether {@code waiter} can no longer run ({@link Waiter#abandoned}). */
    static boolean abandoned(Object waiter) {
        return waiter instanceof Waiter w && w.abandoned();
    }
}
