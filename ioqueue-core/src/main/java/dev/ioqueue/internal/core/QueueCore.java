package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Failures;
import dev.ioqueue.internal.poll.Interest;
import dev.ioqueue.internal.poll.Poller;
import dev.ioqueue.internal.uring.RingEngine;
import dev.ioqueue.internal.uring.RingStream;
import dev.ioqueue.internal.uring.UringPoller;
import java.io.IOException;
import java.util.Collection;

/**
 * One queue's engine, composed of its parts: the poller (and on io_uring the completion engine on
 * its ring), the registrations, the run queue and the loop; the owned fds bound to it; where
 * unhandled failures go. The API's {@code IoQueue} checks arguments and threads and calls in here.
 * Owner thread only, except what says otherwise ({@link #offer}, {@link #runOnOwner},
 * {@link #schedule}, {@link #stop}, {@link #bind}).
 */
public final class QueueCore {
    /** Backends, as the facade asks for them. */
    public static final int AUTO = 0;
    public static final int EPOLL = 1;
    public static final int IO_URING = 2;
    /** How deep submits run in place inside completions, and drops told at once inside drops ({@link Ownership#dropAtOnce}). */
    static final int MAX_NESTED_SUBMITS = 16;

    public final Ownership ownership;
    final Poller poller;
    /** The ring's poller, or null on epoll. */
    final UringPoller uring;
    /** Completion I/O on the ring, or null on epoll. */
    final RingEngine engine;
    final Registrations registrations;
    final RunQueue runQueue;
    final Loop loop;
    /** Plain fds found non-blocking here (checked once each, until unregistered or closed through this queue). */
    private final FdSet nonBlocking = new FdSet();
    private final UnhandledFailures failures = new UnhandledFailures();
    private int nestedSubmits;
    /** I/O operations submitted here and not yet ended (owner thread; read racily for statistics). */
    int pendingOperations;
    private volatile boolean stopRequested;
    /** The facade of this queue, weakly: an operation or owned fd that outlives it must not keep it from its Cleaner. */
    private java.lang.ref.WeakReference<Object> facade;

    final BoundFds bound = new BoundFds();
    /** Its futures pending, told if the owner thread ends with the queue open. Any thread. */
    public final OrphanedFutures futures;
    /** Lets go of the owned fds bound here as their closes come. */
    final OwnedRelease release = new OwnedRelease(this);
    /** Closes the queue, and settles the ring's staged writes before a close. */
    final QueueShutdown shutdown = new QueueShutdown(this);

    QueueCore(Poller poller, UringPoller uring, Waiters users) {
        Thread owner = Thread.currentThread();
        this.ownership = new Ownership(owner);
        this.futures = new OrphanedFutures(ownership);
        this.poller = poller;
        this.uring = uring;
        this.engine = uring != null ? new RingEngine(uring) : null;
        this.registrations = new Registrations(poller, owner, users);
        this.runQueue = new RunQueue(owner, poller);
        this.loop = new Loop(registrations, runQueue, poller, engine);
        if (engine != null) {
            engine.onKeptWithoutReader(registrations::keptReadable);
            engine.onSettledFailure(loop::defer);
        }
    }

    /**
     * What a Cleaner runs once the facade is unreachable (its thread ended, or another queue
     * replaced it, without a close): {@link QueueRelease#cleanerAction}.
     */
    public Runnable cleanup() {
        return QueueRelease.cleanerAction(poller.cleanup(), bound, futures);
    }

    /**
     * Makes this the queue of every thread (the shared queue): numbers may be closed and made again
     * by any thread between its waits, so a wait that would reuse a kept registration asks the
     * kernel first. Owner thread, before its first wait.
     */
    public void shareWithAllThreads() {
        registrations.numbersChangeBetweenWaits = true;
    }

    /** Whether the queue performs I/O on a ring (io_uring); false on epoll. Any thread. */
    public boolean completionIo() {
        return engine != null;
    }

    public void setFacade(Object f) {
        facade = new java.lang.ref.WeakReference<>(f);
    }

    /** The facade, or null once collected. Any thread. */
    public Object facade() {
        return facade.get();
    }

    // ---- waits and operations ----

    /** Adds a waiter of {@code kind} for {@code fd} (of {@code owned}, or a plain fd if null). */
    public void await(int fd, OwnedFd owned, int kind, Object waiter) {
        if (owned != null) {
            requireHere(owned);
            takeRingPlace(fd, owned, kind, waiter);
        }
        registrations.await(fd, kind, waiter, owned != null);
        if (owned != null && kind == Interest.READ && RingStream.keepsSomething(owned.stream)) {
            // The ring read them ahead, so the OS will not report them: woken at the next batch.
            registrations.keptReadableNextBatch(fd);
        }
    }

    /** Starts {@code op} on {@code fd} (of {@code owned}, or a plain fd if null); the facade checked it is not pending. */
    public void submit(int fd, OwnedFd owned, Operation op) {
        int kind = op.kind();
        if (owned != null) {
            requireHere(owned);
            takeRingPlace(fd, owned, kind, op);
        }
        registrations.refuseOwn("submit", fd);
        registrations.refuseClosing("submit", fd);
        checkNonBlocking(fd, owned);
        boolean mayTry = registrations.mayTry(fd, kind, op); // and: a second waiter refused before any data moves
        boolean inPlace = nestedSubmits < MAX_NESTED_SUBMITS;
        boolean now = op.empty() || (mayTry && inPlace);
        nestedSubmits++;
        try {
            op.start(this, fd, owned, now, inPlace);
        } finally {
            nestedSubmits--;
        }
    }

    /**
     * Frees {@code owned}'s place on the ring for {@code kind} for {@code incoming}, or refuses it:
     * a blocked thread's operation gives it up; a write the kernel made completes first, as epoll
     * wrote it in place before the newcomer came. A blocked thread's newcomer is refused while the
     * turn is being handed to another ({@link OwnedFd#passTurn}).
     */
    private void takeRingPlace(int fd, OwnedFd owned, int kind, Object incoming) {
        Waiter ahead = owned.turnAheadOf(kind, incoming);
        if (ahead != null) rejectSecond(fd, kind, incoming, ahead); // another blocked thread's turn: queued behind it
        if (!RingStream.hasOperation(owned.stream, kind)) return;
        if (RingStream.operation(owned.stream, kind) instanceof Operation holder && Waiter.yieldsTo(holder, incoming) && holder.yieldRingPlace()) return;
        if (kind != Interest.WRITE || !engine.settleWrite(owned.stream)) rejectSecond(fd, kind, incoming, RingStream.operation(owned.stream, kind));
        requireHere(owned); // the settled write's completion may have closed it: refused, as on epoll
    }

    private void rejectSecond(int fd, int kind, Object incoming, Object holder) {
        throw SecondWaiterException.refusal(incoming, holder, "fd " + fd + " already has a " + Registrations.KIND_NAMES[kind]
                + " operation on the queue of thread " + ownership.ownerName() + ": one waiter per fd and event per queue");
    }

    /** Withdraws exactly this waiter; whether it was there. */
    public boolean cancel(int fd, int kind, Object waiter) {
        return registrations.cancel(fd, kind, waiter);
    }

    /** Forgets {@code fd}: its waiters (and an owned fd's operations) are dropped, each told once. */
    public void unregister(int fd, OwnedFd owned) {
        Throwable failure = null;
        if (owned != null) {
            requireHere(owned);
            if (owned.stream != null) {
                try {
                    shutdown.settleWritesBeforeDrop(owned.stream);
                } catch (Throwable t) {
                    failure = t;
                }
                if (owned.ownerClosing || !owned.isOpen() || ownership.isClosed()) { // a completion closed it, or the queue:
                    Failures.rethrow(failure); // that close let go of everything (its number may name another file now)
                    return;
                }
                try {
                    engine.dropOperations(owned.stream);
                } catch (Throwable t) {
                    failure = Failures.add(failure, t);
                }
            }
        } else {
            nonBlocking.remove(fd);
        }
        try {
            registrations.unregister(fd);
        } catch (Throwable t) {
            failure = Failures.add(failure, t);
        }
        Failures.rethrow(failure);
    }

    /** Keeps {@code fd} registered across waits until it is unregistered. */
    public void persist(int fd, OwnedFd owned) {
        if (owned != null) requireHere(owned);
        registrations.persist(fd);
    }

    /** Refuses {@code call} (a close, a Handle.of) on a plain fd whose close is under way on this thread (from its waiters' onDropped). */
    public void refuseClosing(String call, int fd) {
        registrations.refuseClosing(call, fd);
    }

    /** The calling thread closes the plain fd {@code fd} through the library: its waiters here are dropped first. */
    public void releaseBeforeClose(int fd) {
        forgetVerdict(fd);
        Failures.rethrow(registrations.releaseBeforeClose(fd, null));
    }

    /** The number {@code fd} is about to be closed (a handle's): its plain-fd verdict here goes. Owner thread. */
    void forgetVerdict(int fd) {
        nonBlocking.remove(fd);
    }

    /** An fd was made blocking through the library on this thread: every verdict here is checked again (files are shared). */
    public void forgetNonBlocking() {
        nonBlocking.clear();
    }

    /**
     * Whether the queue can no longer wait ({@link dev.ioqueue.internal.poll.Poller#broken}: its
     * epoll fd was closed behind its back); a loop the library runs closes it. Owner thread.
     */
    public boolean broken() {
        return poller.broken();
    }

    /** Whether {@code fd} is one of the queue's own fds. */
    public boolean ownsFd(int fd) {
        return poller.owns(fd);
    }

    /** Whether an owned fd bound here has the number {@code fd} (so a plain close of it would pull it from under its owner). */
    public boolean hasOwned(int fd) {
        return bound.hasNumber(fd);
    }

    private void checkNonBlocking(int fd, OwnedFd o) {
        if (o != null) {
            NonBlocking.require(o);
        } else if (!nonBlocking.contains(fd)) {
            NonBlocking.require(fd);
            nonBlocking.add(fd);
        }
    }

    // ---- owned fds ----

    /**
     * Binds {@code o} to this queue unless it is bound already; returns the queue it is bound to.
     * Any thread.
     *
     * @throws IllegalStateException if this queue is closed, or {@code o} is
     * @throws IllegalArgumentException if {@code o}'s fd is one of this queue's own
     */
    public QueueCore bind(OwnedFd o) {
        QueueCore q = o.queue();
        if (q != null) return q;
        if (!o.isOpen()) throw o.closedException(); // its number may name another file by now, even one of ours
        // A closed queue's own numbers are free, and may name anyone's file now: it refuses as closed (below).
        if (poller.owns(o.fd) && !ownership.isClosed()) {
            throw new IllegalArgumentException(o + ": fd " + o.fd + " is " + poller.describeOwn(o.fd) + ", which only the queue may use or close");
        }
        return bound.bind(o, this);
    }

    /** Before a close made on the owner thread: see {@link QueueShutdown#settleStagedWrites}. */
    void settleStagedWrites() {
        shutdown.settleStagedWrites();
    }

    /** Binds {@code o} here if unbound; refuses one bound to another queue or closed. */
    private void requireHere(OwnedFd o) {
        QueueCore q = bind(o);
        if (q != this) {
            throw new IllegalStateException(o + " belongs to the queue of thread " + q.ownership.ownerName()
                    + ", not to the queue of thread " + ownership.ownerName() + ": use it there (its queue's execute)");
        }
        if (!o.isOpen()) throw o.closedException();
    }

    // ---- failures ----

    /** Where failures of operations go when their completion does not handle them; null restores the default (logging). */
    public void setFailureSink(FailureSink sink) {
        failures.sink(sink);
    }

    void failing(Operation op) {
        failures.failing(op);
    }

    Operation failing() {
        return failures.failing();
    }

    /**
     * An operation's failure that its completion did not handle: it goes to the failure sink, and
     * the owned fd it ran on is closed (as a channel is on an I/O error). Owner thread.
     */
    public void unhandledFailure(int fd, IOException failure) {
        failures.handle(this, fd, failure);
    }

    // ---- the loop ----

    /** Whether anything is pending. */
    public boolean running() {
        return !ownership.isClosed() && loop.pending();
    }

    /** {@code run()}: rounds until nothing is pending or a stop was asked for. */
    public void run() {
        ownership.enterLoop("run");
        try {
            while (running()) {
                loop.round(stopRequested ? 0 : -1); // a stop asked for before this run (its wake-up taken by poll or runOnce): no sleep
                if (stopRequested) {
                    stopRequested = false;
                    break;
                }
            }
        } finally {
            loop.clock.leftLoop();
            ownership.exitLoop();
        }
    }

    /** {@code runOnce()}: one round. */
    public int runOnce(long timeoutNanos) {
        ownership.enterLoop("runOnce");
        try {
            return running() ? loop.round(timeoutNanos) : 0;
        } finally {
            loop.clock.leftLoop();
            ownership.exitLoop();
        }
    }

    /** {@code poll()}: collects without running. */
    public int poll(Collection<? super Runnable> ready, long timeoutNanos) {
        ownership.enterLoop("poll");
        try {
            return running() ? loop.poll(ready, timeoutNanos) : 0;
        } finally {
            loop.clock.leftLoop();
            ownership.exitLoop();
        }
    }

    /** Asks the loop to return from {@code run()} after its current round (or the next run to return after one). Any thread. */
    public void stop() {
        stopRequested = true;
        runQueue.offer(() -> {}); // wakes a sleeping loop; refused once closed, when nothing runs anyway
    }

    /** The round the loop is in, or 0 outside it ({@link RoundClock}). Any thread. */
    long loopRound() {
        return loop.clock.mark();
    }

    /**
     * The queue's counters now: plain fields its owner thread bumps, read here without a lock, so a
     * count may lag by a round and two counts may be from moments apart. Any thread.
     */
    public QueueCounts stats() {
        return QueueCounts.of(this, loop);
    }

    /** How many owned fds are bound here. Any thread. */
    int ownedCount() {
        return bound.count();
    }

    // ---- tasks and timers ----

    /** Queues {@code task}; false once closed. Any thread. */
    public boolean offer(Runnable task) {
        return runQueue.offer(task);
    }

    /** Whether the owner thread has ended (without closing the queue, if it is still open): nothing posted here would run. Any thread. */
    public boolean ownerEnded() {
        return ownership.ownerEnded();
    }

    /** Runs {@code task} now on the owner thread, else posts it; false once closed or its owner ended. Any thread. */
    public boolean runOnOwner(Runnable task) {
        return !ownership.ownerEnded() && runQueue.runOnOwner(task);
    }

    /** A timer, or null once closed. Any thread. */
    public Timer schedule(long delayNanos, Runnable task, Runnable ifDropped) {
        return runQueue.schedule(delayNanos, task, ifDropped);
    }

    public RunQueue.Hold hold() {
        return runQueue.hold();
    }

    // ---- close ----

    /** Closes the queue ({@link QueueShutdown#close}): whether this call closed it. Owner thread. */
    public boolean close() {
        return shutdown.close();
    }

    @Override
    public String toString() {
        return "queue of thread " + ownership.ownerName();
    }
}
