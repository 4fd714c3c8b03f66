package dev.ioqueue.internal;

import dev.ioqueue.SyscallException;

/**
 * A readiness backend: what one queue needs from the OS, and nothing else. It keeps an
 * <em>interest</em> per fd (bits of {@link Interest}: READ, WRITE, PRIORITY_READ) under a caller's
 * token, and reports <em>events</em> (the same bits plus ERROR and HANGUP) as (token, events)
 * pairs. No policy: which fds to watch, and what an event means, is {@link Registrations}' business.
 *
 * <p>Owner thread only, except {@link #wake()} (any thread, while the queue keeps the poller open)
 * and {@link #close()} (idempotent, and safe from a {@link java.lang.ref.Cleaner}: an
 * implementation references nothing of its queue).
 */
public interface Poller {
    /** The token {@link #token} reports for a wake-up; never a registration's. */
    long WAKE = -1L;
    /** The token {@link #token} reports when the deadline of {@link #wakeAt} passed. */
    long TIMER = -2L;

    /**
     * The backend for a new queue, as {@link dev.ioqueue.Backend#PROPERTY} chooses: io_uring when
     * the kernel and the process allow it (tried each time: a refusal costs one syscall), else epoll.
     *
     * @throws SyscallException if it cannot be set up (EMFILE, ENOMEM)
     */
    static Poller open() {
        String choice = System.getProperty(dev.ioqueue.Backend.PROPERTY, "auto");
        return switch (choice) {
            case "epoll" -> new EpollPoller();
            case "io_uring" -> new UringPoller();
            case "auto" -> {
                try {
                    yield new UringPoller();
                } catch (SyscallException e) {
                    yield new EpollPoller(); // io_uring missing, disabled or refused: epoll, silently
                }
            }
            default -> throw new IllegalArgumentException("system property " + dev.ioqueue.Backend.PROPERTY + "=" + choice
                    + ": expected auto, epoll or io_uring");
        };
    }

    /** Interest verbs, for {@link #failure}. */
    int ADD = 1;
    int MODIFY = 2;
    int REMOVE = 3;

    /** Starts watching {@code fd} for {@code interest}, reported as {@code token}; 0 or {@code -errno}. */
    int add(int fd, int interest, long token);

    /** Replaces the interest (and token) of a watched fd; 0 or {@code -errno} (ENOENT: not watched). */
    int modify(int fd, int interest, long token);

    /** Stops watching {@code fd}; 0 or {@code -errno}. */
    int remove(int fd);

    /**
     * Waits for events ({@code timeoutNanos < 0}: no limit, 0: not at all, positive: never returns
     * early for want of precision); EINTR resumes with the time left. Returns how many pairs
     * {@link #token}/{@link #events} now hold.
     *
     * @throws SyscallException if the wait itself fails
     */
    int await(long timeoutNanos);

    /** The token of the i-th event of the last {@link #await}, or {@link #WAKE} (already drained). */
    long token(int i);

    /** The events (bits of {@link Interest}) of the i-th event of the last {@link #await}. */
    int events(int i);

    /** Makes a sleeping {@link #await} return. Any thread, while the poller is open. */
    void wake();

    /**
     * Makes {@link #await} return by {@code deadlineNanos} ({@link System#nanoTime()} scale) at the
     * latest, reporting {@link #TIMER}; replaces an earlier deadline. For deadlines set rarely:
     * it costs a syscall, where a timed {@code await} would cost one on every wait.
     */
    void wakeAt(long deadlineNanos);

    /**
     * Forgets every interest at once, the only way to drop one whose fd is gone while a duplicate
     * keeps its file open; the caller adds back what it keeps.
     */
    void reset();

    /** Whether {@code fd} is one of the poller's own, which no waiter may use. */
    boolean owns(int fd);

    /** What an own fd is, for the caller's message. */
    String describeOwn(int fd);

    /** The exception for a failed interest verb, with what its errno means for this backend. */
    SyscallException failure(int verb, int fd, int errno);

    /** Whether this backend can also perform I/O itself (completion I/O); epoll cannot. */
    boolean performsIo();

    /** The completion I/O engine, or null for a backend that only reports readiness. */
    default RingStreams streams() {
        return null;
    }

    /** What a {@link java.lang.ref.Cleaner} runs once the queue is unreachable: references nothing of the queue. */
    default Runnable cleanup() {
        return this::close;
    }

    /** Releases the poller's fds and memory; later calls do nothing. Any thread. */
    void close();
}
