package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.OwnerThread;
import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.base.Failures;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.poll.Interest;
import dev.ioqueue.internal.poll.Poller;
import java.util.Collection;

/**
 * Every rule about the waits of one queue, and the only caller of the poller's interest verbs: one
 * waiter per (fd, kind) ({@link Places}); interest kept while waiters follow each other and released at the next
 * flush otherwise; persist; generations in tokens; premature-close detection and rebuild; drop
 * notification; the batch of collected callbacks. Owner thread only.
 *
 * <p><b>Closes behind the queue's back.</b> The rule is mio's: an fd is unregistered (or closed
 * through the library on the queue that waits on it) before it is closed. A wait again on a kept
 * registration costs no syscall, so a number closed behind the queue's back and made again may
 * go unnoticed until the kernel says so: a failed {@code epoll_ctl} (EBADF, ENOENT, EPERM) is a
 * {@code PrematureCloseError}, and an event for a registration the table no longer knows (its file
 * kept open by a duplicate) rebuilds the epoll set instead of spinning.
 */
public final class Registrations {
    /** Interest verbs, for {@link #failure}. */
    static final int ADD = 1;
    static final int MODIFY = 2;
    static final int REMOVE = 3;

    final Poller poller;
    final Waiters users;
    /** What a registration found gone means: premature closes, and the epoll rebuild. */
    final GoneFds gone = new GoneFds(this);
    /** The one-waiter rule: who holds an event's place on an fd, who gives it up, who is refused. */
    private final Places places = new Places(this);
    final OwnerThread owner;
    final FdTable table = new FdTable();
    final ReadyBatch batch = new ReadyBatch();
    /** Owned fds whose ring keeps what a READ waiter wants, to wake at the next batch ({@link #keptReadableNextBatch}). */
    private final IntList kept = new IntList();
    final Dropped dropped;
    private int nextGeneration = 1;
    /** The plain fds whose close is under way ({@link #releaseBeforeClose}). */
    private final ClosingFds closing = new ClosingFds();
    /** Plain fds' registrations re-armed without a syscall, checked once per period (the loop bounds its sleeps by it). */
    final TrustedRearms trusted = new TrustedRearms();
    boolean closed;
    /** Fds with a registration in the kernel's epoll set now (the table also lists some whose registration went). */
    private int watched;
    /**
     * Any thread may close a number and make it again between this queue's waits, and its waiters
     * cannot unregister (the shared queue: its rule is only "do not close an fd while a thread
     * waits on it"). A wait that would reuse a kept registration then asks the kernel first.
     */
    boolean numbersChangeBetweenWaits;
    /** Callbacks run, and I/O operations' attempts after a wake-up that still would block (owner thread; read racily for statistics). */
    long callbacksRun;
    long spuriousWakeUps;

    public Registrations(Poller poller, Thread owner, Waiters users) {
        this.poller = poller;
        this.owner = new OwnerThread(owner);
        this.users = users;
        this.dropped = new Dropped(users);
    }

    // ---- the waiter API ----

    /** Adds {@code waiter} for {@code kind} on a plain fd; the arguments were checked by the facade. */
    public void await(int fd, int kind, Object waiter) {
        await(fd, kind, waiter, false);
    }

    /** Adds {@code waiter} for {@code kind}, on an owned fd if {@code owned}; the arguments were checked by the facade. */
    public void await(int fd, int kind, Object waiter, boolean owned) {
        refuseOwn("await", fd);
        refuseClosing("await", fd);
        int bit = Interest.bit(kind);
        Registration reg = table.get(fd);
        if (numbersChangeBetweenWaits && reg != null && reg.registered() && !gone.stillNamesItsFile(reg, kind)) reg = null;
        if (reg == null || !reg.registered()) {
            if (reg != null) places.take(reg, kind, waiter); // an operation collected (or handed out by poll) and not yet run holds it
            reg = register(fd, bit);
        } else {
            places.take(reg, kind, waiter);
            if ((reg.interest & bit) == 0) {
                reg = modifyForWaiter(reg, reg.interest | bit);
            } else if (reg.is(Registration.LAPSED) || reg.is(Registration.PERSIST)) {
                reg.clear(Registration.LAPSED); // kept since its last waiter: no syscall, checked once a period
                if (!reg.is(Registration.OWNED)) trusted.add(reg);
            }
        }
        if (owned) reg.set(Registration.OWNED);
        table.addWaiter(reg, kind, waiter);
    }

    /** Withdraws exactly this waiter, waiting or collected; whether it was there. */
    public boolean cancel(int fd, int kind, Object waiter) {
        Registration reg = table.get(fd);
        if (reg == null || waiter == null) return false;
        if (reg.waiter(kind) == waiter) {
            table.takeWaiter(reg, kind);
            if (!reg.is(Registration.PERSIST)) table.markLapsed(reg);
            return true;
        }
        return batch.remove(reg, kind, waiter);
    }

    /** Keeps {@code fd} registered across waits until it is forgotten. */
    public void persist(int fd) {
        refuseOwn("persist", fd);
        refuseClosing("persist", fd);
        Registration reg = table.get(fd);
        if (reg == null || !reg.registered()) reg = register(fd, 0);
        reg.set(Registration.PERSIST);
    }

    /** Drops all known of {@code fd}; found gone while waited on or persisted: a premature close. */
    public void unregister(int fd) {
        Failures.rethrow(release(fd, true, null));
    }

    /**
     * Drops everything known of {@code fd} because the caller is about to close it; tells its
     * waiters, and returns {@code failure} with what they threw added, flat. Meanwhile no waiter may
     * be added to it ({@link #refuseClosing}): one added from a {@code dropped} would outlive the
     * number and wait on whatever file takes it next.
     */
    public Throwable releaseBeforeClose(int fd, Throwable failure) {
        if (closed) return failure;
        closing.push(fd);
        try {
            return release(fd, false, failure);
        } finally {
            closing.pop();
        }
    }

    /** Refuses a waiter for an fd whose close is under way on this thread ({@link #releaseBeforeClose}). */
    void refuseClosing(String call, int fd) {
        closing.refuse(call, fd);
    }

    private Throwable release(int fd, boolean reportGone, Throwable failure) {
        Registration reg = table.get(fd);
        if (reg == null) return failure;
        boolean hadWaiters = table.takeWaiters(reg, dropped);
        batch.takeAll(reg, dropped);
        boolean persistent = reg.is(Registration.PERSIST);
        reg.voidCollected(); // also what poll() handed out
        reg.clear(Registration.PERSIST | Registration.UNCONFIRMED);
        int r = 0;
        if (reg.registered()) {
            r = poller.remove(fd);
            notWatched(reg);
        }
        if (GoneFds.gone(r)) {
            if (reportGone && (hadWaiters || persistent)) {
                failure = Failures.add(failure, QueueEvents.prematureClose(fd, "found at unregister (epoll_ctl: " + Errors.errnoName(-r) + ")"));
            }
        } else if (r < 0) {
            failure = Failures.add(failure, failure(REMOVE, fd, -r));
        }
        return dropped.tell(failure);
    }

    // ---- what I/O operations know of an fd ----

    /**
     * Before an I/O operation's attempt on {@code fd} (not one of the queue's own: the caller
     * refused those first): refuses a second waiter for {@code kind}, and says whether the attempt
     * should run now: yes, unless an attempt found the fd drained for {@code kind} and the OS has not
     * reported it (or ERROR or HANGUP) since.
     */
    public boolean mayTry(int fd, int kind, Object incoming) {
        Registration reg = table.get(fd);
        if (reg == null) return true;
        // Before an attempt takes any data; also when the registration went, as an operation
        // collected (or handed out by poll) and not yet run still holds the place.
        if (places.take(reg, kind, incoming)) table.markLapsed(reg);
        return !reg.registered() || (reg.drained & Interest.bit(kind)) == 0;
    }

    /** An attempt found {@code fd} drained for {@code kind}: the next one waits for the OS. */
    public void drained(int fd, int kind) {
        Registration reg = table.get(fd);
        if (reg != null && reg.registered()) reg.drained |= Interest.bit(kind);
    }

    public int waiterCount() {
        return table.waiterCount();
    }

    /** How many fds have a registration here (waited on, persisted, or kept since their last waiter until the next flush). */
    int registeredCount() {
        return closed ? 0 : watched; // a closed queue's epoll instance is gone, and with it every registration
    }

    public boolean batchEmpty() {
        return batch.isEmpty() && kept.isEmpty();
    }

    // ---- the loop's steps ----

    /** Brings each changed registration in line with its waiters, before every wait; checks the trusted re-arms once a period. */
    public void flush() {
        if (!dropped.isEmpty()) dropped.tellAndRethrow();
        if (!trusted.isEmpty()) trusted.checkIfDue(this);
        int count = table.takeDirty();
        if (count == 0) return;
        Throwable failure = null;
        for (int i = 0; i < count; i++) {
            Registration reg = table.dirty(i);
            reg.clear(Registration.DIRTY | Registration.LAPSED);
            if (!reg.registered()) {
                table.removeIfIdle(reg);
                continue;
            }
            int want = reg.wanted();
            if (want == reg.interest && want != 0) continue;
            int r = want == 0 ? poller.remove(reg.fd) : poller.modify(reg.fd, want, reg.token());
            if (r >= 0) {
                if (want == 0) notWatched(reg);
                else reg.interest = want;
            } else {
                failure = gone.failedOnKept(reg, want == 0 ? REMOVE : MODIFY, r, "while polling", failure);
            }
        }
        Failures.rethrow(dropped.tell(failure));
    }

    /** Collects the woken waiters of the last wait's {@code n} events into the batch. */
    public void collect(int n) {
        boolean stale = false;
        for (int i = 0; i < n; i++) {
            long token = poller.token(i);
            if (token < 0) continue; // the wake-up
            int fd = (int) token;
            Registration reg = table.get(fd);
            if (reg == null || reg.generation != (int) (token >>> 32)) {
                stale = true;
                continue;
            }
            int woke = reg.wake(poller.events(i), batch);
            table.waitersTaken(woke);
            // Released at the flush unless re-armed; a persisted fd only when it reports events nobody waits for.
            if (woke == 0) table.markDirty(reg);
            else if (!reg.is(Registration.PERSIST)) table.markLapsed(reg);
        }
        if (stale) gone.rebuild();
    }

    /**
     * {@link #keptReadable} at the start of the next batch, not this one (a waiter that waits again
     * without reading must not spin inside one batch). Owner thread; nothing allocated.
     */
    public void keptReadableNextBatch(int fd) {
        kept.add(fd);
    }

    /**
     * The ring of this queue keeps bytes (or an end) it read ahead for the owned fd {@code fd}: the
     * OS will not report them, so its READ waiter, if any, is woken as if it had.
     */
    public void keptReadable(int fd) {
        Registration reg = table.get(fd);
        if (reg == null || reg.read == null) return;
        int woke = reg.wake(Interest.READ_BIT, batch);
        table.waitersTaken(woke);
        if (!reg.is(Registration.PERSIST)) table.markLapsed(reg);
    }

    /** Runs the collected callbacks; returns how many ran. A throw leaves the rest for next time. */
    public int runBatch() {
        for (int i = 0, n = kept.take(); i < n; i++) keptReadable(kept.get(i));
        int ran = 0;
        while (!batch.isEmpty()) {
            boolean live = batch.live();
            Registration reg = batch.registration();
            int mask = batch.eventMask();
            Object callback = batch.callback();
            batch.pop();
            if (!live) continue;
            ran++;
            fire(reg, callback, mask);
        }
        return ran;
    }

    /** Runs a waiter's callback. */
    void fire(Registration reg, Object callback, int mask) {
        reg.ran(callback);
        callbacksRun++;
        Waiters.ready(users, callback, reg.fd, mask);
    }

    /** Moves the collected callbacks to {@code ready} as Runnables; returns how many. */
    public int drainBatch(Collection<? super Runnable> ready) {
        for (int i = 0, n = kept.take(); i < n; i++) keptReadable(kept.get(i));
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
        for (Registration reg : table.snapshot()) table.takeWaiters(reg, dropped);
        while (!batch.isEmpty()) {
            if (batch.live()) dropped.add(batch.registration().fd, batch.callback());
            batch.pop();
        }
        return dropped.tell(failure);
    }

    // ---- registrations ----

    void refuseOwn(String call, int fd) {
        if (!closed && poller.owns(fd)) {
            throw new IllegalArgumentException(call + ": fd " + fd + " is " + poller.describeOwn(fd) + ", which only the queue may use or close");
        }
    }

    Registration register(int fd, int interest) {
        int generation = nextGeneration;
        nextGeneration = (generation + 1) & Integer.MAX_VALUE; // 31 bits: a token is never negative, as the wake-up's is
        if (nextGeneration == 0) nextGeneration = 1;
        long token = ((long) generation << 32) | (fd & 0xFFFF_FFFFL);
        int r = poller.add(fd, interest, token);
        if (r == -Errno.EEXIST) {
            // The kernel still holds a registration the table forgot (its fd was closed while a
            // dup kept the file open, and the number came back): take it over.
            r = poller.modify(fd, interest, token);
        }
        if (r < 0) throw failure(ADD, fd, -r);
        // Only now, with the number accepted by the kernel, does the table hold anything for it.
        Registration reg = table.getOrCreate(fd);
        if (!reg.registered()) watched++;
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
        if (GoneFds.gone(r)) {
            boolean hadWaiters = reg.hasWaiters();
            gone.discard(reg);
            if (hadWaiters) {
                Failures.rethrow(dropped.tell(QueueEvents.prematureClose(reg.fd,
                        "found when it was waited on again (epoll_ctl: " + Errors.errnoName(-r) + ")")));
            }
            return register(reg.fd, mask); // only a persisted or just-fired registration went stale
        }
        throw failure(MODIFY, reg.fd, -r);
    }

    static final String[] KIND_NAMES = {"READ", "WRITE", "PRIORITY_READ"};

    /** The exception for a failed interest verb, with what its errno means for this backend. */
    RuntimeException failure(int verb, int fd, int errno) {
        String call = switch (verb) {
            case ADD -> "epoll_ctl(EPOLL_CTL_ADD)";
            case MODIFY -> "epoll_ctl(EPOLL_CTL_MOD)";
            default -> "epoll_ctl(EPOLL_CTL_DEL)";
        };
        return Errors.syscall(call, fd, errno, poller.explain(errno));
    }

    /** The poller no longer holds {@code reg}'s fd. */
    void notWatched(Registration reg) {
        if (reg.registered()) watched--;
        reg.clear(Registration.OWNED);
        reg.generation = 0;
        reg.interest = 0;
        reg.drained = 0;
        table.removeIfIdle(reg);
    }
}
