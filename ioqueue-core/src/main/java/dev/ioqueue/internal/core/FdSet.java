package dev.ioqueue.internal.core;

import java.util.Arrays;
import java.util.HashSet;

/** A set of fd numbers, owned by one queue: bits below 2^20 (grown to the highest fd seen), a hash set above. Owner thread only. */
final class FdSet {
    private static final int DENSE_LIMIT = 1 << 20;
    private long[] words = new long[4];
    private HashSet<Integer> above;

    boolean contains(int fd) {
        if (fd < DENSE_LIMIT) {
            int w = fd >>> 6;
            return w < words.length && (words[w] & (1L << fd)) != 0;
        }
        return above != null && above.contains(fd);
    }

    void add(int fd) {
        if (fd < DENSE_LIMIT) {
            int w = fd >>> 6;
            if (w >= words.length) words = Arrays.copyOf(words, Math.max(w + 1, words.length * 2));
            words[w] |= 1L << fd;
        } else {
            if (above == null) above = new HashSet<>();
            above.add(fd);
        }
    }

    void remove(int fd) {
        if (fd < DENSE_LIMIT) {
            int w = fd >>> 6;
            if (w < words.length) words[w] &= ~(1L << fd);
        } else if (above != null) {
            above.remove(fd);
        }
    }

    void clear() {
        Arrays.fill(words, 0);
        above = null;
    }
}
