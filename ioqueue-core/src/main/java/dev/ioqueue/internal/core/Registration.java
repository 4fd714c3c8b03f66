package dev.ioqueue.internal.core;

import dev.ioqueue.internal.poll.Interest;


/**
 * What one queue knows of one fd: its waiters (one per kind, each a {@link Waiter} or a user's
 * callback), the interest the poller holds for it and the token that names that interest, the
 * persist mark, and an epoch that voids the callbacks collected for it so far. Exists while the fd has a waiter, a poller registration or a persist
 * mark; {@link Registrations} drops it afterwards, so storage follows the fds in use. Owner thread
 * only.
 */
final class Registration {
    static final int PERSIST = 1;
    /** Listed for the next {@link Registrations#flush()}. */
    static final int DIRTY = 2;
    /** Lost a waiter since the last flush: the poller's interest is kept, but may be stale. */
    static final int LAPSED = 4;
    /** Re-armed on trust since its last check ({@link TrustedRearms}). */
    static final int UNCONFIRMED = 8;
    /** In the list of re-arms awaiting confirmation. */
    static final int LISTED = 16;
    /** An owned fd's: closed only through its queue, so never checked on trust. */
    static final int OWNED = 32;

    final int fd;
    /** Names the poller registration (0: none); stored in its token so stale events are told apart. */
    int generation;
    /** The interest (bits of {@link Interest}) the poller holds for the fd. */
    int interest;
    int flags;
    /** Advanced to void the callbacks collected so far (unregister, close, premature close). */
    int epoch;
    /** Callbacks handed out by {@code poll()} and not yet run: they keep it in the table. */
    int handedOut;
    /**
     * The kinds (bits of {@link Interest}) an I/O attempt found drained (EAGAIN, or a short
     * transfer) since the OS last reported them: an I/O operation waits for these, and tries the
     * others at once.
     */
    int drained;
    Object read;
    Object write;
    Object priority;
    /**
     * The waiters of each kind woken into the ready batch and not yet run: an I/O operation there
     * is still pending, so a second operation (or waiter) of its kind must be refused until it ran.
     */
    private Object batchedRead;
    private Object batchedWrite;
    private Object batchedPriority;

    Registration(int fd) {
        this.fd = fd;
    }

    boolean registered() {
        return generation != 0;
    }

    boolean is(int flag) {
        return (flags & flag) != 0;
    }

    void set(int flag) {
        flags |= flag;
    }

    void clear(int flag) {
        flags &= ~flag;
    }

    Object waiter(int kind) {
        return switch (kind) {
            case 0 -> read;
            case 1 -> write;
            default -> priority;
        };
    }

    void setWaiter(int kind, Object callback) {
        switch (kind) {
            case 0 -> read = callback;
            case 1 -> write = callback;
            default -> priority = callback;
        }
    }

    boolean hasWaiters() {
        return read != null || write != null || priority != null;
    }

    /** The interest the current waiters need. */
    int wanted() {
        int mask = 0;
        if (read != null) mask |= Interest.READ_BIT;
        if (write != null) mask |= Interest.WRITE_BIT;
        if (priority != null) mask |= Interest.PRIORITY_BIT;
        return mask;
    }

    /**
     * Moves the waiters that {@code events} (bits of {@link Interest}) wake to {@code batch}: each
     * its own event, all of them for ERROR or HANGUP. Returns how many.
     */
    int wake(int events, ReadyBatch batch) {
        boolean all = (events & (Interest.ERROR_BIT | Interest.HANGUP_BIT)) != 0;
        drained = all ? 0 : drained & ~events;
        int woke = 0;
        if (read != null && (all || (events & Interest.READ_BIT) != 0)) {
            batch.add(this, 0, events, read);
            batchedRead = read;
            read = null;
            woke++;
        }
        if (write != null && (all || (events & Interest.WRITE_BIT) != 0)) {
            batch.add(this, 1, events, write);
            batchedWrite = write;
            write = null;
            woke++;
        }
        if (priority != null && (all || (events & Interest.PRIORITY_BIT) != 0)) {
            batch.add(this, 2, events, priority);
            batchedPriority = priority;
            priority = null;
            woke++;
        }
        return woke;
    }

    /** The waiter of {@code kind} woken into the batch and not yet run, or null. */
    Object batched(int kind) {
        return switch (kind) {
            case 0 -> batchedRead;
            case 1 -> batchedWrite;
            default -> batchedPriority;
        };
    }

    /**
     * Everything collected for it is void (its fd unregistered, closed or found gone): the entries
     * woken into the batch or handed out by {@code poll()} hold no place any more.
     */
    void voidCollected() {
        epoch++;
        batchedRead = null;
        batchedWrite = null;
        batchedPriority = null;
    }

    /** {@code callback}, woken into the batch, runs now (or is dropped): it no longer holds its kind. */
    void ran(Object callback) {
        if (batchedRead == callback) batchedRead = null;
        if (batchedWrite == callback) batchedWrite = null;
        if (batchedPriority == callback) batchedPriority = null;
    }

    /** Whether the table may forget it: nothing waits, nothing is registered, nothing is kept. */
    boolean idle() {
        return generation == 0 && !hasWaiters() && (flags & (PERSIST | DIRTY | LISTED)) == 0 && handedOut == 0;
    }

    /** The poller token: generation in the high half, fd in the low half. */
    long token() {
        return ((long) generation << 32) | (fd & 0xFFFF_FFFFL);
    }
}
