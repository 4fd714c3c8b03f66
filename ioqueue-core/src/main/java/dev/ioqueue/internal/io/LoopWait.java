package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.core.Waiter;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.PollCalls;
import dev.ioqueue.internal.poll.Interest;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * A thread blocked until an fd is ready, parked ({@link LockSupport}: a virtual thread unmounts and
 * pins no carrier) while a queue waits for it. One state word decides every race (readiness, a
 * drop, the timeout, an interrupt): whoever moves it from WAITING first wins; a thread that gives
 * up leaves its waiter abandoned, withdrawn on the queue's thread, and replaceable at once by its
 * next wait ({@link Waiter#abandoned}).
 */
public final class BlockingWait extends Waiter {
    private static final int WAITING = 0;
    private static final int READY = 1;
    private static final int DROPPED = 2;
    private static final int FAILED = 3;
    private static final int GAVE_UP = 4;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(BlockingWait.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final QueueCore queue;
    private final int fd;
    private final OwnedFd owned;
    private final int kind;
    private final Thread thread = Thread.currentThread();
    @SuppressWarnings("unused") // through STATE
    private volatile int state;
    private int events;
    private RuntimeException failure;

    private BlockingWait(QueueCore queue, int fd, OwnedFd owned, int kind) {
        this.queue = queue;
        this.fd = fd;
        this.owned = owned;
        this.kind = kind;
    }

    /**
     * Blocks until {@code fd} (of {@code owned}, or a plain fd) is ready for {@code kind} in
     * {@code queue}, at most {@code timeoutNanos} (negative: no limit); returns the events (bits of
     * {@code Interest}), or what a last look finds once the time is up (often 0). The caller
     * checked it is not inside a loop.
     *
     * @throws InterruptedIOException if the thread is interrupted before or while it waits (the
     *     interrupt status stays set, the waiter is withdrawn)
     * @throws IOException the API's dropped-wait exception if the queue dropped the wait
     */
    public static int await(QueueCore queue, int fd, OwnedFd owned, int kind, long timeoutNanos) throws IOException {
        if (Thread.currentThread().isInterrupted()) throw interrupted(fd);
        BlockingWait w = new BlockingWait(queue, fd, owned, kind);
        if (!queue.runOnOwner(w::register)) throw Errors.dropped(fd, "its queue is closed");
        long deadline = timeoutNanos > 0 ? System.nanoTime() + timeoutNanos : 0;
        while ((int) STATE.getVolatile(w) == WAITING) {
            if (timeoutNanos < 0) {
                LockSupport.park(w);
            } else {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    if (w.giveUp()) return readyNow(fd, kind);
                    break;
                }
                LockSupport.parkNanos(w, left);
            }
            if (Thread.currentThread().isInterrupted() && w.giveUp()) throw interrupted(fd);
        }
        return switch ((int) STATE.getVolatile(w)) {
            case READY -> w.events;
            case DROPPED -> throw Errors.dropped(fd, "the fd was unregistered or closed, or its queue closed");
            default -> throw w.failure;
        };
    }

    /** The thread stops waiting, unless the queue decided first; then the waiter is withdrawn. */
    private boolean giveUp() {
        if (!STATE.compareAndSet(this, WAITING, GAVE_UP)) return false;
        queue.runOnOwner(() -> queue.cancel(fd, kind, this)); // a closed queue holds no waiter
        return true;
    }

    private void register() {
        if ((int) STATE.getVolatile(this) != WAITING) return;
        if (owned != null && !owned.isOpen()) { // closed on its way here: the close dropped this wait
            finish(DROPPED);
            return;
        }
        try {
            queue.await(fd, owned, kind, this);
        } catch (RuntimeException e) {
            failure = e;
            finish(FAILED);
        }
    }

    private void finish(int outcome) {
        if (STATE.compareAndSet(this, WAITING, outcome)) LockSupport.unpark(thread);
    }

    @Override
    public void ready(int fd, int mask) {
        events = mask;
        finish(READY);
    }

    @Override
    public void dropped(int fd) {
        finish(DROPPED);
    }

    @Override
    public boolean abandoned() {
        return (int) STATE.getVolatile(this) == GAVE_UP;
    }

    /** What {@code poll(2)} with a zero timeout says of {@code fd} for {@code kind}, as bits of {@code Interest}. */
    public static int readyNow(int fd, int kind) {
        int wanted = switch (kind) {
            case Interest.READ -> PollCalls.POLLIN;
            case Interest.WRITE -> PollCalls.POLLOUT;
            default -> PollCalls.POLLPRI;
        };
        while (true) {
            int r = PollCalls.readyNow(fd, wanted, Native.threadErrno());
            if (r == -dev.ioqueue.internal.os.Errno.EINTR) continue;
            if (r < 0) throw Errors.syscall("poll", fd, -r);
            if ((r & PollCalls.POLLNVAL) != 0) throw Errors.syscall("poll", fd, dev.ioqueue.internal.os.Errno.EBADF, "not open");
            int mask = 0;
            if ((r & PollCalls.POLLIN) != 0) mask |= Interest.READ_BIT;
            if ((r & PollCalls.POLLOUT) != 0) mask |= Interest.WRITE_BIT;
            if ((r & PollCalls.POLLPRI) != 0) mask |= Interest.PRIORITY_BIT;
            if ((r & PollCalls.POLLERR) != 0) mask |= Interest.ERROR_BIT;
            if ((r & PollCalls.POLLHUP) != 0) mask |= Interest.HANGUP_BIT;
            return mask;
        }
    }

    static InterruptedIOException interrupted(int fd) {
        return new InterruptedIOException("the wait on fd " + fd + " was interrupted");
    }
}
