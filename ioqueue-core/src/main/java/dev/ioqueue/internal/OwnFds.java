package dev.ioqueue.internal;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The fds every open queue of this process owns (epoll, eventfd, timerfd), so the fd helpers can
 * refuse to close one from any thread, not only from the owner's: the queue would later close
 * whatever fd had taken its number. Thread-safe; consulted on close only, never on the I/O path.
 */
public final class OwnFds {
    private static final ConcurrentHashMap<Integer, String> FDS = new ConcurrentHashMap<>();

    private OwnFds() {}

    static void add(int fd, String what) {
        FDS.put(fd, what);
    }

    static void remove(int fd) {
        FDS.remove(fd);
    }

    /** Throws if {@code fd} belongs to an open queue of this process. */
    public static void refuse(String call, int fd) {
        String what = FDS.get(fd);
        if (what != null) {
            throw new IllegalArgumentException(call + ": fd " + fd + " is " + what + ", which only the queue may use or close");
        }
    }
}
