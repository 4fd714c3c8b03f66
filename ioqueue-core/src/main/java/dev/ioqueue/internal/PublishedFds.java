package dev.ioqueue.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;

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
    private static final int DENSE = 1 << 16;
    /**
     * Per number, two steps per library close: odd while its close(2) runs, even once it returned.
     * A wait remembers the value it was asked at; the number's next file begins at the next even one.
     */
    private static final AtomicIntegerArray CLOSES = new AtomicIntegerArray(DENSE);
    private static final ConcurrentHashMap<Integer, Integer> CLOSES_ABOVE = new ConcurrentHashMap<>();

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
        if (fd < DENSE) return CLOSES.get(fd);
        Integer c = CLOSES_ABOVE.get(fd);
        return c == null ? 0 : c;
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
        if (fd < DENSE) CLOSES.incrementAndGet(fd);
        else CLOSES_ABOVE.merge(fd, 1, Integer::sum);
    }

    /**
     * Whether a wait asked for when {@link #closes} was {@code askedAt} must be dropped, checked
     * where it is about to be registered: a close of the number runs now, or a close began after
     * the wait was asked for (it was meant for the closed file). A wait asked while a close was
     * finishing belongs to the number's next file: it is kept once that close is done. (A wait
     * asked while the close(2) itself ran races the close: it lands on whatever file the number
     * names then, or fails with EBADF.)
     */
    public static boolean closedSince(int fd, int askedAt) {
        return closes(fd) != ((askedAt + 1) & ~1); // the even value after askedAt: its close done
    }
}
