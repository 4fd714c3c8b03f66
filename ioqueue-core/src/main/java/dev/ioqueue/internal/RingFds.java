package dev.ioqueue.internal;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What io_uring queues must learn of other threads' closes, process-wide. A ring request holds its
 * file open, so a number closed elsewhere and made again would otherwise feed the old file's bytes
 * to the new file's reads. Each library close advances the number's epoch: a queue compares it
 * with the epoch its state was made under, before every new operation on the number and on every
 * CQE. A close of a number some ring has requests on also nudges the ring queues, so an idle one
 * lets go of the old file at once (its peer sees the close). The epoch advances before the close(2),
 * the nudge follows it. Thread-safe ({@link FdCounters}).
 */
public final class RingFds {
    private static final FdCounters EPOCHS = new FdCounters();
    /** Numbers some ring has requests or kept bytes on (a hint: cleared by the last queue to forget them). */
    private static final FdBits IN_RINGS = new FdBits();
    private static final Set<Runnable> NUDGES = ConcurrentHashMap.newKeySet();

    private RingFds() {}

    /** The number of library closes of {@code fd} so far. */
    static int epoch(int fd) {
        return EPOCHS.get(fd);
    }

    /**
     * {@code fd} is about to be closed through the library (on any thread): its number's state in
     * rings is stale from now on. Called before close(2), so a ring that gets the number for a new
     * file once it is free records the new epoch, never the old one.
     */
    public static void closing(int fd) {
        if (fd >= 0) EPOCHS.increment(fd);
    }

    /** {@code fd} was closed through the library: rings that still hold the old file let go of it. */
    public static void closed(int fd) {
        if (fd < 0) return;
        if (IN_RINGS.contains(fd)) {
            for (Runnable nudge : NUDGES) nudge.run();
        }
    }

    static void inRing(int fd) {
        if (!IN_RINGS.contains(fd)) IN_RINGS.add(fd);
    }

    static void outOfRing(int fd) {
        IN_RINGS.remove(fd);
    }

    /** A ring queue's nudge: marks it for an epoch check and wakes it. Any thread. */
    static void addNudge(Runnable nudge) {
        NUDGES.add(nudge);
    }

    static void removeNudge(Runnable nudge) {
        NUDGES.remove(nudge);
    }
}
