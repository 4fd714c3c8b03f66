package dev.ioqueue.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * A counter per fd number, read and advanced from any thread: an atomic int per number below
 * 2^16, a map above. What {@link RingFds} (close epochs) and {@link PublishedFds} (close steps)
 * count with. Thread-safe.
 */
final class FdCounters {
    private static final int DENSE = 1 << 16;
    private final AtomicIntegerArray dense = new AtomicIntegerArray(DENSE);
    private final ConcurrentHashMap<Integer, Integer> above = new ConcurrentHashMap<>();

    /** The count of {@code fd} (0 if never advanced); {@code fd} is not negative. */
    int get(int fd) {
        if (fd < DENSE) return dense.get(fd);
        Integer c = above.get(fd);
        return c == null ? 0 : c;
    }

    /** Advances the count of {@code fd} by one; {@code fd} is not negative. */
    void increment(int fd) {
        if (fd < DENSE) dense.incrementAndGet(fd);
        else above.merge(fd, 1, Integer::sum);
    }
}
