package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.base.Failures;

/**
 * The one-waiter rule of one queue's {@link Registrations}: one waiter per fd and event. Who holds
 * an event's place on an fd (a waiter, or an I/O operation woken into the batch and not yet run),
 * who gives it up to a newcomer (a future its holder completed, a blocked thread's wait to the
 * loop's own), and who is refused, with why. Owner thread only.
 */
final class Places {
    private final Registrations regs;

    Places(Registrations regs) {
        this.regs = regs;
    }

    /**
     * Frees {@code kind}'s place on {@code reg} for {@code incoming}, or refuses it (an
     * {@link IllegalStateException}: {@link SecondWaiterException} for a blocked thread's wait,
     * which asks again). Whether a waiter was taken out of the place (abandoned, or yielding).
     */
    boolean take(Registration reg, int kind, Object incoming) {
        Object existing = reg.waiter(kind);
        if (existing == null) {
            refuseBehindBatched(reg, kind, incoming);
            return false;
        }
        boolean yields = Waiter.yieldsTo(existing, incoming);
        if (!yields && !Waiters.abandoned(existing)) refuse(reg, kind, incoming, existing);
        regs.table.takeWaiter(reg, kind); // a future completed by its holder (it can never run), or a blocked thread's
        if (yields) ((Waiter) existing).yieldPlace();
        return true;
    }

    /**
     * Refuses a second waiter of {@code kind} while an I/O operation of that kind, woken into the
     * batch, has not run yet: it is still pending, and would find the fd taken (its bytes
     * interleaved with the newcomer's, then a second WRITE waiter thrown out of the loop). A blocked
     * thread's operation gives its place up to the loop's own instead: it never runs now.
     */
    private void refuseBehindBatched(Registration reg, int kind, Object incoming) {
        Object b = reg.batched(kind);
        if (b != null && b != incoming && b instanceof Operation op && op.isPending()) {
            if (!Waiter.yieldsTo(op, incoming)) refuse(reg, kind, incoming, op);
            regs.batch.remove(reg, kind, op);
            reg.ran(op);
            op.yieldPlace();
        }
    }

    private void refuse(Registration reg, int kind, Object incoming, Object holder) {
        // Is the first waiter's registration alive, or was its fd closed and the number reused?
        // (Not registered now: a handed-out operation holds the place, and the kernel knows nothing.)
        int r = reg.registered() ? regs.poller.modify(reg.fd, reg.interest, reg.token()) : 0;
        if (GoneFds.gone(r)) {
            regs.gone.discard(reg);
            Failures.rethrow(regs.dropped.tell(QueueEvents.prematureClose(reg.fd,
                    "found when its number was waited on again (epoll_ctl: " + Errors.errnoName(-r) + ")")));
        }
        throw SecondWaiterException.refusal(incoming, holder, "fd " + reg.fd + " already has a " + Registrations.KIND_NAMES[kind]
                + " waiter on the queue of thread " + regs.owner.name() + ": one waiter per fd and event per queue"
                + (regs.numbersChangeBetweenWaits
                        ? " (waits made off any loop all go to this shared queue: wait for an fd from one place at a time)" : ""));
    }
}
