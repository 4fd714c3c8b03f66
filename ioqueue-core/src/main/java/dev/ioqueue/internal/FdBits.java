package dev.ioqueue.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A thread-safe set of fds: atomic words for fds below 2^20 (128 KiB), a concurrent map above.
 * Reads take no lock and allocate nothing below 2^20.
 */
final class FdBits {
    private static final int WORDS_BELOW = 1 << 20;

    private final AtomicLongArray words = new AtomicLongArray(WORDS_BELOW / 64);
    private final ConcurrentHashMap<Integer, Boolean> above = new ConcurrentHashMap<>();

    boolean contains(int fd) {
        if (fd < 0) return false;
        if (fd < WORDS_BELOW) return (words.get(fd >>> 6) & (1L << fd)) != 0;
        return !above.isEmpty() && above.containsKey(fd);
    }

    void add(int fd) {
        if (fd < 0) return;
        if (fd < WORDS_BELOW) words.getAndUpdate(fd >>> 6, w -> w | (1L << fd));
        else above.put(fd, Boolean.TRUE);
    }

    void remove(int fd) {
        if (!contains(fd)) return;
        if (fd < WORDS_BELOW) words.getAndUpdate(fd >>> 6, w -> w & ~(1L << fd));
        else above.remove(fd);
    }

    void clear() {
        for (int i = 0; i < words.length(); i++) {
            if (words.get(i) != 0) words.set(i, 0);
        }
        above.clear();
    }
}
