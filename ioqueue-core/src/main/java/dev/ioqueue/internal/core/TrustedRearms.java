package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Failures;
import java.util.Arrays;

/**
 * Plain fds' registrations re-armed on trust (a wait again on a kept registration costs no
 * syscall) since the last check. Every period of {@link #PERIOD_NANOS} the list is handed back and
 * each one is checked once: at most one syscall per such fd per period, whatever the number of
 * waits. A busy loop reads the clock for it once every {@link #CLOCK_EVERY} flushes, not once a
 * round (a clock read was 6% of a raw ring hop's user-space cycles here), so a period may run over
 * by that many rounds; a loop that would sleep reads it at its next flush ({@link #readClockNext}).
 * It bounds what a close behind the queue's back can cost: a number closed while a dup kept
 * its file open and readable, then made again and waited on, would otherwise wake its new waiter
 * forever with the old file's events (an event cannot stand in for the check: it carries the
 * current token). Owned fds are never listed: their close goes through their queue. Owner thread
 * only; allocation-free after warm-up.
 */
final class TrustedRearms {
    static final long PERIOD_NANOS = 100_000_000L;
    /** Flushes per clock read while the loop is kept busy. */
    static final int CLOCK_EVERY = 64;

    private Registration[] list = new Registration[16];
    private int count;
    private Registration[] leaving = new Registration[16];
    private long deadline;
    /** Flushes before {@link #checkIfDue} reads the clock again. */
    private int flushesUntilClock;

    boolean isEmpty() {
        return count == 0;
    }

    /** When the current period ends ({@link System#nanoTime()} scale). */
    long deadline() {
        return deadline;
    }

    /** Lists {@code reg} (once per period) as re-armed on trust; the first of a period starts it. */
    void add(Registration reg) {
        reg.set(Registration.UNCONFIRMED);
        if (reg.is(Registration.LISTED)) return;
        reg.set(Registration.LISTED);
        if (count == 0) deadline = System.nanoTime() + PERIOD_NANOS;
        if (count == list.length) list = Arrays.copyOf(list, count * 2);
        list[count++] = reg;
    }

    /**
     * Once the period has ended: checks, with one {@code EPOLL_CTL_MOD} each, the registrations of
     * {@code r} re-armed on trust during it and not checked since; a failed check is a close behind
     * the queue's back ({@link GoneFds}). Owner thread, before a wait.
     */
    void checkIfDue(Registrations r) {
        if (--flushesUntilClock > 0) return;
        flushesUntilClock = CLOCK_EVERY;
        long now = System.nanoTime();
        if (now - deadline < 0) return;
        int n = endPeriod(now);
        Throwable failure = null;
        for (int i = 0; i < n; i++) {
            Registration reg = leaving(i);
            boolean check = reg.is(Registration.UNCONFIRMED) && reg.registered() && r.table.get(reg.fd) == reg;
            reg.clear(Registration.UNCONFIRMED);
            if (!check) {
                r.table.removeIfIdle(reg);
                continue;
            }
            int result = r.poller.modify(reg.fd, reg.interest, reg.token());
            if (result < 0) failure = r.gone.failedOnKept(reg, Registrations.MODIFY, result, "when checking a wait re-armed without a syscall", failure);
        }
        Failures.rethrow(r.dropped.tell(failure));
    }

    /** The loop found nothing ready and waits (or looks again) no later than {@link #deadline()}: the next flush reads the clock. */
    void readClockNext() {
        flushesUntilClock = 0;
    }

    /**
     * Ends the current period: every listed registration leaves the list, readable once through
     * {@link #leaving(int)}; returns how many. Those still UNCONFIRMED are due for their check.
     */
    int endPeriod(long now) {
        int n = count;
        count = 0;
        if (leaving.length < n) leaving = new Registration[list.length];
        for (int i = 0; i < n; i++) {
            Registration reg = list[i];
            list[i] = null;
            reg.clear(Registration.LISTED);
            leaving[i] = reg;
        }
        deadline = now + PERIOD_NANOS;
        return n;
    }

    /** The i-th registration that left at the last {@link #endPeriod}; each is read once. */
    Registration leaving(int i) {
        Registration reg = leaving[i];
        leaving[i] = null;
        return reg;
    }
}
