package dev.ioqueue.internal;

import java.util.concurrent.locks.LockSupport;

/**
 * The fds the shared background queue has registered, readable from any thread: {@code Fds.close}
 * on any thread looks here to decide whether to have that queue let go of the fd first (its
 * waiters told, not left waiting on a closed fd). Added to by whoever posts a wait there (before
 * posting it) and by that queue's thread; removed only by the hand-off of a close of that number
 * (not when a registration goes, which may race a new wait's publication). A number left
 * published costs its next close a needless hand-off, nothing worse.
 */
public final class PublishedFds {
    private static final FdBits REGISTERED = new FdBits();
    /**
     * Per number, two steps per library close: odd while its close(2) runs, even once it returned.
     * A wait remembers the value it was asked at; the number's next file begins at the next even one.
     */
    private static final FdCounters CLOSES = new FdCounters();

    private PublishedFds() {}

    /** Whether the shared queue holds a registration for {@code fd}. Thread-safe. */
    public static boolean contains(int fd) {
        return REGISTERED.contains(fd);
    }

    /** Publishes {@code fd}: its registration is on its way (any thread) or made (the shared queue's thread). */
    public static void add(int fd) {
        REGISTERED.add(fd);
    }

    static void remove(int fd) {
        REGISTERED.remove(fd);
    }

    /** Where {@code fd}'s closes stand, for {@link #closedSince}. Thread-safe. */
    public static int closes(int fd) {
        return CLOSES.get(fd);
    }

    /**
     * Where {@code fd}'s closes stand for a wait asked for now: if a close of the number is
     * finishing on another thread, waits for it to finish. Whoever holds a new file with this
     * number got it once that close(2) returned, so its wait belongs after that close; a wait on
     * the closing file itself races the close and lands on whatever the number names next.
     * Thread-safe.
     */
    public static int settledCloses(int fd) {
        int c = closes(fd);
        for (int spins = 0; (c & 1) != 0; spins++) {
            if (spins < 64) Thread.onSpinWait();
            else if (spins < 128) Thread.yield();
            else LockSupport.parkNanos(20_000);
            c = closes(fd);
        }
        return c;
    }

    /** A library close of {@code fd} begins (before the lookup that decides the hand-off). Thread-safe. */
    public static void beginClose(int fd) {
        step(fd);
    }

    /** Its close(2) returned: the number may name a new file from now on. Thread-safe. */
    public static void endClose(int fd) {
        step(fd);
    }

    private static void step(int fd) {
        CLOSES.increment(fd);
    }

    /**
     * Whether a wait asked for when its number's closes stood at {@code askedAt} (from
     * {@link #settledCloses}) must be dropped where it is about to be registered: a close of the
     * number began since, so it was meant for the closed file.
     */
    public static boolean closedSince(int fd, int askedAt) {
        return closes(fd) != askedAt;
    }
}
