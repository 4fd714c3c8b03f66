package dev.ioqueue.internal.core;

import dev.ioqueue.internal.uring.RingCounters;

/**
 * A racy snapshot of one queue's counters ({@link QueueCore#stats()}), for the API's
 * {@code QueueStats} and the JFR statistics event; the API documents each field. Immutable.
 *
 * @param ring whether the queue runs on io_uring (the four ring counts are 0 on epoll)
 */
public record QueueCounts(
        boolean ring,
        int registeredFds,
        int waiters,
        int ownedFds,
        int pendingOperations,
        int ringOperations,
        long wakeUps,
        long spuriousWakeUps,
        long callbacksRun,
        long tasksRun,
        long timersFired,
        long rounds,
        long ringEnters,
        long ringSubmissions,
        long ringCompletions,
        long keptBytes) {

    /**
     * Reads the counters of {@code q}, whose owner thread bumps them as plain fields where the work
     * happens (the loop: rounds and wake-ups; the registrations: callbacks and spurious wake-ups; the
     * run queue: tasks and timers; the operations: pending; the ring: the rest). No lock: a count may
     * lag by a round, and two counts may be from moments apart. Any thread.
     */
    static QueueCounts of(QueueCore q, Loop loop) {
        RingCounters r = q.engine != null ? q.engine.counters() : null;
        int onRing = q.engine != null ? q.engine.waiting() : 0;
        Registrations regs = q.registrations;
        return new QueueCounts(r != null, regs.registeredCount(), regs.waiterCount(), q.ownedCount(),
                Math.max(q.pendingOperations, onRing), onRing, loop.wakeUps, regs.spuriousWakeUps,
                regs.callbacksRun + (r != null ? r.delivered : 0), q.runQueue.tasksRun, q.runQueue.timersFired,
                loop.clock.rounds, r != null ? r.enters : 0, r != null ? r.submissions : 0,
                r != null ? r.completions : 0, r != null ? r.keptBytes : 0);
    }
}
