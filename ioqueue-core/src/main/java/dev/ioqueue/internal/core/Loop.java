package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Failures;
import dev.ioqueue.internal.poll.Poller;
import dev.ioqueue.internal.uring.RingEngine;
import java.util.Collection;

/**
 * One round of a queue's loop, composed of its parts: flush the registrations, wait in the
 * poller (bounded by the next timer), collect what woke, then run the ready callbacks, the ring's
 * completions, the due timers and the posted tasks; or hand them out instead ({@link #poll}).
 * Owner thread only; the facade has checked the thread and that the loop is not re-entered.
 */
final class Loop {
    private final Registrations registrations;
    private final RunQueue runQueue;
    private final Poller poller;
    /** Completion I/O on the poller's ring; null on epoll. */
    private final RingEngine engine;
    /** Owned fds whose close waits for the kernel to end their ring requests: the loop must go on for them. */
    int releasing;
    /** The round under way, for the watchdog; and the count of rounds. */
    final RoundClock clock = new RoundClock();
    /** Waits in the OS that could sleep and returned (owner thread; read racily for statistics). */
    long wakeUps;
    /** Whether the round runs its I/O callbacks and completions now (a ring write made then joins the round's batch). */
    boolean dispatchingIo;
    /**
     * What completions run out of turn threw (a ring write settled by a second write or a close,
     * {@link RingEngine#settleWrite}): it propagates out of the loop, as a completion's throw does
     * in the run step, at the end of the round's I/O dispatch, or when the loop next runs if it was
     * settled from code around the loop.
     */
    private Throwable deferred;
    /** Whether the last wait bounded by the trust check slept ({@link #waitForEvents}). */
    private boolean sleptLast;
    /** A wait that took longer slept: events were not already there. */
    private static final long SLEPT_NANOS = 20_000;

    Loop(Registrations registrations, RunQueue runQueue, Poller poller, RingEngine engine) {
        this.registrations = registrations;
        this.runQueue = runQueue;
        this.poller = poller;
        this.engine = engine;
    }

    /** Whether anything is pending: a waiter, a ring operation, a collected callback, a task, a timer, a hold, a close. */
    boolean pending() {
        return registrations.waiterCount() > 0 || !registrations.batchEmpty() || runQueue.pending() || releasing > 0
                || (engine != null && (engine.waiting() > 0 || !engine.isEmpty()));
    }

    /** Whether nothing collected waits to run, so the round may wait for the OS. */
    private boolean nothingCollected() {
        return registrations.batchEmpty() && (engine == null || engine.isEmpty());
    }

    /** A completion run out of turn threw {@code t}: see {@link #deferred}. */
    void defer(Throwable t) {
        deferred = Failures.add(deferred, t);
    }

    /** Rethrows (and forgets) what completions run out of turn threw, if anything. */
    void rethrowDeferred() {
        Throwable t = deferred;
        if (t == null) return;
        deferred = null;
        Failures.rethrow(t);
    }

    /** Takes what completions run out of turn threw, or null (for the queue's close, which rethrows it with its own). */
    Throwable takeDeferred() {
        Throwable t = deferred;
        deferred = null;
        return t;
    }

    /** Runs one round, waiting at most {@code timeoutNanos} (-1: no limit); returns how many ran. */
    int round(long timeoutNanos) {
        rethrowDeferred();
        // Poll the OS every round, without blocking when tasks or timers are due, so a coroutine
        // that keeps yielding cannot starve the fds.
        if (nothingCollected()) waitForEvents(runQueue.boundedTimeout(timeoutNanos));
        else clock.roundStarted();
        int ran;
        dispatchingIo = engine != null;
        try {
            ran = registrations.runBatch();
            if (engine != null) ran += engine.run();
        } catch (Throwable t) {
            if (engine != null) engine.submitStaged(t); // the round's writes leave even so, as epoll's did in place
            throw t;
        } finally {
            dispatchingIo = false;
        }
        rethrowDeferred();
        ran += runQueue.runDueTimers();
        ran += runQueue.runTasks();
        return ran;
    }

    /**
     * Collects what is ready into {@code ready} without running it, waiting at most
     * {@code timeoutNanos} (-1: no limit; 0: no wait) until something is; returns how many.
     */
    int poll(Collection<? super Runnable> ready, long timeoutNanos) {
        rethrowDeferred();
        long deadline = System.nanoTime() + timeoutNanos;
        int n = 0;
        while (true) {
            if (nothingCollected()) {
                long remaining = timeoutNanos < 0 ? -1 : Math.max(0, deadline - System.nanoTime());
                waitForEvents(runQueue.boundedTimeout(remaining));
            }
            n += registrations.drainBatch(ready);
            if (engine != null) n += engine.drain(ready);
            n += runQueue.drain(ready);
            if (n > 0 || timeoutNanos == 0 || !pending()) return n;
            if (timeoutNanos > 0 && deadline - System.nanoTime() <= 0) return n;
        }
    }

    /**
     * Flushes registrations, waits (no later than the trust check is due), and collects ready
     * waiters into the batch. A loop kept busy by events runs the trust check in {@link
     * Registrations#flush()}; only a wait that would sleep needs the check's deadline. So while the
     * check is pending a busy loop first looks without sleeping, and bounds the wait only when
     * nothing is ready: it keeps its untimed, cheapest wait (a timed one costs a timespec and clock
     * reads on each side of the kernel, a fifth of a raw ring hop here). A loop whose last such wait
     * slept (one serving a request at a time, which re-arms every round) sleeps at once: one
     * syscall a round, not a look and then a sleep.
     */
    private void waitForEvents(long timeoutNanos) {
        registrations.flush();
        if (engine != null) engine.beforeWait();
        int n;
        TrustedRearms trusted = registrations.trusted;
        boolean bounded = !trusted.isEmpty() && timeoutNanos != 0;
        long boundedFrom = 0;
        if (bounded) {
            if (!sleptLast) {
                n = poller.await(0);
                // An event; or what the reaped completions did: a completion queued, a READ waiter woken
                // for bytes the ring kept (into the batch); then there is work, and no sleep.
                if (n > 0 || !nothingCollected()) {
                    clock.roundStarted();
                    wakeUps++; // a wait that could have slept, as the statistics count it
                    registrations.collect(n);
                    return;
                }
                if (engine != null) engine.beforeWait(); // a read the reaped completions left starved is armed again
            }
            boundedFrom = System.nanoTime();
            long untilCheck = Math.max(0, trusted.deadline() - boundedFrom);
            trusted.readClockNext(); // the flush after this wait checks whether the period ended
            timeoutNanos = timeoutNanos < 0 ? untilCheck : Math.min(timeoutNanos, untilCheck);
        }
        if (timeoutNanos == 0) {
            n = poller.await(0);
            clock.roundStarted();
        } else {
            try {
                n = poller.await(runQueue.beforeSleep(timeoutNanos));
            } finally {
                clock.roundStarted(); // before the loop says it is awake: see RoundClock
                runQueue.afterSleep();
            }
            wakeUps++;
        }
        if (bounded) sleptLast = System.nanoTime() - boundedFrom > SLEPT_NANOS;
        registrations.collect(n);
    }
}
