package dev.ioqueue.internal.io;

import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.poll.Interest;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * A thread parked until a {@link BlockingPoller} reports its fd ready: it arms the fd itself, on its
 * own thread, and parks ({@link LockSupport}: a virtual thread unmounts and pins no carrier). One
 * state word decides every race (the report, the close of its owned fd, the timeout, an interrupt):
 * whoever moves it from WAITING first wins, and only that one unparks the thread. A thread that
 * gives up takes its waiter out of the list itself; the fd's entry may still fire once, for no one.
 *
 * <p>One object per wait, made and parked on by the waiting thread; {@link #ready} and
 * {@link #drop} from the poller's thread or a closing one.
 */
final class ParkedWait {
    private static final int WAITING = 0;
    private static final int READY = 1;
    private static final int DROPPED = 2;
    private static final int GAVE_UP = 3;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(ParkedWait.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final int fd;
    final int kind;
    /** The owned fd it waits on, or null for a plain fd. */
    final OwnedFd owned;
    private final Thread thread = Thread.currentThread();
    @SuppressWarnings("unused") // through STATE
    private volatile int state;
    /** The reported events, written before the state says READY. */
    private int events;
    /** The next waiter in its slot's list, guarded by the slot's lock. */
    ParkedWait next;

    private ParkedWait(int fd, OwnedFd owned, int kind) {
        this.fd = fd;
        this.owned = owned;
        this.kind = kind;
    }

    /**
     * Blocks until {@code fd} (of {@code owned}, or a plain fd) is ready for {@code kind}, at most
     * {@code timeoutNanos} (negative: no limit); returns the events (bits of {@link Interest}), or
     * what a last look finds once the time is up (often 0). A report for another kind of waiter on
     * the same poller (priority and plain reads share one) means waiting again.
     *
     * @throws InterruptedIOException if interrupted before or while it waits (the status stays set)
     * @throws IOException the API's dropped-wait exception if {@code owned} (or the plain fd,
     *     through the library) is closed meanwhile, or the failure of {@code epoll_ctl}, naming the
     *     fd and errno, or of the pollers' start (EMFILE, ENOMEM)
     * @throws IllegalArgumentException if the plain {@code fd} is one of the pollers' own
     */
    static int await(int fd, OwnedFd owned, int kind, long timeoutNanos) throws IOException {
        if (Thread.currentThread().isInterrupted()) throw BlockingWait.interrupted(fd);
        BlockingPoller poller;
        try {
            poller = BlockingPollers.of(kind, fd); // starts them first: a stale number may name one of theirs now
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause(); // they could not start (EMFILE...): a blocking call's failure is its IOException
        }
        if (owned == null) BlockingPollers.refuseOwn("wait", fd);
        return await(poller, fd, owned, kind, timeoutNanos);
    }

    /** {@link #await(int, OwnedFd, int, long)} in {@code poller}. */
    static int await(BlockingPoller poller, int fd, OwnedFd owned, int kind, long timeoutNanos) throws IOException {
        long deadline = timeoutNanos > 0 ? System.nanoTime() + timeoutNanos : 0;
        int wanted = Interest.bit(kind) | Interest.ERROR_BIT | Interest.HANGUP_BIT;
        while (true) {
            ParkedWait w = new ParkedWait(fd, owned, kind);
            w.register(poller);
            switch (w.park(poller, deadline, timeoutNanos)) {
                case READY -> {
                    if ((w.events & wanted) != 0) return w.events;
                }
                case DROPPED -> throw BlockingWait.closed(fd, owned);
                default -> {
                    return BlockingWait.lastLook(fd, owned, kind);
                }
            }
        }
    }

    /**
     * Arms the fd and enters the list. An owned fd is held meanwhile, so it is not closed under the
     * {@code epoll_ctl}; a close that began before it entered the list is seen here, one that begins
     * after finds it in the list ({@link OwnedFd#closesTold}).
     */
    private void register(BlockingPoller poller) throws IOException {
        if (owned == null) {
            poller.add(this);
            return;
        }
        if (!owned.acquire()) throw BlockingWait.closed(fd, owned);
        try {
            poller.add(this);
            if (!owned.isOpen() && poller.withdraw(this)) throw BlockingWait.closed(fd, owned);
        } finally {
            owned.release();
        }
    }

    /** Parks until decided: READY, DROPPED, or GAVE_UP once the deadline passed. */
    private int park(BlockingPoller poller, long deadline, long timeoutNanos) throws InterruptedIOException {
        while ((int) STATE.getVolatile(this) == WAITING) {
            if (timeoutNanos < 0) {
                LockSupport.park(this);
            } else {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    if (giveUp(poller)) return GAVE_UP;
                    break;
                }
                LockSupport.parkNanos(this, left);
            }
            if (Thread.currentThread().isInterrupted() && giveUp(poller)) throw BlockingWait.interrupted(fd);
        }
        return (int) STATE.getVolatile(this);
    }

    /** The thread stops waiting, unless the report or a close came first; then it leaves the list. */
    private boolean giveUp(BlockingPoller poller) {
        if (!STATE.compareAndSet(this, WAITING, GAVE_UP)) return false;
        poller.withdraw(this);
        return true;
    }

    /** The poller reported the fd (0: a retry after its epoll instance was replaced). */
    void ready(int reported) {
        events = reported;
        if (STATE.compareAndSet(this, WAITING, READY)) LockSupport.unpark(thread);
    }

    /** Its fd is closing through the library. */
    void drop() {
        if (STATE.compareAndSet(this, WAITING, DROPPED)) LockSupport.unpark(thread);
    }
}
