package dev.ioqueue.internal;

import java.util.Arrays;

/**
 * Re-arms made on trust (a callback waiting again on its own fd keeps the registration without a
 * syscall) that no event has confirmed yet. A period is {@link #PERIOD_NANOS}; a re-arm still
 * unconfirmed after a whole period is handed back for one check. Owner thread only; allocation-free
 * after warm-up.
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
     * Lists {@code reg} (once) as re-armed on trust; an event on it clears its UNCONFIRMED flag.
     * Returns whether this started a period (the list was empty): the caller arranges a wake-up at
     * {@link #deadline()}.
     */
    boolean add(Registration reg) {
        reg.set(Registration.UNCONFIRMED);
        reg.clear(Registration.AGED);
        if (reg.is(Registration.LISTED)) return false;
        reg.set(Registration.LISTED);
        boolean started = count == 0;
        if (started) deadline = System.nanoTime() + PERIOD_NANOS;
        if (count == list.length) list = Arrays.copyOf(list, count * 2);
        list[count++] = reg;
        return started;
    }

    /**
     * Ends the current period: the registrations confirmed since (UNCONFIRMED clear) and those
     * unconfirmed for a whole period (UNCONFIRMED still set: check them) leave the list, readable
     * through {@link #leaving(int)}; those trusted during this period stay for the next. Returns
     * how many left.
     */
    int endPeriod(long now) {
        int n = count;
        int left = 0;
        count = 0;
        if (leaving.length < n) leaving = new Registration[list.length];
        for (int i = 0; i < n; i++) {
            Registration reg = list[i];
            list[i] = null;
            if (reg.is(Registration.UNCONFIRMED) && !reg.is(Registration.AGED)) {
                reg.set(Registration.AGED);
                list[count++] = reg;
            } else {
                reg.clear(Registration.LISTED | Registration.AGED);
                leaving[left++] = reg;
            }
        }
        deadline = now + PERIOD_NANOS;
        return left;
    }

    /** The i-th registration that left at the last {@link #endPeriod}; each is read once. */
    Registration leaving(int i) {
        Registration reg = leaving[i];
        leaving[i] = null;
        return reg;
    }
}
