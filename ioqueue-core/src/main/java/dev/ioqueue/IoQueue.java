package dev.ioqueue;

import dev.ioqueue.internal.Failures;
import dev.ioqueue.internal.Poller;
import dev.ioqueue.internal.Registrations;
import dev.ioqueue.internal.RunQueue;
import dev.ioqueue.internal.Timer;
import java.lang.ref.Cleaner;
import java.time.Duration;
import java.util.Collection;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * A per-thread I/O readiness queue: "run this callback when fd F is ready to READ / WRITE /
 * PRIORITY_READ", for any fd epoll accepts (pipes, sockets, eventfd, timerfd, ttys, inotify, fds
 * from native libraries), plus tasks posted from any thread and timers, all run on one thread.
 *
 * <h2>Threading</h2>
 * Each thread has its own queue ({@link #current()}), with its own epoll instance, so two threads
 * may wait on the same fd at once. Every method must be called on the owner thread and throws
 * {@link IllegalStateException} elsewhere, except {@link #execute}, {@link #runOnOwner},
 * {@link #schedule}, {@link #owner()}, {@link #isOwnerThread()}, {@link #isClosed()} and
 * {@link Cancellable#cancel()} on what they return, which are thread-safe.
 *
 * <h2>Waiters</h2>
 * One waiter per (fd, {@link ReadyEvent}) per queue: a READ and a WRITE waiter may share a
 * full-duplex socket, a second READ waiter on the same fd is refused. A waiter runs once; to wait
 * again, call {@link #await} again (from its callback is the cheap way: no syscall). ERROR and
 * HANGUP wake every waiter of the fd. Wake-ups may be spurious: a callback retries its syscall and
 * waits again on EAGAIN.
 *
 * <h2>Cost</h2>
 * The fd is registered with epoll (level-triggered) when first waited on, and kept registered while
 * waiters follow each other, so a steady stream of waits costs no {@code epoll_ctl}; an fd nobody
 * waits on again is deregistered before the next sleep, unless {@link #persist persisted}.
 * {@link #run()} allocates nothing per event. The queue holds one small object per fd it knows,
 * whatever the fd's number.
 *
 * <h2>Closing fds</h2>
 * Close a waited-on fd through {@link Handle#close()} or {@link Fds#close(int)} (they unregister it
 * from the calling thread's queue first), or {@link #unregister} it first. Closing it behind the
 * queue's back is a {@link PrematureCloseError}, raised when the queue notices.
 *
 * <h2>Lifetime</h2>
 * {@link #close()} releases the epoll fd, the wake-up eventfd and the native memory. A queue whose
 * thread ended without closing it releases them once it is unreachable (through a
 * {@link Cleaner}), so short-lived threads never leak fds.
 */
public final class IoQueue implements Executor, AutoCloseable {
    private static final ThreadLocal<IoQueue> CURRENT = new ThreadLocal<>();
    private static final Cleaner CLEANER = Cleaner.create();
    /** How often a busy loop looks at the clock for the trust confirmation of {@link Registrations}. */
    private static final int CONFIRM_CHECK_ROUNDS = 64;

    private final Thread owner;
    private final Poller poller;
    private final Cleaner.Cleanable cleanable;
    private final Registrations registrations;
    private final RunQueue runQueue;
    private boolean looping;
    private int rounds;
    private volatile boolean closed;

    private IoQueue() {
        owner = Thread.currentThread();
        poller = Poller.open();
        // The action holds the poller only, never the queue: it runs once the queue is unreachable.
        cleanable = CLEANER.register(this, poller::close);
        registrations = new Registrations(poller, owner);
        runQueue = new RunQueue(owner, poller);
    }

    /**
     * The calling thread's queue, created on first use (and again after {@link #close()}).
     *
     * @throws SyscallException if the epoll instance or its wake-up eventfd cannot be created
     *     (EMFILE, ENOMEM)
     */
    public static IoQueue current() {
        IoQueue q = CURRENT.get();
        if (q == null) {
            q = new IoQueue();
            CURRENT.set(q);
        }
        return q;
    }

    /** The calling thread's queue if it has one, without creating it. */
    static IoQueue currentIfAny() {
        return CURRENT.get();
    }

    /** The thread that owns this queue. Thread-safe. */
    public Thread owner() {
        return owner;
    }

    /** Whether the calling thread owns this queue. Thread-safe. */
    public boolean isOwnerThread() {
        return Thread.currentThread() == owner;
    }

    /** Whether {@link #close()} was called. Thread-safe. */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Whether {@link #run()}, {@link #runOnce} or {@link #poll} is under way on this queue, so the
     * caller runs from inside the loop (a callback, task, timer or coroutine) and must not start
     * another. Owner thread only.
     */
    public boolean isInLoop() {
        checkOwner("isInLoop");
        return looping;
    }

    /**
     * Waits for {@code fd} to become ready for {@code event}: {@code callback} runs once, on this
     * thread, from {@link #run()} or {@link #poll}, told the fd and what the OS reported. Owner
     * thread only.
     *
     * @throws IllegalArgumentException if {@code fd} is negative, or is this queue's own epoll or
     *     wake-up fd
     * @throws IllegalStateException if a waiter already waits on {@code fd} for {@code event} here
     *     (that waiter is left untouched), off the owner thread, or after close
     * @throws SyscallException if epoll refuses the fd: EBADF (not open), EPERM (a regular file or
     *     directory: epoll cannot wait on those), ENOMEM/ENOSPC (kernel limits); nothing is kept
     * @throws PrematureCloseError if an earlier waiter's fd of this number was closed behind the
     *     queue's back
     */
    public void await(int fd, ReadyEvent event, ReadyCallback callback) {
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(callback, "callback");
        checkOwnerAndOpen("await");
        checkFd(fd);
        registrations.await(fd, event, callback);
    }

    /**
     * Withdraws exactly this waiter: the one {@code callback} registered on {@code fd} for
     * {@code event}, if it still waits or was collected by {@link #run()} but has not run. Another
     * waiter is never touched. The OS interest is released before the next sleep. Owner thread
     * only; after close it returns false.
     *
     * @return whether the waiter was withdrawn (false: it already ran, or was never there)
     */
    public boolean cancel(int fd, ReadyEvent event, ReadyCallback callback) {
        Objects.requireNonNull(event, "event");
        checkOwner("cancel");
        if (closed || fd < 0) return false;
        return registrations.cancel(fd, event, callback);
    }

    /**
     * Forgets {@code fd}: its waiters never run, not even those already collected for running (each
     * is told through {@link ReadyCallback#onDropped}), and its epoll registration and persist mark
     * are removed. A no-op, without a syscall, when the queue knows nothing of the fd. Owner thread
     * only.
     *
     * @throws PrematureCloseError if the fd was closed while waited on or persisted (epoll answers
     *     EBADF or ENOENT)
     */
    public void unregister(int fd) {
        checkOwnerAndOpen("unregister");
        checkFd(fd);
        registrations.forget(fd, true);
    }

    /** {@link #unregister(int)} of the handle's fd. */
    public void unregister(Handle handle) {
        unregister(handle.fd());
    }

    /**
     * Keeps {@code fd} registered with epoll across waits, so waiting on it again later costs no
     * {@code epoll_ctl} even when no waiter follows right away. Events on it while nobody waits may
     * wake {@link #poll} spuriously (the queue then narrows the registration). Ends with
     * {@link #unregister}. Owner thread only.
     *
     * @throws SyscallException as {@link #await} does for an fd epoll refuses
     */
    public void persist(int fd) {
        checkOwnerAndOpen("persist");
        checkFd(fd);
        registrations.persist(fd);
    }

    /** {@link #persist(int)} of the handle's fd. */
    public void persist(Handle handle) {
        persist(handle.fd());
    }

    /**
     * Whether anything is pending: a waiter, a task, a timer, a hold, or a collected callback not
     * yet run. Owner thread only.
     */
    public boolean running() {
        checkOwner("running");
        return !closed && (registrations.waiterCount() > 0 || !registrations.batchEmpty() || runQueue.pending());
    }

    /**
     * Collects, without running them, the callbacks whose fds are ready (each bound to its fd and
     * events), the due timers' tasks and the posted tasks; returns how many it added to
     * {@code ready}. Run them on this thread. Owner thread only; not from inside {@link #run()}.
     *
     * <p>Returns 0 at once when nothing is pending. Otherwise waits until something is ready or
     * {@code timeout} passes: {@code null} waits as long as it takes, {@link Duration#ZERO} never
     * blocks, and a positive timeout never ends early (nanosecond precision with
     * {@code epoll_pwait2}, else rounded up to the millisecond; EINTR resumes with the time left).
     * Callbacks collected by a {@code run()} that a callback's exception interrupted come first.
     *
     * <p>Unlike {@code run()}, this allocates a small {@code Runnable} per ready callback.
     */
    public int poll(Collection<? super Runnable> ready, Duration timeout) {
        Objects.requireNonNull(ready, "ready");
        checkOwnerAndOpen("poll");
        enterLoop("poll");
        try {
            if (!running()) return 0;
            long timeoutNanos = timeout == null ? -1 : Math.max(0, saturatedNanos(timeout));
            long deadline = System.nanoTime() + timeoutNanos;
            int n = 0;
            while (true) {
                if (registrations.batchEmpty()) {
                    long remaining = timeoutNanos < 0 ? -1 : Math.max(0, deadline - System.nanoTime());
                    waitForEvents(runQueue.boundedTimeout(remaining));
                }
                n += registrations.drainBatch(ready);
                n += runQueue.drain(ready);
                if (n > 0 || timeoutNanos == 0 || !running()) return n;
                if (timeoutNanos > 0 && deadline - System.nanoTime() <= 0) return n;
            }
        } finally {
            looping = false;
        }
    }

    /**
     * Polls and runs callbacks, timers and tasks until nothing is pending. Owner thread only; not
     * re-entrant. An exception thrown by a callback, timer or task propagates out; what was
     * collected but not yet run stays and runs first on the next {@code run()} or {@link #poll}.
     */
    public void run() {
        checkOwnerAndOpen("run");
        enterLoop("run");
        try {
            while (running()) runRound(-1);
        } finally {
            looping = false;
        }
    }

    /**
     * One round of {@link #run()}: waits at most {@code timeout} ({@code null}: as long as it
     * takes) for something to be ready, unless something already is, then runs what is ready.
     * Returns how many callbacks, timers and tasks ran: 0 at once when nothing is pending, and
     * possibly 0 before the timeout after a spurious wake-up. Owner thread only; not re-entrant.
     * This is the building block of loops that stop on their own condition, like Kotlin's
     * {@code runIoQueue}.
     */
    public int runOnce(Duration timeout) {
        checkOwnerAndOpen("runOnce");
        enterLoop("runOnce");
        try {
            if (!running()) return 0;
            return runRound(timeout == null ? -1 : Math.max(0, saturatedNanos(timeout)));
        } finally {
            looping = false;
        }
    }

    /**
     * Posts {@code task} to run on the owner thread, in FIFO order with other posted tasks.
     * Thread-safe; from another thread it wakes the queue if it sleeps (one eventfd write per
     * sleep at most). A task accepted before {@link #close()} still runs, at the latest during
     * {@code close()}.
     *
     * @throws RejectedExecutionException after {@link #close()}
     */
    @Override
    public void execute(Runnable task) {
        Objects.requireNonNull(task, "task");
        if (!runQueue.offer(task)) throw rejected();
    }

    /**
     * Runs {@code task} at once when called on the owner thread, else posts it as {@link #execute}
     * does; returns false, running nothing, once the queue is closed (where {@code execute}
     * throws). Thread-safe. The way to "do this on the loop" from code that may or may not run
     * there, such as a cancellation handler.
     */
    public boolean runOnOwner(Runnable task) {
        Objects.requireNonNull(task, "task");
        return runQueue.runOnOwner(task);
    }

    /**
     * Runs {@code task} on the owner thread once {@code delay} has passed (a zero or negative delay
     * means at the next round). Timers fire in deadline order, ties in scheduling order.
     * Thread-safe. If the queue closes first, the timer is dropped without a word; use
     * {@link #schedule(Duration, Runnable, Runnable)} to be told.
     *
     * @return a handle whose {@code cancel()} guarantees the task will not run, if it has not
     * @throws RejectedExecutionException after {@link #close()}
     */
    public Cancellable schedule(Duration delay, Runnable task) {
        return schedule(delay, task, null);
    }

    /**
     * {@link #schedule(Duration, Runnable)}, and if the queue closes before the timer fires (and it
     * was not cancelled), {@code ifDropped} runs instead, on the owner thread, during
     * {@link #close()}: a timer that stands for a suspended computation fails it there instead of
     * leaving it waiting forever. Thread-safe.
     *
     * @throws RejectedExecutionException after {@link #close()}
     */
    public Cancellable schedule(Duration delay, Runnable task, Runnable ifDropped) {
        Objects.requireNonNull(delay, "delay");
        Objects.requireNonNull(task, "task");
        long nanos = Math.max(0, saturatedNanos(delay));
        long now = System.nanoTime();
        long deadline = nanos > Long.MAX_VALUE / 2 ? now + Long.MAX_VALUE / 2 : now + nanos;
        Timer timer = runQueue.newTimer(deadline, task, ifDropped);
        if (Thread.currentThread() == owner) {
            if (closed) throw rejected();
            runQueue.addTimer(timer);
        } else {
            execute(() -> runQueue.addTimer(timer));
        }
        return timer;
    }

    /**
     * Keeps the queue pending, so {@link #run()} and {@link #poll} wait for tasks from other
     * threads instead of returning, until the returned handle is cancelled (from any thread).
     * Owner thread only.
     */
    public Cancellable hold() {
        checkOwnerAndOpen("hold");
        return runQueue.hold();
    }

    /**
     * Releases the epoll fd, the wake-up eventfd and the native memory. Tasks accepted by
     * {@link #execute} before this call run first (later ones are rejected); timers are discarded
     * (those scheduled with an {@code ifDropped} are told), and waiters too, each told through
     * {@link ReadyCallback#onDropped}. The resources are released whatever those throw; the first
     * throwable then propagates, the rest suppressed onto it. The thread's next {@link #current()}
     * creates a new queue. Idempotent. Owner thread only, not from inside {@link #run()}. Returns
     * promptly whatever other threads do meanwhile.
     */
    @Override
    public void close() {
        checkOwner("close");
        if (closed) return;
        if (looping) throw new IllegalStateException("close() from inside run()/poll(): close the queue after it returns");
        closed = true;
        if (CURRENT.get() == this) CURRENT.remove();
        Throwable failure = null;
        try {
            failure = runQueue.close();
            failure = registrations.close(failure); // every throwable suppressed onto the first
        } catch (Throwable t) {
            failure = Failures.add(failure, t);
        } finally {
            cleanable.clean();
        }
        Failures.rethrow(failure);
    }

    @Override
    public String toString() {
        return "IoQueue[" + owner.getName() + (closed ? ", closed]" : "]");
    }

    /** Called by Fds.close and Handle.close before they close an fd on this thread. */
    void forgetBeforeClose(int fd) {
        if (!closed && fd >= 0) registrations.forget(fd, false);
    }

    /** Called when the library made fd {@code fd} on this thread: its number was free until now. */
    static void fdOpened(int fd) {
        IoQueue q = CURRENT.get();
        if (q != null && !q.closed) q.registrations.fdOpened(fd);
    }

    // ---- the loop ----

    private int runRound(long timeoutNanos) {
        // Poll the OS every round, without blocking when tasks or timers are due, so a coroutine
        // that keeps yielding cannot starve the fds.
        if (registrations.batchEmpty()) waitForEvents(runQueue.boundedTimeout(timeoutNanos));
        int ran = registrations.runBatch();
        ran += runQueue.runDueTimers();
        ran += runQueue.runTasks();
        return ran;
    }

    /** Flushes registrations, waits, and collects ready waiters into the batch. */
    private void waitForEvents(long timeoutNanos) {
        registrations.flush();
        boolean confirming = registrations.confirming();
        if (confirming && (timeoutNanos < 0 || timeoutNanos > Registrations.CONFIRM_NANOS)) {
            timeoutNanos = Registrations.CONFIRM_NANOS;
        }
        int n;
        if (timeoutNanos == 0) {
            n = poller.await(0);
        } else {
            try {
                n = poller.await(runQueue.beforeSleep(timeoutNanos));
            } finally {
                runQueue.afterSleep();
            }
        }
        registrations.collect(n);
        if (confirming && (n == 0 || ++rounds % CONFIRM_CHECK_ROUNDS == 0)) {
            long now = System.nanoTime();
            if (now - registrations.confirmDeadline() >= 0) registrations.confirm(now);
        }
    }

    // ---- checks ----

    private static void checkFd(int fd) {
        if (fd < 0) throw new IllegalArgumentException("fd " + fd + " is negative");
    }

    private void checkOwner(String method) {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException(method + "() called on thread " + Thread.currentThread().getName()
                    + ", but this queue belongs to thread " + owner.getName());
        }
    }

    private void checkOwnerAndOpen(String method) {
        checkOwner(method);
        if (closed) throw new IllegalStateException(method + "() on a closed queue (thread " + owner.getName() + ")");
    }

    private void enterLoop(String method) {
        if (looping) {
            throw new IllegalStateException(method + "() called from inside run()/runOnce()/poll() of this queue"
                    + " (a callback, task or coroutine of the loop): the loop is not re-entrant");
        }
        looping = true;
    }

    private RejectedExecutionException rejected() {
        return new RejectedExecutionException("the queue of thread " + owner.getName() + " is closed");
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException overflow) {
            return d.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }
}
