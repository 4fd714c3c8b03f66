package dev.ioqueue.internal;

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
    /** Numbers whose close is under way on some thread: a registration for one must not be made now. */
    private static final FdBits CLOSING = new FdBits();

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

    /** A close of {@code fd} begins (before the lookup that decides the hand-off). Thread-safe. */
    public static void beginClose(int fd) {
        CLOSING.add(fd);
    }

    /** The close of {@code fd} is done. Thread-safe. */
    public static void endClose(int fd) {
        CLOSING.remove(fd);
    }

    /** Whether a close of {@code fd} is under way: a wait registered now would be on a dying file. */
    public static boolean isClosing(int fd) {
        return CLOSING.contains(fd);
    }
}
