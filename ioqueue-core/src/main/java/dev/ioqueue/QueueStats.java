package dev.ioqueue;

import dev.ioqueue.internal.core.QueueCounts;

/**
 * What one queue holds and has done ({@link IoQueue#stats()}): gauges of what it holds now, and
 * counts since it was made. Cheap enough to leave on: the owner thread bumps plain counters where
 * the work happens (no atomics, nothing allocated), and {@code stats()} reads them without a lock.
 * So it is a <em>racy snapshot</em>: a count may lag by a round, and two fields may be from
 * moments apart (read {@code callbacksRun} and {@code wakeUps} as a trend, not as an identity).
 * Read it on the owner thread between rounds (a task, or after {@code runOnce}) for exact values.
 * Immutable and thread-safe.
 *
 * @param backend the queue's backend; the four {@code ring*} and {@code keptBytes} fields are 0 on
 *     {@link Backend#EPOLL}
 * @param registeredFds fds the queue keeps a readiness registration for in the kernel: waited on,
 *     persisted, or kept after their last waiter ran, until the loop's next wait or until the fd
 *     is reported ready again with no waiter (gauge)
 * @param waiters waiters waiting for readiness, ready callbacks and I/O operations waiting for
 *     their fd alike (gauge)
 * @param ownedFds {@link Handle}s bound to the queue (gauge)
 * @param pendingOperations {@link IoOperation}s (and the library's own, for blocking calls and
 *     Kotlin) submitted to the queue and not yet completed, failed, dropped or cancelled, whether
 *     they wait for readiness or for the ring (gauge)
 * @param ringOperations those of {@code pendingOperations} that the ring performs (completion I/O on
 *     a {@code Handle}) (gauge)
 * @param wakeUps waits in the OS ({@code epoll_wait}, or {@code io_uring_enter} waiting) that could
 *     sleep and returned, for events, a task, a timer or a timeout; a round that found work already
 *     collected, or that only looked (tasks were due), does not wait
 * @param spuriousWakeUps attempts of I/O operations woken by readiness that moved nothing and still
 *     would block (the data was taken elsewhere, or the wake-up was for another event): each is
 *     retried silently; a {@code writeFully} that wrote some and waits again is no such attempt. Only
 *     operations count: a {@link ReadyCallback} does its own syscall, which the queue does not see
 * @param callbacksRun callbacks the loop ran: ready callbacks and operations woken by readiness
 *     (one each, however the attempt ends), and completions the ring handed to operations; not the
 *     completions that happen inside {@code submit}
 * @param tasksRun tasks run: posted with {@link IoQueue#execute} or from another thread, a Kotlin
 *     continuation's dispatch, and the library's own hand-offs to the loop (a timer scheduled or an
 *     operation submitted from another thread)
 * @param timersFired timers whose task ran
 * @param rounds rounds of the loop ({@code run()}, {@code runOnce()}, and waits of {@code poll()})
 * @param ringEnters {@code io_uring_enter} calls, to submit, to wait, or both
 * @param ringSubmissions SQEs the kernel took
 * @param ringCompletions CQEs reaped, the ring's own poll of its epoll instance included
 * @param keptBytes bytes the ring read ahead for {@code Handle}s that no read has taken yet (gauge)
 */
public record QueueStats(
        Backend backend,
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

    static QueueStats of(QueueCounts c) {
        return new QueueStats(c.ring() ? Backend.IO_URING : Backend.EPOLL, c.registeredFds(), c.waiters(), c.ownedFds(),
                c.pendingOperations(), c.ringOperations(), c.wakeUps(), c.spuriousWakeUps(), c.callbacksRun(), c.tasksRun(),
                c.timersFired(), c.rounds(), c.ringEnters(), c.ringSubmissions(), c.ringCompletions(), c.keptBytes());
    }
}
