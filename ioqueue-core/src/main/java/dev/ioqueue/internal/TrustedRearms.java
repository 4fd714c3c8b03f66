package dev.ioqueue.internal;

import java.util.Arrays;

/**
 * Registrations re-armed on trust (a callback waiting again on its own fd, or any wait on a
 * persisted fd, keeps the registration without a syscall) since the last check. Every period of
 * {@link #PERIOD_NANOS} the list is handed back and each one is checked once: at most one syscall
 * per such fd per period, whatever the number of waits. An event cannot stand in for the check: a
 * registration whose file a dup keeps open still reports events after its number was closed and
 * reused. Owner thread only; allocation-free after warm-up.
 */
final class TrustedRearms {
    static final long PERIOD_NANOS = 100_000_000L;

    private Registration[] list = new Registration[16];
    private int count;
    private Registration[] leaving = new Registration[16];
    private long deadline;

    boolean isEmpty() {
        return count == 0;
    }

    /** When the current period ends ({@link System#nanoTime()} scale). */
    long deadline() {
        return deadline;
    }

    /**
     * Lists {@code reg} (once per period) as re-armed on trust. Returns whether this started a
     * period (the list was empty): the caller arranges a wake-up at {@link #deadline()}.
     */
    boolean add(Registration reg) {
        reg.set(Registration.UNCONFIRMED);
        if (reg.is(Registration.LISTED)) return false;
        reg.set(Registration.LISTED);
        boolean started = count == 0;
        if (started) deadline = System.nanoTime() + PERIOD_NANOS;
        if (count == list.length) list = Arrays.copyOf(list, count * 2);
        list[count++] = reg;
        return started;
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
