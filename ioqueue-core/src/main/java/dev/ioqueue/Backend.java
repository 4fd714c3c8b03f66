package dev.ioqueue;

/**
 * The kernel interface a queue runs on, fixed when the queue is made: per queue with
 * {@link IoQueue#create(Backend)} or per group with {@link IoQueueGroup#start(int, String, Backend)},
 * else by the system property {@code dev.ioqueue.backend}, read each time a thread's queue is created:
 * {@code auto} (the default: io_uring when the kernel and the process allow it, else epoll),
 * {@code epoll} or {@code io_uring} (forced: creating the queue fails, naming the errno, if the
 * kernel refuses). User code does not change with the backend. Immutable, thread-safe.
 */
public enum Backend {
    /**
     * Readiness through epoll; the I/O helpers try the syscall and wait for readiness on EAGAIN.
     */
    EPOLL,
    /**
     * An io_uring ring per queue (single issuer, deferred task work). The loop sleeps in the ring;
     * the I/O helpers on streams submit their reads and writes to it (completion I/O: a multishot
     * read into buffers the queue provides, data copied out to the caller's buffer); readiness
     * waits stay on an epoll instance the ring watches.
     */
    IO_URING;

    /** The system property that chooses a new queue's backend. */
    public static final String PROPERTY = "dev.ioqueue.backend";

    /** This backend as the queue's engine names it. */
    int code() {
        return this == EPOLL ? dev.ioqueue.internal.core.QueueCore.EPOLL : dev.ioqueue.internal.core.QueueCore.IO_URING;
    }

    /** The backend {@link #PROPERTY} asks for, as the queue's engine names it. */
    static int fromProperty() {
        String choice = System.getProperty(PROPERTY, "auto");
        return switch (choice) {
            case "auto" -> dev.ioqueue.internal.core.QueueCore.AUTO;
            case "epoll" -> dev.ioqueue.internal.core.QueueCore.EPOLL;
            case "io_uring" -> dev.ioqueue.internal.core.QueueCore.IO_URING;
            default -> throw new IllegalArgumentException("system property " + PROPERTY + "=" + choice + ": expected auto, epoll or io_uring");
        };
    }
}
