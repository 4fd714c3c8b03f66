package dev.ioqueue.internal;

import dev.ioqueue.PrematureCloseError;
import dev.ioqueue.ReadyCallback;
import dev.ioqueue.ReadyEvent;
import dev.ioqueue.internal.os.Errno;
import java.util.Collection;

/**
 * Every rule about the fds of one queue, and the only caller of the poller's interest verbs: one
 * waiter per (fd, event); interest kept while waiters follow each other and released at the next
 * flush otherwise; persist; generations in tokens; premature-close detection and rebuild; drop
 * notification; the batch of collected callbacks. Owner thread only.
 *
 * <p><b>Trust.</b> A callback waiting again on its own fd, or any wait on a persisted fd, keeps the
 * registration without a syscall. If the fd was closed behind the queue's back and the number came
 * back, the registration is gone: {@code Fds}/{@code Sockets} report new fds at once
 * ({@link #fdOpened}); otherwise the check at the end of the {@link TrustedRearms} period finds it.
 */
public final class Registrations {
    private static final int CLOCK_ROUNDS = 64;

    final Poller poller;
    /** Completion I/O on the queue's ring; null on epoll. */
    final RingStreams streams;
    /** What a registration found gone means: premature closes, and the epoll rebuild. */
    private final GoneFds gone = new GoneFds(this);
    /** A premature close found outside the loop (a number made again while ring operations waited), raised at the next flush. */
    private Throwable deferred;
    final Thread owner;
    final FdTable table = new FdTable();
    final ReadyBatch batch = new ReadyBatch();
    final Dropped dropped = new Dropped();
    private final TrustedRearms trusted = new TrustedRearms();
    private int polls; // since the clock was last read for trusted
    private boolean confirmDue; // a period of trusted has ended: check at the next flush
    private int nextGeneration = 1;
    /** Whether this is the shared queue's: its registered fds are published for other threads' closes. */
    private boolean publish;
    /** The registration whose callback is running, or null. */
    private Registration running;
    boolean closed;

    /** On the owner thread, which the fd helpers then reach through {@link ThreadRegistrations}. */
    public Registrations(Poller poller, Thread owner) {
        this.poller = poller;
        this.streams = poller.streams();
        this.owner = owner;
        ThreadRegistrations.attach(this);
    }

    // ---- the waiter API ----

    /** Adds a waiter; the arguments were checked by the facade. */
    public void await(int fd, ReadyEvent event, ReadyCallback callback) {
        refuseOwn("await", fd);
        int kind = event.ordinal();
        int bit = Interest.bit(kind);
        if (streams != null) streams.checkBeforeUse(fd, event, owner, dropped);
        Registration reg = table.get(fd);
        if (reg == null || !reg.registered()) {
            reg = register(fd, bit);
        } else {
            if (reg.waiter(kind) != null) rejectSecondWaiter(reg, event);
            if ((reg.interest & bit) == 0) {
                reg = modifyForWaiter(reg, reg.interest | bit);
            } else if (reg.is(Registration.LAPSED) || reg.is(Registration.PERSIST)) {
                // Kept since its last waiter: trusted from its own callback, or when persisted;
                // anyone else may have closed the fd and got the number back, so check it now.
                if (reg.is(Registration.SUSPECT) || (reg != running && !reg.is(Registration.PERSIST))) {
                    reg = modifyForWaiter(reg, reg.interest);
                } else if (trusted.add(reg)) {
                    poller.wakeAt(trusted.deadline()); // trusted; a new period costs one timerfd_settime
                }
            }
        }
        table.addWaiter(reg, kind, callback);
    }

    /** Withdraws exactly this waiter, waiting or collected; whether it was there. */
    public boolean cancel(int fd, ReadyEvent event, ReadyCallback callback) {
        Registration reg = table.get(fd);
        if (reg == null || callback == null) return false;
        int kind = event.ordinal();
        if (reg.waiter(kind) == callback) {
            table.takeWaiter(reg, kind);
            if (!reg.is(Registration.PERSIST)) table.markLapsed(reg);
            return true;
        }
        return batch.remove(reg, kind, callback);
    }

    /** Keeps {@code fd} registered across waits until it is forgotten. */
    public void persist(int fd) {
        refuseOwn("persist", fd);
        Registration reg = table.get(fd);
        if (reg == null || !reg.registered()) reg = register(fd, 0);
        reg.set(Registration.PERSIST);
    }

    /** Drops all known of {@code fd}; found gone while waited on or persisted: a premature close. */
    public void unregister(int fd) {
        release(fd, true);
    }

    /** Makes this the shared queue's: every fd it registers is published ({@link PublishedFds}). */
    public void publishFds() {
        publish = true;
    }

    /** Drops everything known of {@code fd} because the caller is about to close it. */
    public void releaseBeforeClose(int fd) {
        if (publish) PublishedFds.remove(fd); // the close it stands for is the one that ends the number's waits
        if (!closed) release(fd, false);
    }

    private void release(int fd, boolean reportGone) {
        if (streams != null) streams.forget(fd, dropped); // its ring requests end before the fd may close
        Registration reg = table.get(fd);
        if (reg == null) {
            Failures.rethrow(dropped.tell(null));
            return;
        }
        boolean hadWaiters = table.takeWaiters(reg, dropped);
        batch.takeAll(reg, dropped);
        boolean persistent = reg.is(Registration.PERSIST);
        reg.epoch++; // also voids what poll() handed out
        reg.clear(Registration.PERSIST | Registration.SUSPECT);
        int r = 0;
        if (reg.registered()) {
            r = poller.remove(fd);
            notWatched(reg);
        }
        Throwable failure = null;
        if (r == -Errno.EBADF || r == -Errno.ENOENT) {
            if (reportGone && (hadWaiters || persistent)) {
                failure = new PrematureCloseError(fd, "found at unregister (epoll_ctl: " + Errno.name(-r) + ")");
            }
        } else if (r < 0) {
            failure = poller.failure(Poller.REMOVE, fd, -r);
        }
        Failures.rethrow(dropped.tell(failure));
    }

    /** {@code fd} was just made here: what its number held is gone; forget it, or have the flush check it if waited on. */
    void fdOpened(int fd) {
        if (closed) return;
        if (streams != null && streams.forget(fd, dropped)) {
            deferred = Failures.add(deferred, new PrematureCloseError(fd, "found when its number was made again while ring operations waited on it"));
        }
        Registration reg = table.get(fd);
        if (reg == null || !reg.registered()) return;
        if (reg.hasWaiters()) {
            reg.set(Registration.SUSPECT);
            table.markDirty(reg);
            return;
        }
        reg.epoch++; // callbacks collected for the old file must not run for the new one
        reg.clear(Registration.PERSIST | Registration.LAPSED | Registration.UNCONFIRMED);
        notWatched(reg);
    }

    // ---- what I/O operations know of an fd ----

    /**
     * Before an I/O operation's attempt on {@code fd}: refuses the queue's own fds, a second waiter
     * for {@code event}, and a blocking fd (checked once, until the fd is closed or made again
     * here), and says whether the attempt should run now: yes, unless an attempt found the fd
     * drained for {@code event} and the OS has not reported it (or ERROR or HANGUP) since.
     */
    public boolean mayTry(int fd, ReadyEvent event) {
        refuseOwn("submit", fd);
        NonBlockingFds.check(fd);
        Registration reg = table.get(fd);
        int kind = event.ordinal();
        if (streams != null) streams.checkBeforeUse(fd, event, owner, dropped);
        if (reg == null || !reg.registered()) return true;
        if (reg.waiter(kind) != null) rejectSecondWaiter(reg, event); // before an attempt takes any data
        return (reg.drained & Interest.bit(kind)) == 0;
    }

    /** An attempt found {@code fd} drained for {@code kind}: the next one waits for the OS. */
    public void drained(int fd, int kind) {
        Registration reg = table.get(fd);
        if (reg != null && reg.registered()) reg.drained |= Interest.bit(kind);
    }

    public int waiterCount() {
        return table.waiterCount();
    }

    public boolean batchEmpty() {
        return batch.isEmpty();
    }

    // ---- the loop's steps ----

    /**
     * Brings each changed registration in line with its waiters, before every wait. The trust
     * check runs here too: with every re-armed waiter back in the table, a registration found gone
     * is always a premature close.
     */
    public void flush() {
        if (deferred != null || !dropped.isEmpty()) {
            Throwable failure = deferred;
            deferred = null;
            Failures.rethrow(dropped.tell(failure));
        }
        if (confirmDue) {
            confirmDue = false;
            confirm(System.nanoTime());
        }
        int count = table.takeDirty();
        if (count == 0) return;
        Throwable failure = null;
        for (int i = 0; i < count; i++) {
            Registration reg = table.dirty(i);
            boolean suspect = reg.is(Registration.SUSPECT);
            reg.clear(Registration.DIRTY | Registration.LAPSED | Registration.SUSPECT);
            if (!reg.registered()) {
                table.removeIfIdle(reg);
                continue;
            }
            int want = reg.wanted();
            if (want == reg.interest && want != 0 && !suspect) continue;
            int r = want == 0 ? poller.remove(reg.fd) : poller.modify(reg.fd, want, reg.token());
            if (r >= 0) {
                if (want == 0) notWatched(reg);
                else reg.interest = want;
            } else {
                failure = gone.failedOnKept(reg, want == 0 ? Poller.REMOVE : Poller.MODIFY, r, "while polling", failure);
            }
        }
        Failures.rethrow(dropped.tell(failure));
    }

    /** Checks, with one MOD each, the registrations re-armed on trust during the period that ended. */
    private void confirm(long now) {
        int n = trusted.endPeriod(now);
        Throwable failure = null;
        for (int i = 0; i < n; i++) {
            Registration reg = trusted.leaving(i);
            boolean check = reg.is(Registration.UNCONFIRMED) && reg.registered() && table.get(reg.fd) == reg;
            reg.clear(Registration.UNCONFIRMED);
            if (!check) {
                table.removeIfIdle(reg);
                continue;
            }
            int r = poller.modify(reg.fd, reg.interest, reg.token());
            if (r < 0) failure = gone.failedOnKept(reg, Poller.MODIFY, r, "when checking a wait re-armed from its own callback", failure);
        }
        if (!trusted.isEmpty()) poller.wakeAt(trusted.deadline());
        Failures.rethrow(dropped.tell(failure));
    }

    /** Collects the woken waiters into the batch; notes a trust period's end (timer, or clock every 64 polls). */
    public void collect(int n) {
        boolean timerFired = collectEvents(n);
        if (!trusted.isEmpty() && (timerFired || ++polls % CLOCK_ROUNDS == 0)) {
            confirmDue = System.nanoTime() - trusted.deadline() >= 0;
        }
    }

    /** Returns whether the poller's timer fired. */
    private boolean collectEvents(int n) {
        boolean timerFired = false;
        boolean stale = false;
        for (int i = 0; i < n; i++) {
            long token = poller.token(i);
            if (token < 0) { // the wake-up, or the timer
                timerFired |= token == Poller.TIMER;
                continue;
            }
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
        return timerFired;
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
            fire(reg, callback, mask);
        }
        return ran;
    }

    /** Runs a waiter's callback; while it runs, a wait again on its own fd may trust the registration. */
    void fire(Registration reg, ReadyCallback callback, int mask) {
        running = reg;
        try {
            callback.onReady(reg.fd, Interest.events(mask));
        } finally {
            running = null;
        }
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
        ThreadRegistrations.detach(this);
        for (Registration reg : table.snapshot()) table.takeWaiters(reg, dropped);
        if (streams != null) streams.close(dropped);
        while (!batch.isEmpty()) {
            if (batch.live()) dropped.add(batch.registration().fd, batch.callback());
            batch.pop();
        }
        return dropped.tell(failure);
    }

    // ---- registrations ----

    private void refuseOwn(String call, int fd) {
        if (!closed && poller.owns(fd)) {
            throw new IllegalArgumentException(call + ": fd " + fd + " is " + poller.describeOwn(fd) + ", which only the queue may use or close");
        }
    }

    Registration register(int fd, int interest) {
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
        if (publish) PublishedFds.add(fd);
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
            gone.discard(reg);
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
            gone.discard(reg);
            Failures.rethrow(dropped.tell(new PrematureCloseError(reg.fd,
                    "found when its number was waited on again (epoll_ctl: " + Errno.name(-r) + ")")));
        }
        throw new IllegalStateException("fd " + reg.fd + " already has a " + event
                + " waiter on the queue of thread " + owner.getName() + ": one waiter per fd and event per thread");
    }

    /** The poller no longer holds {@code reg}'s fd. */
    void notWatched(Registration reg) {
        reg.generation = 0;
        reg.interest = 0;
        reg.drained = 0;
        table.removeIfIdle(reg);
    }
}
