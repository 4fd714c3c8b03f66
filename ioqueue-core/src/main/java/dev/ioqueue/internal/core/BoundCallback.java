package dev.ioqueue.internal.core;

/**
 * A ready callback handed out by {@code poll}. Runs its callback at most once; if its fd was
 * forgotten (or the queue closed) before it runs, the callback is told it was dropped.
 */
final class BoundCallback implements Runnable {
    private final Registrations registrations;
    private final Registration reg;
    private final int mask;
    private final int epoch;
    private Object callback;

    BoundCallback(Registrations registrations, Registration reg, int mask, int epoch, Object callback) {
        this.registrations = registrations;
        this.reg = reg;
        this.mask = mask;
        this.epoch = epoch;
        this.callback = callback;
        if (callback instanceof Operation op) op.handedOut++; // it cannot be cancelled under this Runnable
    }

    @Override
    public void run() {
        if (!registrations.owner.isCurrent()) {
            throw new IllegalStateException("a callback from poll() run on thread " + Thread.currentThread().getName()
                    + ", but its queue belongs to thread " + registrations.owner.name());
        }
        Object c = callback;
        if (c == null) return;
        callback = null;
        reg.handedOut--;
        if (c instanceof Operation op) op.handedOut--;
        registrations.table.removeIfIdle(reg);
        if (registrations.closed || reg.epoch != epoch) {
            reg.ran(c); // a mark set after the voiding, for this same callback, goes too
            Waiters.dropped(registrations.users, c, reg.fd);
            return;
        }
        registrations.fire(reg, c, mask);
    }

    @Override
    public String toString() {
        return "ready fd " + reg.fd + " (events " + Integer.toBinaryString(mask) + ")";
    }
}
