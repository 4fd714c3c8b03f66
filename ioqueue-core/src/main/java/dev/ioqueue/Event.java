package dev.ioqueue;

import dev.ioqueue.internal.poll.Interest;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * What the OS can report about an fd. A waiter is woken for the {@link ReadyEvent} it waits for,
 * and also for {@link #ERROR} and {@link #HANGUP}, which the OS always reports; the set a callback
 * receives is everything the OS reported for the fd at that moment.
 */
public enum Event {
    /** Data can be read (or a connection accepted, or EOF read). epoll's {@code EPOLLIN}. */
    READ(Interest.READ_BIT),
    /** Data can be written without blocking. {@code EPOLLOUT}. */
    WRITE(Interest.WRITE_BIT),
    /** Priority data, such as TCP urgent data, can be read. {@code EPOLLPRI}. */
    PRIORITY_READ(Interest.PRIORITY_BIT),
    /** An error is pending on the fd (read it with the failing syscall, or {@code SO_ERROR}). {@code EPOLLERR}. */
    ERROR(Interest.ERROR_BIT),
    /** The peer hung up (a pipe's other end closed, a socket fully shut down). {@code EPOLLHUP}. */
    HANGUP(Interest.HANGUP_BIT);

    /** The bit the layers below use for it: explicit, so no layout depends on declaration order. */
    final int bit;

    @SuppressWarnings("unchecked")
    private static final Set<Event>[] SETS = new Set[Interest.MASKS];

    static {
        for (int mask = 0; mask < SETS.length; mask++) {
            EnumSet<Event> set = EnumSet.noneOf(Event.class);
            for (Event e : values()) if ((mask & e.bit) != 0) set.add(e);
            SETS[mask] = Collections.unmodifiableSet(set);
        }
    }

    Event(int bit) {
        this.bit = bit;
    }

    /** The shared, unmodifiable set of a mask of bits: no allocation per event. */
    static Set<Event> setOf(int mask) {
        return SETS[mask];
    }
}
