package dev.ioqueue.internal;

/**
 * The fds a {@code Handle} owns, process-wide: their closes go through the library (which cancels
 * a ring's requests and frees their fixed-file slots first), so an io_uring queue may register them
 * as fixed files. Thread-safe; one atomic bit per fd.
 */
public final class HandleFds {
    private static final FdBits OWNED = new FdBits();

    private HandleFds() {}

    public static void add(int fd) {
        OWNED.add(fd);
    }

    public static void remove(int fd) {
        OWNED.remove(fd);
    }

    public static boolean contains(int fd) {
        return OWNED.contains(fd);
    }
}
