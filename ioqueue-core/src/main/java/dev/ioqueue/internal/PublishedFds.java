package dev.ioqueue.internal;

/**
 * The fds the shared background queue has registered, readable from any thread: {@code Fds.close}
 * on any thread looks here to decide whether to have that queue let go of the fd first (its
 * waiters told, not left waiting on a closed fd). Written by that queue's thread only.
 */
public final class PublishedFds {
    private static final FdBits REGISTERED = new FdBits();

    private PublishedFds() {}

    /** Whether the shared queue holds a registration for {@code fd}. Thread-safe. */
    public static boolean contains(int fd) {
        return REGISTERED.contains(fd);
    }

    static void add(int fd) {
        REGISTERED.add(fd);
    }

    static void remove(int fd) {
        REGISTERED.remove(fd);
    }
}
