package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.base.Failures;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.poll.Interest;

/**
 * What a registration found gone means, for {@link Registrations}: the failed interest verb read
 * once (a premature close if waiters waited, else a number simply forgotten), everything known of
 * a gone fd dropped, a kept registration asked whether its number still names its file (a queue
 * whose numbers change between waits), and the epoll rebuild when the kernel reports a file the
 * table no longer knows. Owner thread only.
 */
final class GoneFds {
    private final Registrations regs;

    GoneFds(Registrations regs) {
        this.regs = regs;
    }

    /**
     * Whether {@code epoll_ctl}'s result {@code r} on a registration the kernel once accepted says
     * its file is gone: EBADF, ENOENT, or EPERM (the number now names a regular file or directory).
     * The one rule, wherever the queue finds out.
     */
    static boolean gone(int r) {
        return r == -Errno.EBADF || r == -Errno.ENOENT || r == -Errno.EPERM;
    }

    /**
     * The one reading of a failed verb on a kept registration: gone (EBADF, ENOENT, or EPERM: epoll
     * accepted the fd once, so its number now names another file, a regular file or directory) with
     * waiters is a premature close and they are dropped; gone without is simply forgotten (its fd
     * was closed after its waiter ran or was withdrawn); anything else is a failure, retried at the
     * next flush.
     */
    Throwable failedOnKept(Registration reg, int verb, int res, String where, Throwable failure) {
        if (!gone(res)) {
            regs.table.markDirty(reg);
            return Failures.add(failure, regs.failure(verb, reg.fd, -res));
        }
        if (!reg.hasWaiters()) {
            regs.notWatched(reg);
            return failure;
        }
        discard(reg);
        return Failures.add(failure, QueueEvents.prematureClose(reg.fd, "found " + where + " (epoll_ctl: " + Errors.errnoName(-res) + ")"));
    }

    /**
     * Whether a kept registration of {@code reg}'s number still names the file the number names
     * now, for a wait of {@code kind} on a queue whose numbers change between waits. While a thread
     * waits on it (another kind), the rule keeps it open; otherwise, kept since its last waiter left
     * or with a waiter of this kind already (whose fd may have been closed under it), one
     * {@code epoll_ctl} asks. Found gone, its waiters are dropped (each told) and it is forgotten:
     * the new wait is the new file's.
     */
    boolean stillNamesItsFile(Registration reg, int kind) {
        boolean second = false;
        boolean othersWait = false;
        for (int k = 0; k < Interest.KINDS; k++) {
            Object w = reg.waiter(k);
            if (w == null || Waiters.abandoned(w)) continue;
            if (k == kind) second = true;
            else othersWait = true;
        }
        if (othersWait && !second) return true;
        int r = regs.poller.modify(reg.fd, reg.interest, reg.token());
        if (r >= 0) return true;
        if (!gone(r)) throw regs.failure(Registrations.MODIFY, reg.fd, -r);
        discard(reg);
        Failures.rethrow(regs.dropped.tell(null));
        return false;
    }

    /** Drops everything known of a registration found gone; the caller tells {@link Registrations#dropped}. */
    void discard(Registration reg) {
        regs.table.takeWaiters(reg, regs.dropped);
        regs.batch.takeAll(reg, regs.dropped);
        reg.voidCollected();
        reg.clear(Registration.PERSIST | Registration.UNCONFIRMED);
        regs.notWatched(reg);
    }

    /**
     * epoll reported a registration the table does not know: a closed fd whose file a dup keeps
     * open. epoll can only drop it through an fd of that file, which the queue does not have, so
     * move every known registration to a fresh epoll instance.
     */
    void rebuild() {
        regs.poller.reset();
        Throwable failure = null;
        for (Registration reg : regs.table.snapshot()) {
            if (!reg.registered()) continue;
            int res = regs.poller.add(reg.fd, reg.interest, reg.token());
            if (res < 0) {
                if (reg.hasWaiters()) {
                    failure = Failures.add(failure, QueueEvents.prematureClose(reg.fd, "found while polling (epoll_ctl: " + Errors.errnoName(-res) + ")"));
                }
                discard(reg);
            }
        }
        Failures.rethrow(regs.dropped.tell(failure));
    }
}
