package dev.ioqueue.internal.poll;

/**
 * A readiness backend: what one queue needs from the OS to wait, and nothing else. It keeps an
 * <em>interest</em> per fd (bits of {@link Interest}: READ, WRITE, PRIORITY_READ) under a caller's
 * token, and reports <em>events</em> (the same bits plus ERROR and HANGUP) as (token, events)
 * pairs. No policy: which fds to watch, and what an event means, belong to the layer above.
 *
 * <p>Owner thread only, except {@link #wake()} (any thread, while the queue keeps the poller open)
 * and {@link #close()} (idempotent, and safe from a {@link java.lang.ref.Cleaner}: an
 * implementation references nothing of its queue). Failures of the wait itself are thrown as the
 * API's unchecked syscall exception; the interest verbs return {@code -errno} for the caller to read.
 */
public interface Poller {
    /** The token {@link #token} reports for a wake-up; never a registration's. */
    long WAKE = -1L;

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
     */
    int await(long timeoutNanos);

    /** The token of the i-th event of the last {@link #await}, or {@link #WAKE} (already drained). */
    long token(int i);

    /** The events (bits of {@link Interest}) of the i-th event of the last {@link #await}. */
    int events(int i);

    /** Makes a sleeping {@link #await} return. Any thread, while the poller is open. */
    void wake();

    /**
     * Forgets every interest at once, the only way to drop one whose fd is gone while a duplicate
     * keeps its file open; the caller adds back what it keeps.
     */
    void reset();

    /** Whether {@code fd} is one of the poller's own, which no waiter may use. */
    boolean owns(int fd);

    /**
     * Whether the poller can no longer wait: its epoll fd was closed behind its back (its wait
     * failed with EBADF, or EINVAL once the number named another file). Its close then leaves
     * that number alone (it is no longer the poller's). Owner thread.
     */
    boolean broken();

    /** What an own fd is, for the caller's message. */
    String describeOwn(int fd);

    /** What a failed interest verb means for this backend, for the caller's message (null: nothing to add). */
    String explain(int errno);

    /**
     * The owner thread ended with the queue open, and the queue's fds were let go: releases what
     * only the owner thread could use and what holds the fds' files (an io_uring ring: its requests
     * and fixed-file slots keep them open, so a peer would not see the end until the Cleaner ran).
     * What other threads may still touch (the wake-up eventfd) stays for the Cleaner. Any thread;
     * again is harmless.
     */
    default void afterOwnerEnded() {}

    /** What a {@link java.lang.ref.Cleaner} runs once the queue is unreachable: references nothing of the queue. */
    default Runnable cleanup() {
        return this::close;
    }

    /** Releases the poller's fds and memory; later calls do nothing. Any thread. */
    void close();
}
