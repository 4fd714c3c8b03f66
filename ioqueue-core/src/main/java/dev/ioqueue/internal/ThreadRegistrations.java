package dev.ioqueue.internal;

/**
 * The calling thread's {@link Registrations}, for the fd helpers ({@code Fds}, {@code Sockets},
 * {@code Handle}) that make and close fds: they tell the thread's queue without knowing it. A
 * thread without a queue has none, and the calls do nothing.
 */
public final class ThreadRegistrations {
    private static final ThreadLocal<Registrations> CURRENT = new ThreadLocal<>();

    private ThreadRegistrations() {}

    static void attach(Registrations registrations) {
        CURRENT.set(registrations);
    }

    static void detach(Registrations registrations) {
        if (CURRENT.get() == registrations) CURRENT.remove();
    }

    /**
     * {@code fd} was just made on this thread: its number was free, so a registration the queue
     * still holds under it belongs to a file closed behind the queue's back.
     */
    public static void fdOpened(int fd) {
        NonBlockingFds.forget(fd);
        Registrations r = CURRENT.get();
        if (r != null) r.fdOpened(fd);
    }

    /**
     * {@code fd} is about to be closed on this thread: the queue drops its waiters (telling them)
     * and its registration first.
     */
    public static void beforeClose(int fd) {
        NonBlockingFds.forget(fd);
        Registrations r = CURRENT.get();
        if (r != null) r.releaseBeforeClose(fd);
    }

    /**
     * {@code fd}'s O_NONBLOCK flag was just changed on this thread: the queue checks it again; made
     * blocking, every queue checks every fd again (another fd may share the file).
     */
    public static void nonBlockingChanged(int fd, boolean nonBlocking) {
        if (nonBlocking) NonBlockingFds.forget(fd);
        else NonBlockingFds.forgetAll();
    }
}
