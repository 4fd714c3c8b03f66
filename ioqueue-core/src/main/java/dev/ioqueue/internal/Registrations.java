package dev.ioqueue.internal;

import dev.ioqueue.PrematureCloseError;
import dev.ioqueue.ReadyCallback;
import dev.ioqueue.ReadyEvent;
import dev.ioqueue.internal.os.Errno;
import java.util.Arrays;
import java.util.Collection;

/**
 * Every rule about the fds of one queue, and the only caller of the poller's interest verbs: one
 * waiter per (fd, event); the registration kept while waiters follow each other (no
 * {@code epoll_ctl} in steady state) and released before the next sleep otherwise; persist; the
 * generation in each token; premature-close detection and the rebuild after a stale event; drop
 * notification; the batch of collected callbacks. Owner thread only.
 *
 * <p><b>Trust.</b> A callback that waits again on its own fd reuses the kept registration without a
 * syscall. If the callback closed the fd behind the queue's back and got the number back, that
 * registration is gone: an fd created through {@code Fds}/{@code Sockets} on this thread tells the
 * queue at once ({@link #fdOpened}), and any other re-arm made on trust that the poller has not
 * confirmed by an event within {@link #CONFIRM_NANOS} to {@code 2 *} that is checked with one
 * {@code EPOLL_CTL_MOD}. So no waiter can be lost, and the ring pays nothing.
 */
public final class Registrations {
    /** How long a re-arm made on trust may go unconfirmed before one MOD checks it. */
    public static final long CONFIRM_NANOS = TrustedRearms.PERIOD_NANOS;

    private final Poller poller;
    final Thread owner;
    private final FdTable table = new FdTable();
    private final ReadyBatch batch = new ReadyBatch();
    private final Dropped dropped = new Dropped();
    private Registration[] dirty = new Registration[16];
    private int dirtyCount;
    private final TrustedRearms trusted = new TrustedRearms();
    private int waiterCount;
    private int nextGeneration = 1;
    /** The registration whose callback is running, or null. */
    Registration running;
    boolean closed;

    public Registrations(Poller poller, Thread owner) {
        this.poller = poller;
        this.owner = owner;
    }

    // ---- the waiter API ----

    /** Adds a waiter; the arguments were checked by the facade. */
    public void await(int fd, ReadyEvent event, ReadyCallback callback) {
        if (poller.owns(fd)) throw new IllegalArgumentException("fd " + fd + " is " + poller.describeOwn(fd));
        int kind = event.ordinal();
        int bit = Interest.bit(kind);
        Registration reg = table.get(fd);
        if (reg == null || !reg.registered()) {
            reg = register(fd, bit);
        } else {
            if (reg.waiter(kind) != null) rejectSecondWaiter(reg, event);
            if ((reg.interest & bit) == 0) {
                reg = modifyForWaiter(reg, reg.interest | bit);
            } else if (reg.is(Registration.LAPSED)) {
                if (reg == running && !reg.is(Registration.SUSPECT)) trusted.add(reg);
                else reg = modifyForWaiter(reg, reg.interest); // may have been closed and reused
            }
        }
        reg.setWaiter(kind, callback);
        waiterCount++;
    }

    /** Withdraws exactly this waiter, waiting or collected; whether it was there. */
    public boolean cancel(int fd, ReadyEvent event, ReadyCallback callback) {
        Registration reg = table.get(fd);
        if (reg == null || callback == null) return false;
        int kind = event.ordinal();
        if (reg.waiter(kind) == callback) {
            reg.setWaiter(kind, null);
            waiterCount--;
            if (!reg.is(Registration.PERSIST)) markLapsed(reg);
            return true;
        }
        return batch.remove(reg, kind, callback);
    }

    /** Keeps {@code fd} registered across waits until it is forgotten. */
    public void persist(int fd) {
        if (poller.owns(fd)) throw new IllegalArgumentException("fd " + fd + " is " + poller.describeOwn(fd));
        Registration reg = table.get(fd);
        if (reg == null || !reg.registered()) reg = register(fd, 0);
        reg.set(Registration.PERSIST);
    }

    /**
     * Drops everything known of {@code fd}: waiters (told through {@code onDropped}), collected
     * callbacks, the registration and the persist mark. No syscall when nothing is registered.
     *
     * @param strict whether a registration found gone is a {@link PrematureCloseError}
     */
    public void forget(int fd, boolean strict) {
        Registration reg = table.get(fd);
        if (reg == null) return;
        boolean hadWaiters = takeWaiters(reg);
        batch.takeAll(reg, dropped);
        boolean persistent = reg.is(Registration.PERSIST);
        reg.epoch++; // also voids what poll() handed out
        reg.clear(Registration.PERSIST | Registration.SUSPECT);
        int r = 0;
        if (reg.registered()) {
            r = poller.remove(fd);
            unregistered(reg);
        }
        Throwable failure = null;
        if (r == -Errno.EBADF || r == -Errno.ENOENT) {
            if (strict && (hadWaiters || persistent)) {
                failure = new PrematureCloseError(fd, "found at unregister (epoll_ctl: " + Errno.name(-r) + ")");
            }
        } else if (r < 0) {
            failure = poller.failure(Poller.REMOVE, fd, -r);
        }
        Failures.rethrow(dropped.tell(failure));
    }

    /**
     * {@code fd} was just created on this thread, so whatever was registered under its number
     * belongs to a file closed behind the queue's back: forget it without a syscall, or, if
     * waiters still wait on it, have the next flush check it (they are then dropped and reported).
     */
    public void fdOpened(int fd) {
        Registration reg = table.get(fd);
        if (reg == null || !reg.registered()) return;
        if (reg.hasWaiters()) {
            reg.set(Registration.SUSPECT);
            markDirty(reg);
            return;
        }
        reg.epoch++; // callbacks collected for the old file must not run for the new one
        reg.clear(Registration.PERSIST | Registration.LAPSED | Registration.UNCONFIRMED);
        unregistered(reg);
    }

    public int waiterCount() {
        return waiterCount;
    }

    public boolean batchEmpty() {
        return batch.isEmpty();
    }

    /** Whether re-arms made on trust wait for confirmation: the loop must not sleep past {@link #confirmDeadline()}. */
    public boolean confirming() {
        return !trusted.isEmpty();
    }

    public long confirmDeadline() {
        return trusted.deadline();
    }

    // ---- the loop's steps ----

    /** Brings each changed registration in line with its waiters; called before every wait. */
    public void flush() {
        int count = dirtyCount;
        if (count == 0) return;
        dirtyCount = 0;
        Throwable failure = null;
        for (int i = 0; i < count; i++) {
            Registration reg = dirty[i];
            dirty[i] = null;
            boolean suspect = reg.is(Registration.SUSPECT);
            reg.clear(Registration.DIRTY | Registration.LAPSED | Registration.SUSPECT);
            if (!reg.registered()) {
                removeIfIdle(reg);
                continue;
            }
            int want = reg.wanted();
            if (want == reg.interest && want != 0 && !suspect) continue;
            int r = want == 0 ? poller.remove(reg.fd) : poller.modify(reg.fd, want, reg.token());
            if (r >= 0) {
                if (want == 0) unregistered(reg);
                else reg.interest = want;
            } else if (r == -Errno.EBADF || r == -Errno.ENOENT) {
                if (reg.hasWaiters()) {
                    failure = Failures.add(failure, new PrematureCloseError(reg.fd, "found while polling (epoll_ctl: " + Errno.name(-r) + ")"));
                    abandon(reg);
                } else {
                    unregistered(reg); // closed after its waiter ran: nothing is lost
                }
            } else {
                failure = Failures.add(failure, poller.failure(want == 0 ? Poller.REMOVE : Poller.MODIFY, reg.fd, -r));
                markDirty(reg); // try again next time
            }
        }
        Failures.rethrow(dropped.tell(failure));
    }

    /**
     * Checks, with one MOD each, the re-arms made on trust that no event has confirmed since the
     * previous check; those found gone are premature closes. Called by the loop when
     * {@link #confirmDeadline()} has passed.
     */
    public void confirm(long now) {
        int n = trusted.endPeriod(now);
        Throwable failure = null;
        for (int i = 0; i < n; i++) {
            Registration reg = trusted.leaving(i);
            boolean check = reg.is(Registration.UNCONFIRMED) && reg.registered() && table.get(reg.fd) == reg;
            reg.clear(Registration.UNCONFIRMED);
            if (!check) {
                removeIfIdle(reg);
                continue;
            }
            int r = poller.modify(reg.fd, reg.interest, reg.token());
            if (r == -Errno.EBADF || r == -Errno.ENOENT) {
                if (reg.hasWaiters()) {
                    failure = Failures.add(failure, new PrematureCloseError(reg.fd,
                            "found when checking a wait re-armed from its own callback (epoll_ctl: " + Errno.name(-r) + ")"));
                    abandon(reg);
                } else {
                    unregistered(reg);
                }
            } else if (r < 0) {
                failure = Failures.add(failure, poller.failure(Poller.MODIFY, reg.fd, -r));
            }
        }
        Failures.rethrow(dropped.tell(failure));
    }

    /** Collects the waiters woken by the poller's last {@code n} events into the batch. */
    public void collect(int n) {
        boolean stale = false;
        for (int i = 0; i < n; i++) {
            long token = poller.token(i);
            if (token == Poller.WAKE) continue;
            int fd = (int) token;
            Registration reg = table.get(fd);
            if (reg == null || reg.generation != (int) (token >>> 32)) {
                stale = true;
                continue;
            }
            reg.clear(Registration.UNCONFIRMED);
            int bits = poller.events(i);
            int mask = bits;
            boolean hungUp = (bits & (Interest.ERROR_BIT | Interest.HANGUP_BIT)) != 0;
            boolean woke = false;
            if (reg.read != null && (hungUp || (bits & Interest.READ_BIT) != 0)) {
                batch.add(reg, 0, mask, reg.read);
                reg.read = null;
                waiterCount--;
                woke = true;
            }
            if (reg.write != null && (hungUp || (bits & Interest.WRITE_BIT) != 0)) {
                batch.add(reg, 1, mask, reg.write);
                reg.write = null;
                waiterCount--;
                woke = true;
            }
            if (reg.priority != null && (hungUp || (bits & Interest.PRIORITY_BIT) != 0)) {
                batch.add(reg, 2, mask, reg.priority);
                reg.priority = null;
                waiterCount--;
                woke = true;
            }
            // Narrow before the next sleep unless re-armed; a persisted fd is narrowed only when
            // it reports events nobody waits for, so an unread fd cannot spin the loop.
            if (!woke) {
                markDirty(reg);
            } else {
                if (!reg.is(Registration.PERSIST)) markLapsed(reg);
            }
        }
        if (stale) rebuild();
    }

    /** Runs the collected callbacks; returns how many ran. A throw leaves the rest for next time. */
    public int runBatch() {
        int ran = 0;
        while (!batch.isEmpty()) {
            boolean live = batch.live();
            Registration reg = batch.registration();
            int mask = batch.eventMask();
            ReadyCallback callback = batch.callback();
            batch.pop();
            if (!live) continue;
            ran++;
            running = reg;
            try {
                callback.onReady(reg.fd, Interest.events(mask));
            } finally {
                running = null;
            }
        }
        return ran;
    }

    /** Moves the collected callbacks to {@code ready} as Runnables; returns how many. */
    public int drainBatch(Collection<? super Runnable> ready) {
        int n = 0;
        while (!batch.isEmpty()) {
            if (batch.live()) {
                Registration reg = batch.registration();
                reg.handedOut++;
                ready.add(new BoundCallback(this, reg, batch.eventMask(), batch.epoch(), batch.callback()));
                n++;
            }
            batch.pop();
        }
        return n;
    }

    /** Takes every waiter and collected callback and tells them they were dropped; returns what they threw. */
    public Throwable close(Throwable failure) {
        closed = true;
        for (Registration reg : table.snapshot()) takeWaiters(reg);
        while (!batch.isEmpty()) {
            if (batch.live()) dropped.add(batch.registration().fd, batch.callback());
            batch.pop();
        }
        return dropped.tell(failure);
    }

    // ---- registrations ----

    private Registration register(int fd, int interest) {
        int generation = nextGeneration++;
        if (nextGeneration == 0) nextGeneration = 1;
        long token = ((long) generation << 32) | (fd & 0xFFFF_FFFFL);
        int r = poller.add(fd, interest, token);
        if (r == -Errno.EEXIST) {
            // The kernel still holds a registration the table forgot (its fd was closed while a
            // dup kept the file open, and the number came back): take it over.
            r = poller.modify(fd, interest, token);
        }
        if (r < 0) throw poller.failure(Poller.ADD, fd, -r);
        // Only now, with the number accepted by the kernel, does the table hold anything for it.
        Registration reg = table.getOrCreate(fd);
        reg.generation = generation;
        reg.interest = interest;
        return reg;
    }

    private Registration modifyForWaiter(Registration reg, int mask) {
        int r = poller.modify(reg.fd, mask, reg.token());
        if (r >= 0) {
            reg.interest = mask;
            reg.clear(Registration.LAPSED | Registration.UNCONFIRMED);
            return reg;
        }
        if (r == -Errno.ENOENT || r == -Errno.EBADF) {
            boolean hadWaiters = reg.hasWaiters();
            abandon(reg);
            if (hadWaiters) {
                Failures.rethrow(dropped.tell(new PrematureCloseError(reg.fd,
                        "found when it was waited on again (epoll_ctl: " + Errno.name(-r) + ")")));
            }
            return register(reg.fd, mask); // only a persisted or just-fired registration went stale
        }
        throw poller.failure(Poller.MODIFY, reg.fd, -r);
    }

    private void rejectSecondWaiter(Registration reg, ReadyEvent event) {
        // Is the first waiter's registration alive, or was its fd closed and the number reused?
        int r = poller.modify(reg.fd, reg.interest, reg.token());
        if (r == -Errno.ENOENT || r == -Errno.EBADF) {
            abandon(reg);
            Failures.rethrow(dropped.tell(new PrematureCloseError(reg.fd,
                    "found when its number was waited on again (epoll_ctl: " + Errno.name(-r) + ")")));
        }
        throw new IllegalStateException("fd " + reg.fd + " already has a " + event
                + " waiter on the queue of thread " + owner.getName() + ": one waiter per fd and event per thread");
    }

    /** Drops everything known of a registration found gone; the caller tells {@link #dropped}. */
    private void abandon(Registration reg) {
        takeWaiters(reg);
        batch.takeAll(reg, dropped);
        reg.epoch++;
        reg.clear(Registration.PERSIST | Registration.SUSPECT | Registration.UNCONFIRMED);
        unregistered(reg);
    }

    /**
     * epoll reported a registration the table does not know: a closed fd whose file a dup keeps
     * open. epoll can only drop it through an fd of that file, which the queue does not have, so
     * move every known registration to a fresh epoll instance.
     */
    private void rebuild() {
        poller.reset();
        Throwable failure = null;
        for (Registration reg : table.snapshot()) {
            if (!reg.registered()) continue;
            int r = poller.add(reg.fd, reg.interest, reg.token());
            if (r < 0) {
                if (reg.hasWaiters()) {
                    failure = Failures.add(failure, new PrematureCloseError(reg.fd, "found while polling (epoll_ctl: " + Errno.name(-r) + ")"));
                }
                abandon(reg);
            }
        }
        Failures.rethrow(dropped.tell(failure));
    }

    private boolean takeWaiters(Registration reg) {
        boolean any = false;
        for (int kind = 0; kind < Interest.KINDS; kind++) {
            ReadyCallback w = reg.waiter(kind);
            if (w != null) {
                reg.setWaiter(kind, null);
                waiterCount--;
                dropped.add(reg.fd, w);
                any = true;
            }
        }
        return any;
    }

    private void unregistered(Registration reg) {
        reg.generation = 0;
        reg.interest = 0;
        removeIfIdle(reg);
    }

    void removeIfIdle(Registration reg) {
        if (reg.idle() && table.get(reg.fd) == reg) table.remove(reg);
    }

    private void markDirty(Registration reg) {
        if (reg.is(Registration.DIRTY)) return;
        reg.set(Registration.DIRTY);
        if (dirtyCount == dirty.length) dirty = Arrays.copyOf(dirty, dirtyCount * 2);
        dirty[dirtyCount++] = reg;
    }

    /** {@code reg} lost a waiter this round: its registration is kept until the next flush. */
    private void markLapsed(Registration reg) {
        reg.set(Registration.LAPSED);
        markDirty(reg);
    }
}
