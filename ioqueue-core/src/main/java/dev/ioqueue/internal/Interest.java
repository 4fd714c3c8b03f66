package dev.ioqueue.internal;

import dev.ioqueue.Event;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * The portable bits a {@link Poller} speaks: interest and events, one bit per
 * {@code Event.ordinal()}; backends translate them to and from their own. A waiter kind is
 * {@code ReadyEvent.ordinal()}: 0 READ, 1 WRITE, 2 PRIORITY_READ. An event mask has one bit per
 * {@code Event.ordinal()}: READ, WRITE, PRIORITY_READ, ERROR, HANGUP.
 */
public final class Interest {
    public static final int KINDS = 3;
    public static final int READ_BIT = 1;
    public static final int WRITE_BIT = 1 << 1;
    public static final int PRIORITY_BIT = 1 << 2;
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

    /** The interest bit a waiter of {@code kind} ({@code ReadyEvent.ordinal()}) needs. */
    public static int bit(int kind) {
        return 1 << kind;
    }
}
