package dev.ioqueue;

import dev.ioqueue.internal.Failures;
import dev.ioqueue.internal.Loop;
import dev.ioqueue.internal.Ownership;
import dev.ioqueue.internal.Poller;
import dev.ioqueue.internal.RingStreams;
import dev.ioqueue.internal.Registrations;
import dev.ioqueue.internal.RunQueue;
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
 * <p><b>Threading.</b> Each thread has its own queue ({@link #current()}), so two threads may wait
 * on the same fd at once. Every method must be called on the owner thread and throws
 * {@link IllegalStateException} elsewhere, except {@link #execute}, {@link #runOnOwner},
 * {@link #schedule}, {@link #whenReady}, {@link #shared()}, {@link #owner()}, {@link #isOwnerThread()}, {@link #isClosed()} and
 * {@link Cancellable#cancel()} on what they return, which are thread-safe.
 *
 * <p><b>Waiters.</b> One per (fd, {@link ReadyEvent}) per queue. A waiter runs once; waiting again
 * from its callback costs no syscall. ERROR and HANGUP wake every waiter of the fd. Wake-ups may be
 * spurious: retry the syscall and wait again on EAGAIN. Registrations are level-triggered, kept
 * while waiters follow each other, released before the next sleep otherwise (unless
 * {@link #persist persisted}); {@link #run()} allocates nothing per event.
 *
 * <p><b>Closing.</b> Close a waited-on fd through {@link Handle#close()} or {@link Fds#close(int)}
 * (they unregister it from the calling thread's queue first), or after {@link #unregister}; closing
 * it behind the queue's back is a {@link PrematureCloseError}, raised when the queue notices.
 * {@link #close()} releases the queue's fds and native memory; a queue whose thread ended without
 * closing it releases them once unreachable.
 */
public final class IoQueue implements Executor, AutoCloseable {
    private static final ThreadLocal<IoQueue> CURRENT = new ThreadLocal<>();
    private static final Cleaner CLEANER = Cleaner.create();

    private final Ownership ownership;
    private final Poller poller;
    private final RingStreams streams;
    private final Cleaner.Cleanable cleanable;
    private final Registrations registrations;
    private final RunQueue runQueue;
    private final Loop loop;
    /** Depth of {@link #submit} calls on the stack: completions run in place up to a bound. */
    private int nestedSubmits;
    private static final int MAX_NESTED_SUBMITS = 16;

    private IoQueue() {
        Thread owner = Thread.currentThread();
        ownership = new Ownership(owner);
        poller = Poller.open();
        // The action holds the poller only, never the queue: it runs once the queue is unreachable.
        cleanable = CLEANER.register(this, poller.cleanup());
        streams = poller.streams();
        registrations = new Registrations(poller, owner);
        runQueue = new RunQueue(owner, poller);
        loop = new Loop(registrations, runQueue, poller);
    }

    /**
     * The calling thread's queue, created on first use (and again after {@link #close()}).
     *
     * @throws SyscallException if the epoll instance, its wake-up eventfd or its timerfd cannot be created
     *     (EMFILE, ENOMEM)
     * @throws IllegalStateException on a virtual thread, which a loop would pin to its carrier
     */
    public static IoQueue current() {
        IoQueue q = CURRENT.get();
        if (q == null) {
            if (Thread.currentThread().isVirtual()) {
                throw new IllegalStateException("IoQueue.current() on virtual thread " + Thread.currentThread()
                        + ": a loop sleeps in epoll_wait, which would pin its carrier. On a virtual thread, wait with"
                        + " Fds.awaitReady (it parks the virtual thread) or a future from IoQueue.shared().whenReady;"
                        + " run loops on platform threads (IoQueueGroup)");
            }
            q = new IoQueue();
            CURRENT.set(q);
        }
        return q;
    }

    /**
     * The shared queue of one daemon platform thread, {@code ioqueue-background}, started on first
     * use and never closed: it serves the waits made off any loop ({@link Fds#awaitReady}, Kotlin
     * awaits on other dispatchers) and futures from any thread ({@link #whenReady}). Use its
     * thread-safe methods; its owner-thread methods belong to its own thread.
     *
     * @throws SyscallException if the queue cannot be created (EMFILE, ENOMEM); the next call retries
     */
    public static IoQueue shared() {
        return SharedQueue.get();
    }

    /** The calling thread's queue if it has one, without creating it. */
    static IoQueue currentIfAny() {
        return CURRENT.get();
    }

    /** The thread that owns this queue. Thread-safe. */
    public Thread owner() {
        return ownership.owner();
    }

    /** Whether the calling thread owns this queue. Thread-safe. */
    public boolean isOwnerThread() {
        return ownership.isOwner();
    }

    /** The backend this queue runs on, chosen when it was made ({@link Backend#PROPERTY}). Thread-safe. */
    public Backend backend() {
        return poller.performsIo() ? Backend.IO_URING : Backend.EPOLL;
    }

    /** Whether {@link #close()} was called. Thread-safe. */
    public boolean isClosed() {
        return ownership.isClosed();
    }

    /**
     * Whether {@link #run()}, {@link #runOnce} or {@link #poll} is under way on this queue, so the
     * caller runs from inside the loop (a callback, task, timer or coroutine) and must not start
     * another. Owner thread only.
     */
    public boolean isInLoop() {
        ownership.check("isInLoop");
        return ownership.isLooping();
    }

    /**
     * Waits for {@code fd} to become ready for {@code event}: {@code callback} runs once, on this
     * thread, told the fd and what the OS reported. Owner thread only.
     *
     * @throws IllegalArgumentException if {@code fd} is negative or one of the queue's own
     * @throws IllegalStateException if {@code fd} already has an {@code event} waiter here (left
     *     untouched), off the owner thread, or after close
     * @throws SyscallException if epoll refuses the fd (EBADF: not open; EPERM: a regular file or
     *     directory; ENOMEM/ENOSPC: kernel limits); nothing is kept
     * @throws PrematureCloseError if an earlier waiter's fd of this number was closed behind the
     *     queue's back
     */
    public void await(int fd, ReadyEvent event, ReadyCallback callback) {
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(callback, "callback");
        ownership.checkOpen("await");
        checkFd(fd);
        registrations.await(fd, event, callback);
    }

    /**
     * Starts {@code operation} on {@code fd}: its attempt runs now if the fd may be ready (then
     * {@link IoOperation#completed} may run before this returns, up to 16 nested calls deep, as
     * the JDK's asynchronous channels do), else when the OS reports it ready; it is retried
     * silently while it would block. Owner thread only.
     *
     * @throws IllegalArgumentException if {@code fd} is negative, one of the queue's own, or
     *     blocking (with how to fix it; checked once per fd until it is closed)
     * @throws IllegalStateException if the operation is already pending, {@code fd} already has a
     *     waiter for the operation's event here, off the owner thread, or after close
     * @throws SyscallException as {@link #await} does, or if {@code fcntl} fails (EBADF: not open)
     */
    public void submit(int fd, IoOperation operation) {
        Objects.requireNonNull(operation, "operation");
        ownership.checkOpen("submit");
        checkFd(fd);
        if (operation.isPending()) throw new IllegalStateException(operation + " is already pending");
        boolean mayTry = registrations.mayTry(fd, operation.event()); // and the checks: own fd, blocking, second waiter
        boolean inPlace = nestedSubmits < MAX_NESTED_SUBMITS;
        boolean now = operation.empty() || (mayTry && inPlace);
        nestedSubmits++;
        try {
            operation.start(this, fd, now, inPlace);
        } finally {
            nestedSubmits--;
        }
    }

    /**
     * {@link #submit} from any thread: posted to the owner thread (run at once on it). What
     * {@code submit} would throw there goes to the operation's {@code failed}; if the queue is
     * closed, or (on {@link #shared()}) {@code fd} is closed through the library on any thread
     * before the operation starts, it is told {@code dropped}, on the thread that finds out.
     * Thread-safe.
     */
    public void submitAnywhere(int fd, IoOperation operation) {
        Objects.requireNonNull(operation, "operation");
        checkFd(fd);
        PostedSubmit.post(this, fd, operation);
    }

    /** Makes this the shared queue: its registered fds are published for other threads' closes. */
    void publishFds() {
        registrations.publishFds();
    }

    /** The shared queue's side of a close on another thread: drops the fd's waiters (telling them). Owner thread. */
    void releaseBeforeClose(int fd) {
        registrations.releaseBeforeClose(fd);
    }

    /** The completion I/O engine of this queue's ring; null on epoll. Owner thread. */
    RingStreams streams() {
        return streams;
    }

    /** An attempt found {@code fd} drained for {@code kind}: the next submission waits for the OS. */
    void drained(int fd, int kind) {
        registrations.drained(fd, kind);
    }

    /**
     * A future of {@code fd}'s next readiness for {@code event} on this queue: it completes with
     * what the OS reported. Thread-safe: the waiter is registered on the owner thread (at once from
     * it, else posted). Cancelling the future withdraws the waiter, exactly once: the future
     * completes one way only, whatever races it. It completes exceptionally with
     * {@link WaitDroppedException} if the wait is dropped (the fd unregistered or closed, the queue
     * closed), and with what {@link #await} throws if the registration fails. Allocates the future.
     */
    public java.util.concurrent.CompletableFuture<java.util.Set<Event>> whenReady(int fd, ReadyEvent event) {
        Objects.requireNonNull(event, "event");
        checkFd(fd);
        return new FutureWaiter(this, fd, event).post();
    }

    /**
     * Withdraws exactly this waiter ({@code callback} on {@code fd} for {@code event}), waiting or
     * collected but not yet run; the OS interest goes before the next sleep. Owner thread only.
     *
     * @return whether it was withdrawn (false: it already ran, was never there, the fd is negative,
     *     or the queue is closed; never an exception, as a cancellation may race anything)
     */
    public boolean cancel(int fd, ReadyEvent event, ReadyCallback callback) {
        Objects.requireNonNull(event, "event");
        ownership.check("cancel");
        if (ownership.isClosed() || fd < 0) return false;
        return registrations.cancel(fd, event, callback);
    }

    /**
     * Forgets {@code fd}: its waiters never run, even those already collected (each is told through
     * {@link ReadyCallback#onDropped}); its registration and persist mark go. No syscall when the
     * queue knows nothing of it. Owner thread only.
     *
     * @throws PrematureCloseError if the fd was closed while waited on or persisted
     */
    public void unregister(int fd) {
        ownership.checkOpen("unregister");
        checkFd(fd);
        registrations.unregister(fd);
    }

    /** {@link #unregister(int)} of the handle's fd. */
    public void unregister(Handle handle) {
        unregister(handle.fd());
    }

    /**
     * Keeps {@code fd} registered across waits, so a later wait costs no {@code epoll_ctl} even
     * when none follows at once; events nobody waits for may wake {@link #poll} spuriously (then the
     * registration is dropped). Ends with {@link #unregister}. Owner thread only.
     *
     * @throws SyscallException as {@link #await} does for an fd epoll refuses
     */
    public void persist(int fd) {
        ownership.checkOpen("persist");
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
        ownership.check("running");
        return !ownership.isClosed() && loop.pending();
    }

    /**
     * Collects, without running them, the ready callbacks (bound to their fd and events), due
     * timers and posted tasks as Runnables that run at most once, on this thread; returns how many
     * it added. Owner thread only; not from inside the loop. Returns 0 at once when nothing is
     * pending, else waits until something is ready or {@code timeout} passes ({@code null}: no
     * limit; {@link Duration#ZERO}: no wait; a positive one never ends early, to the nanosecond with
     * {@code epoll_pwait2}). Allocates a small Runnable per item, unlike {@link #run()}.
     */
    public int poll(Collection<? super Runnable> ready, Duration timeout) {
        Objects.requireNonNull(ready, "ready");
        ownership.enterLoop("poll");
        try {
            if (!running()) return 0;
            return loop.poll(ready, timeout == null ? -1 : Math.max(0, Ownership.nanos(timeout)));
        } finally {
            ownership.exitLoop();
        }
    }

    /**
     * Polls and runs callbacks, timers and tasks until nothing is pending. Owner thread only; not
     * re-entrant. What a callback, timer or task throws propagates; the rest of what was collected
     * runs first next time.
     */
    public void run() {
        ownership.enterLoop("run");
        try {
            while (running()) loop.round(-1);
        } finally {
            ownership.exitLoop();
        }
    }

    /**
     * One round of {@link #run()}: waits at most {@code timeout} ({@code null}: no limit) unless
     * something is ready, then runs what is ready, taking only the tasks posted before the round
     * began. Returns how many ran (0 at once when nothing is pending, or after a spurious wake-up).
     * Owner thread only; not re-entrant. The building block of loops with their own stop condition.
     */
    public int runOnce(Duration timeout) {
        ownership.enterLoop("runOnce");
        try {
            if (!running()) return 0;
            return loop.round(timeout == null ? -1 : Math.max(0, Ownership.nanos(timeout)));
        } finally {
            ownership.exitLoop();
        }
    }

    /**
     * Posts {@code task} to run on the owner thread, FIFO with other posted tasks, waking the loop
     * (one eventfd write per sleep at most). Thread-safe. A task accepted before {@link #close()}
     * runs, at the latest during {@code close()}.
     *
     * @throws RejectedExecutionException after {@link #close()}, or once the owner thread has ended
     */
    @Override
    public void execute(Runnable task) {
        Objects.requireNonNull(task, "task");
        if (ownership.ownerEnded()) throw ownership.ownerEndedRejection();
        if (!runQueue.offer(task)) throw ownership.rejected();
    }

    /**
     * Runs {@code task} now on the owner thread, else posts it as {@link #execute} does; returns
     * false, running nothing, once the queue is closed or its owner thread has ended. Thread-safe: "do this on the loop" for
     * code that may or may not run there, such as a cancellation handler.
     */
    public boolean runOnOwner(Runnable task) {
        Objects.requireNonNull(task, "task");
        return !ownership.ownerEnded() && runQueue.runOnOwner(task);
    }

    /**
     * Runs {@code task} on the owner thread once {@code delay} has passed (zero or negative: at the
     * next round); deadline order, ties in scheduling order. Thread-safe. A timer still pending at
     * {@link #close()} is dropped silently; see {@link #schedule(Duration, Runnable, Runnable)}.
     *
     * @return a handle whose {@code cancel()} guarantees the task will not run, if it has not
     * @throws RejectedExecutionException after {@link #close()}
     */
    public Cancellable schedule(Duration delay, Runnable task) {
        return schedule(delay, task, null);
    }

    /**
     * {@link #schedule(Duration, Runnable)}, and if the queue closes first, {@code ifDropped} runs
     * instead, on the owner thread, during {@link #close()}: a timer that stands for a suspended
     * computation fails it there instead of leaving it waiting forever. Thread-safe.
     */
    public Cancellable schedule(Duration delay, Runnable task, Runnable ifDropped) {
        Objects.requireNonNull(delay, "delay");
        Objects.requireNonNull(task, "task");
        if (ownership.ownerEnded()) throw ownership.ownerEndedRejection();
        Cancellable timer = runQueue.schedule(Ownership.nanos(delay), task, ifDropped);
        if (timer == null) throw ownership.rejected();
        return timer;
    }

    /**
     * Keeps the queue pending, so {@link #run()} and {@link #poll} wait for tasks from other
     * threads instead of returning, until the returned handle is cancelled (from any thread).
     * Owner thread only.
     */
    public Cancellable hold() {
        ownership.checkOpen("hold");
        return runQueue.hold();
    }

    /**
     * Runs the tasks already accepted (later ones are rejected), drops timers (telling those with an
     * {@code ifDropped}) and waiters (through {@link ReadyCallback#onDropped}), then releases the
     * epoll fd, eventfd, timerfd and native memory whatever those threw; the first throwable then
     * propagates, up to 64 more suppressed onto it. Never waits for other threads. The
     * thread's next {@link #current()} makes a new queue. Idempotent. Owner thread only, not from
     * inside the loop.
     */
    @Override
    public void close() {
        if (!ownership.close()) return;
        if (CURRENT.get() == this) CURRENT.remove();
        Throwable failure = null;
        try {
            failure = runQueue.close();
            failure = registrations.close(failure); // every throwable suppressed onto the first
        } catch (Throwable t) {
            failure = Failures.add(failure, t);
        } finally {
            try {
                poller.close(); // on this thread: a ring first waits until the kernel finished its requests
            } finally {
                cleanable.clean();
            }
        }
        Failures.rethrow(failure);
    }

    @Override
    public String toString() {
        return "IoQueue[" + owner().getName() + (isClosed() ? ", closed]" : "]");
    }

    private static void checkFd(int fd) {
        if (fd < 0) throw new IllegalArgumentException("fd " + fd + " is negative");
    }
}
