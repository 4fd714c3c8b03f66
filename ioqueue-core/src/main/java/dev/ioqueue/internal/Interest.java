package dev.ioqueue.internal;

import dev.ioqueue.Event;
import dev.ioqueue.internal.os.Epoll;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * Pure functions between the portable names and epoll's bits. A waiter kind is
 * {@code ReadyEvent.ordinal()}: 0 READ, 1 WRITE, 2 PRIORITY_READ. An event mask has one bit per
 * {@code Event.ordinal()}: READ, WRITE, PRIORITY_READ, ERROR, HANGUP.
 */
public final class Interest {
    public static final int KINDS = 3;
    public static final int ERROR_BIT = 1 << 3;
    public static final int HANGUP_BIT = 1 << 4;

    private static final Event[] EVENTS = Event.values();
    @SuppressWarnings("unchecked")
    private static final Set<Event>[] SETS = new Set[1 << EVENTS.length];

    static {
        for (int mask = 0; mask < SETS.length; mask++) {
            EnumSet<Event> set = EnumSet.noneOf(Event.class);
            for (Event e : EVENTS) if ((mask & (1 << e.ordinal())) != 0) set.add(e);
            SETS[mask] = Collections.unmodifiableSet(set);
        }
    }

    private Interest() {}

    /** The shared, unmodifiable set of an event mask: no allocation per event. */
    public static Set<Event> events(int mask) {
        return SETS[mask];
    }

    /** The epoll bit a waiter of {@code kind} needs. */
    public static int epollBit(int kind) {
        return switch (kind) {
            case 0 -> Epoll.EPOLLIN;
            case 1 -> Epoll.EPOLLOUT;
            case 2 -> Epoll.EPOLLPRI;
            default -> throw new IllegalArgumentException("kind " + kind);
        };
    }

    /** The event mask (bits by Event ordinal) of what epoll reported. */
    public static int eventMask(int epollEvents) {
        int mask = 0;
        if ((epollEvents & Epoll.EPOLLIN) != 0) mask |= 1;
        if ((epollEvents & Epoll.EPOLLOUT) != 0) mask |= 1 << 1;
        if ((epollEvents & Epoll.EPOLLPRI) != 0) mask |= 1 << 2;
        if ((epollEvents & Epoll.EPOLLERR) != 0) mask |= ERROR_BIT;
        if ((epollEvents & Epoll.EPOLLHUP) != 0) mask |= HANGUP_BIT;
        return mask;
    }

    /** Whether a waiter of {@code kind} wakes for {@code epollEvents}: its own bit, ERR or HUP. */
    public static boolean wakes(int kind, int epollEvents) {
        return (epollEvents & (epollBit(kind) | Epoll.EPOLLERR | Epoll.EPOLLHUP)) != 0;
    }
}
