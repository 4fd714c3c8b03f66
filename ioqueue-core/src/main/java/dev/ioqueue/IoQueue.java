package dev.ioqueue;

import dev.ioqueue.internal.core.Operation;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.core.Ownership;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.core.QueueOpening;
import dev.ioqueue.internal.core.Timer;
import dev.ioqueue.internal.io.Background;
import dev.ioqueue.internal.io.ReadyFuture;
import java.io.IOException;
import java.lang.ref.Cleaner;
import java.time.Duration;
import java.util.Collection;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * A per-thread I/O queue: "run this callback when fd F is ready to READ / WRITE / PRIORITY_READ",
 * I/O operations it retries until they complete, tasks posted from any thread and timers, all run
 * on one thread, over epoll or io_uring ({@link #backend()}).
 *
 * <p><b>Threading.</b> Each thread has its own queue ({@link #current()}). Every method must be
 * called on the owner thread and throws {@link IllegalStateException} elsewhere, except those that
 * say "Thread-safe": {@link #execute}, {@link #runOnOwner}, {@link #schedule}, {@link #whenReady},
 * {@link #stop}, {@link #submitAnywhere}, {@link #shared()}, {@link #owner()},
 * {@link #isOwnerThread()}, {@link #backend()}, {@link #isClosed()}, {@link #stats()}, and {@link Cancellable#cancel()}
 * on what they return.
 *
 * <p><b>Owned fds and plain fds.</b> A {@link Handle} is bound to one queue (the first that waits
 * on it or does I/O with it, or the one named when it was made); its waits, operations and close
 * run there, and its close is exact from any thread. A plain fd number works too, under mio's
 * rule: unregister it (or close it through {@link Fds#close} on this thread) before closing it;
 * one closed behind the queue's back is reported where the kernel tells it
 * ({@link PrematureCloseError}).
 *
 * <p><b>Waiters.</b> One per (fd, {@link ReadyEvent}) per queue. A waiter runs once; waiting again
 * from its callback costs no syscall. ERROR and HANGUP wake every waiter of the fd. Wake-ups may be
 * spurious: retry the syscall and wait again on EAGAIN. Registrations are level-triggered, kept
 * while waiters follow each other, released before the next sleep otherwise (unless
 * {@link #persist persisted}); {@link #run()} allocates nothing per event.
 *
 * <p><b>Failures.</b> A callback, timer or task that throws propagates from {@link #run()}; an I/O
 * operation's failure goes to its completion, by default to the queue's {@link FailureHandler}
 * (logged), and never stops the loop.
 *
 * <p><b>Closing.</b> {@link #close()} drops every waiter and operation (each told once), closes the
 * handles bound to the queue, and releases its fds and native memory; a queue whose thread ended
 * without closing it releases them once unreachable.
 */
public final class IoQueue implements Executor, AutoCloseable {
    private static final ThreadLocal<IoQueue> CURRENT = new ThreadLocal<>();
    private static final Cleaner CLEANER = Cleaner.create();

    final QueueCore core;
    /** Held here strongly, and only weakly by the core: an ended thread holds its Runnable, which may hold this queue. */
    private final Thread owner;
    private final Cleaner.Cleanable cleanable;

    private IoQueue(int backend) {
        core = QueueOpening.open(backend, UserCallbacks.INSTANCE);
        core.setFacade(this);
        owner = core.ownership.owner();
        // The action holds the native parts only, never the queue: it runs once the queue is unreachable.
        cleanable = CLEANER.register(this, core.cleanup());
    }

    /**
     * The calling thread's queue, created on first use (and again after {@link #close()}) on the
     * backend {@link Backend#PROPERTY} names.
     *
     * @throws SyscallException if the queue cannot be created (EMFILE, ENOMEM; on a forced io_uring,
     *     ENOSYS or EPERM)
     * @throws IllegalStateException on a virtual thread, which a loop would pin to its carrier
     * @throws IllegalArgumentException naming it, if a property it reads is mistyped (the backend,
     *     the io_uring sizes, the held-loop threshold: see backends.md and observability.md)
     */
    public static IoQueue current() {
        IoQueue q = CURRENT.get();
        if (q == null) {
            refuseVirtual("IoQueue.current()");
            q = new IoQueue(Backend.fromProperty());
            CURRENT.set(q);
        }
        return q;
    }

    private static void refuseVirtual(String call) {
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException(call + " on virtual thread " + Thread.currentThread()
                    + ": a loop sleeps in epoll_wait, which would pin its carrier. On a virtual thread, use BlockingIo,"
                    + " Fds.awaitReady (they park the virtual thread) or a future from IoQueue.shared().whenReady;"
                    + " run loops on platform threads (IoQueueGroup)");
        }
    }

    /**
     * Makes the calling thread's queue on {@code backend}, which {@link #current()} returns from
     * then on: the backend chosen per queue instead of by {@link Backend#PROPERTY} ({@code null}:
     * as the property says). {@link Backend#IO_URING} fails if the kernel or the process refuses
     * io_uring, naming the errno; it never falls back.
     *
     * @throws IllegalStateException if the calling thread already has an open queue, or is virtual
     * @throws SyscallException if the backend cannot be set up (EMFILE, ENOMEM; for io_uring
     *     ENOSYS or EPERM)
     */
    public static IoQueue create(Backend backend) {
        IoQueue q = CURRENT.get();
        if (q != null) {
            throw new IllegalStateException("thread " + Thread.currentThread().getName() + " already has its queue, on "
                    + q.backend() + ": close it first");
        }
        refuseVirtual("IoQueue.create(" + backend + ")");
        q = new IoQueue(backend == null ? Backend.fromProperty() : backend.code());
        CURRENT.set(q);
        return q;
    }

    /**
     * The shared queue of one daemon platform thread, {@code ioqueue-background}, started on first
     * use and never closed (unless its epoll fd is closed behind its back: it is then closed, its
     * waiters told dropped, and the next call starts a new one), on epoll: it serves futures from any thread and Kotlin's waits on other
     * dispatchers ({@link BlockingIo} and {@link Fds#awaitReady} wait without it, in the blocking
     * pollers, except on a handle bound to an io_uring loop, which waits in that loop). Its futures
     * complete on other threads, so no stage you attach runs on its loop. Use its thread-safe methods.
     *
     * @throws SyscallException if the queue cannot be created (EMFILE, ENOMEM); the next call retries
     */
    public static IoQueue shared() {
        return (IoQueue) sharedCore().facade();
    }

    static QueueCore sharedCore() {
        return Background.get(() -> {
            IoQueue q;
            try {
                q = new IoQueue(QueueCore.EPOLL);
            } catch (SyscallException e) { // the queue's own message would say "this thread's queue"
                throw new SyscallException(e.operation(), e.errnoNumber(), "cannot create the shared queue (thread ioqueue-background)");
            }
            CURRENT.set(q);
            return q.core;
        });
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
        return core.ownership.isOwner();
    }

    /** The backend this queue runs on, chosen when it was made ({@link Backend#PROPERTY}). Thread-safe. */
    public Backend backend() {
        return core.completionIo() ? Backend.IO_URING : Backend.EPOLL;
    }

    /** Whether {@link #close()} was called. Thread-safe. */
    public boolean isClosed() {
        return core.ownership.isClosed();
    }

    /**
     * What this queue holds and has done so far ({@link QueueStats} says field by field): a racy
     * snapshot of counters its thread keeps as it works, so a count may lag by a round. After
     * {@link #close()} the last counts stay. Thread-safe; allocates the record.
     */
    public QueueStats stats() {
        return QueueStats.of(core.stats());
    }

    /**
     * Whether {@link #run()}, {@link #runOnce} or {@link #poll} is under way on this queue, so the
     * caller runs from inside the loop (a callback, task, timer or coroutine) and must not start
     * another. Owner thread only.
     */
    public boolean isInLoop() {
        core.ownership.check("isInLoop");
        return core.ownership.isLooping();
    }

    // ---- waits ----

    /**
     * Waits for {@code fd} to become ready for {@code event}: {@code callback} runs once, on this
     * thread, told the fd and what the OS reported. Owner thread only. While the queue is closing
     * (a task accepted before {@link #close()} runs), the waiter is dropped at once instead.
     *
     * @throws IllegalArgumentException if {@code fd} is negative or one of the queue's own
     * @throws IllegalStateException if {@code fd} already has an {@code event} waiter here (left
     *     untouched), off the owner thread, after close, or while it closes from inside 16 nested
     *     drops (an {@code onDropped} that waits again, and again)
     * @throws SyscallException if epoll refuses the fd (EBADF: not open; EPERM: a regular file or
     *     directory; ENOMEM/ENOSPC: kernel limits); nothing is kept
     * @throws PrematureCloseError if an earlier waiter's fd of this number was closed behind the
     *     queue's back
     */
    public void await(int fd, ReadyEvent event, ReadyCallback callback) {
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(callback, "callback");
        checkFd(fd);
        if (closedFor("await")) {
            core.ownership.dropAtOnce("await", () -> callback.onDropped(fd));
            return;
        }
        core.await(fd, null, event.kind, callback);
    }

    /**
     * {@link #await(int, ReadyEvent, ReadyCallback)} on an owned fd, binding it to this queue if it
     * is unbound. Owner thread only.
     *
     * @throws IllegalStateException also if the handle is closed or bound to another queue
     */
    public void await(Handle handle, ReadyEvent event, ReadyCallback callback) {
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(callback, "callback");
        OwnedFd o = handle.owned;
        if (closedFor("await")) {
            core.ownership.dropAtOnce("await", () -> callback.onDropped(o.fd));
            return;
        }
        core.await(o.fd(), o, event.kind, callback);
    }

    /**
     * Starts {@code operation} on {@code fd}: its attempt runs now if the fd may be ready (then
     * {@link IoOperation#completed} may run before this returns, up to 16 nested calls deep, as
     * the JDK's asynchronous channels do), else when the OS reports it ready; it is retried
     * silently while it would block. Owner thread only. While the queue is closing, the operation
     * is told {@code dropped} at once instead.
     *
     * @throws IllegalArgumentException if {@code fd} is negative, one of the queue's own, or
     *     blocking (with how to fix it; checked once per fd)
     * @throws IllegalStateException if the operation is already pending, {@code fd} already has a
     *     waiter for the operation's event here, off the owner thread, after close, or while it
     *     closes from inside 16 nested drops (a {@code dropped} that submits again, and again)
     * @throws SyscallException as {@link #await} does, or if {@code fcntl} fails (EBADF: not open)
     */
    public void submit(int fd, IoOperation operation) {
        Objects.requireNonNull(operation, "operation");
        checkFd(fd);
        if (closedFor("submit")) {
            core.ownership.dropAtOnce("submit", () -> operation.dropped(fd));
            return;
        }
        if (operation.isPending()) throw new IllegalStateException(operation + " is already pending");
        core.submit(fd, null, operation.engine());
    }

    /**
     * {@link #submit(int, IoOperation)} on an owned fd, binding it to this queue if it is unbound.
     * On an io_uring queue, the factories' reads and writes are then performed by the ring. Owner
     * thread only.
     *
     * @throws IllegalStateException also if the handle is closed or bound to another queue
     */
    public void submit(Handle handle, IoOperation operation) {
        Objects.requireNonNull(operation, "operation");
        OwnedFd o = handle.owned;
        if (closedFor("submit")) {
            core.ownership.dropAtOnce("submit", () -> operation.dropped(o.fd));
            return;
        }
        if (operation.isPending()) throw new IllegalStateException(operation + " is already pending");
        core.submit(o.fd(), o, operation.engine());
    }

    /**
     * {@link #submit(int, IoOperation)} from any thread: posted to the owner thread (run at once on
     * it). What {@code submit} would throw there goes to the operation's {@code failed} (as an
     * {@link IOException} for a syscall failure) or propagates from the loop (or, run at once, to
     * the caller), as does what the operation's own completion throws; if the queue is
     * closing or closed, the operation is told {@code dropped} at once, on the calling thread (a
     * {@code dropped} that submits again, 16 deep, gets {@link IllegalStateException}).
     * Thread-safe.
     */
    public void submitAnywhere(int fd, IoOperation operation) {
        Objects.requireNonNull(operation, "operation");
        checkFd(fd);
        if (!core.runOnOwner(() -> submitOrFail(fd, operation))) core.ownership.dropAtOnce("submitAnywhere", () -> operation.dropped(fd));
    }

    /**
     * {@link #submit(int, IoOperation)}, on the owner thread; a syscall's failure of the submit itself
     * (EBADF from the non-blocking check, EPERM from epoll_ctl...) goes to the operation. What came
     * out of its own completion (or a submit made there) is not the submit's: it propagates.
     */
    private void submitOrFail(int fd, IoOperation operation) {
        Operation op = operation.engine();
        long told = op.tellings();
        try {
            submit(fd, operation);
        } catch (java.io.UncheckedIOException e) {
            if (op.tellings() != told) throw e;
            op.failedOn(core, fd, e.getCause());
        }
    }

    /**
     * A future of {@code fd}'s next readiness for {@code event} on this queue: it completes with
     * what the OS reported. Thread-safe: the waiter is registered on the owner thread (at once from
     * it, else posted). Completing the future yourself (cancel, {@code complete},
     * {@code completeAsync}, {@code orTimeout}...) withdraws the waiter, and a new wait on the same
     * fd and event may follow at once. It completes exceptionally with {@link WaitDroppedException}
     * if the wait is dropped (the fd unregistered or closed, the queue closed, or its thread ended
     * without closing it: then on another thread, see threading.md), and with what
     * {@link #await} throws if the registration fails. On this queue's own thread, the future
     * completes there; on {@link #shared()}, on another thread. Allocates the future.
     */
    public CompletableFuture<Set<Event>> whenReady(int fd, ReadyEvent event) {
        Objects.requireNonNull(event, "event");
        checkFd(fd);
        return new ReadyFuture<>(core, fd, null, event.kind, Event::setOf, completer()).start();
    }

    /**
     * {@link #whenReady(int, ReadyEvent)} on an owned fd (bound to this queue if unbound); if it is
     * closed (before or during the wait, by any thread) the future fails with
     * {@link WaitDroppedException}. Thread-safe.
     */
    public CompletableFuture<Set<Event>> whenReady(Handle handle, ReadyEvent event) {
        Objects.requireNonNull(event, "event");
        OwnedFd o = handle.owned;
        return new ReadyFuture<>(core, o.fd, o, event.kind, Event::setOf, completer()).start();
    }

    private Executor completer() {
        return core == Background.ifStarted() ? Background.COMPLETER : null;
    }

    /**
     * Withdraws exactly this waiter ({@code callback} on {@code fd} for {@code event}), waiting or
     * collected by {@link #run()} or {@link #runOnce} but not yet run; the OS interest goes before
     * the next sleep. A waiter {@link #poll} handed out as a Runnable is no longer the queue's to
     * withdraw (false; {@link #unregister} turns that Runnable into an {@code onDropped}). Owner
     * thread only.
     *
     * @return whether it was withdrawn (false: it already ran or was handed out by {@code poll},
     *     was never there, the fd is negative, or the queue is closed; never an exception, as a
     *     cancellation may race anything)
     */
    public boolean cancel(int fd, ReadyEvent event, ReadyCallback callback) {
        Objects.requireNonNull(event, "event");
        core.ownership.check("cancel");
        if (core.ownership.isClosed() || fd < 0) return false;
        return core.cancel(fd, event.kind, callback);
    }

    /** {@link #cancel(int, ReadyEvent, ReadyCallback)} on an owned fd. Owner thread only. */
    public boolean cancel(Handle handle, ReadyEvent event, ReadyCallback callback) {
        return cancel(handle.owned.fd, event, callback);
    }

    /**
     * Forgets {@code fd}: its waiters never run, even those already collected (each is told through
     * {@link ReadyCallback#onDropped}); its registration and persist mark go. No syscall when the
     * queue knows nothing of it. Owner thread only.
     *
     * @throws PrematureCloseError if the fd was closed while waited on or persisted
     * @throws IllegalArgumentException if {@code fd} is the number of a {@link Handle} bound to
     *     this queue: unregister the handle (its operations may live in the ring, out of the
     *     number's reach), as {@link Fds#close} refuses it
     */
    public void unregister(int fd) {
        checkFd(fd);
        core.ownership.checkOpen("unregister");
        if (core.hasOwned(fd)) {
            throw new IllegalArgumentException("unregister: fd " + fd + " belongs to a Handle bound to this queue (thread "
                    + owner().getName() + "): unregister the Handle instead");
        }
        core.unregister(fd, null);
    }

    /**
     * {@link #unregister(int)} of an owned fd: also its pending operations are dropped (on io_uring,
     * a write the kernel already made completes instead, with its count: see backends.md). Owner
     * thread of its queue.
     */
    public void unregister(Handle handle) {
        core.ownership.checkOpen("unregister");
        OwnedFd o = handle.owned;
        core.unregister(o.fd(), o);
    }

    /**
     * Keeps {@code fd} registered across waits, so a later wait costs no {@code epoll_ctl} even
     * when none follows at once; events nobody waits for may wake {@link #poll} spuriously. Ends
     * with {@link #unregister}. Owner thread only.
     *
     * @throws SyscallException as {@link #await} does for an fd epoll refuses
     */
    public void persist(int fd) {
        checkFd(fd);
        core.ownership.checkOpen("persist");
        core.persist(fd, null);
    }

    /** {@link #persist(int)} of an owned fd, binding it to this queue if unbound. Owner thread only. */
    public void persist(Handle handle) {
        core.ownership.checkOpen("persist");
        OwnedFd o = handle.owned;
        core.persist(o.fd(), o);
    }

    /**
     * Where this queue sends the failures of I/O operations whose completion does not handle them;
     * null restores the default (logged through {@code System.Logger}). Owner thread only.
     */
    public void onFailure(FailureHandler handler) {
        core.ownership.check("onFailure");
        core.setFailureSink(handler == null ? null : handler::failed);
    }

    /** The default of {@link IoCompletion#failed} and {@link IoOperation#failed}: the calling thread's queue handles it. */
    static void unhandledFailure(int fd, IOException failure) {
        IoQueue q = CURRENT.get();
        if (q != null && (!q.isClosed() || q.core.ownership.isDraining())) q.core.unhandledFailure(fd, failure);
        else dev.ioqueue.internal.core.FailureSink.LOG.failed(fd, failure);
    }

    // ---- the loop ----

    /**
     * Whether anything is pending: a waiter, an operation, a task, a timer, a hold, or a collected
     * callback not yet run (a Runnable {@link #poll} handed out is the caller's to run, not the
     * queue's: it does not count). Owner thread only.
     */
    public boolean running() {
        core.ownership.check("running");
        return core.running();
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
        return core.poll(ready, timeout == null ? -1 : Math.max(0, nanos(timeout)));
    }

    /**
     * Polls and runs callbacks, timers and tasks until nothing is pending, or until {@link #stop()}
     * is asked for (then it returns after the round under way). Owner thread only; not re-entrant.
     * What a callback, timer or task throws propagates; the rest of what was collected runs first
     * next time.
     */
    public void run() {
        core.run();
    }

    /**
     * One round of {@link #run()}: waits at most {@code timeout} ({@code null}: no limit) unless
     * something is ready, then runs what is ready, taking only the tasks posted before the round
     * began. Returns how many ran (0 at once when nothing is pending, or after a spurious wake-up).
     * Owner thread only; not re-entrant. The building block of loops with their own stop condition.
     */
    public int runOnce(Duration timeout) {
        return core.runOnce(timeout == null ? -1 : Math.max(0, nanos(timeout)));
    }

    /**
     * Asks {@link #run()} to return after the round under way (or, if none runs, the next
     * {@code run()} to return after one round, which then does not wait for the OS). Thread-safe:
     * from another thread it wakes the loop.
     */
    public void stop() {
        core.stop();
    }

    // ---- tasks and timers ----

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
        if (core.ownership.ownerEnded()) throw core.ownership.ownerEndedRejection();
        if (!core.offer(task)) throw core.ownership.rejected();
    }

    /**
     * Runs {@code task} now on the owner thread, else posts it as {@link #execute} does; returns
     * false, running nothing, once the queue is closed or its owner thread has ended. Thread-safe:
     * "do this on the loop" for code that may or may not run there, such as a cancellation handler.
     */
    public boolean runOnOwner(Runnable task) {
        Objects.requireNonNull(task, "task");
        return core.runOnOwner(task);
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
        if (core.ownership.ownerEnded()) throw core.ownership.ownerEndedRejection();
        Timer timer = core.schedule(nanos(delay), task, ifDropped);
        if (timer == null) throw core.ownership.rejected();
        return timer::cancel;
    }

    /**
     * Keeps the queue pending, so {@link #run()} and {@link #poll} wait for tasks from other
     * threads instead of returning, until the returned handle is cancelled (from any thread).
     * Owner thread only.
     */
    public Cancellable hold() {
        core.ownership.checkOpen("hold");
        return core.hold()::cancel;
    }

    /**
     * Runs the tasks already accepted (later ones are rejected; waits and operations they ask for
     * are dropped at once), drops waiters and operations (each told once) and timers (telling those
     * with an {@code ifDropped}), closes the {@link Handle}s bound to this queue, then releases the
     * epoll fd (or ring), eventfd and native memory whatever those threw; the first throwable then
     * propagates, up to 64 more suppressed onto it. On io_uring it waits (up to a second) for the
     * kernel to finish every request first. The thread's next {@link #current()} makes a new queue.
     * Idempotent. Owner thread only, not from inside the loop.
     */
    @Override
    public void close() {
        core.ownership.check("close");
        try {
            core.close(); // during it, this thread's current() is still this queue: what tasks ask of it is dropped
        } finally {
            if (core.ownership.isClosed()) {
                if (CURRENT.get() == this) CURRENT.remove();
                cleanable.clean();
            }
        }
    }

    @Override
    public String toString() {
        return "IoQueue[" + owner().getName() + ", " + backend() + (isClosed() ? ", closed]" : "]");
    }

    /** Whether a call on a closed queue must drop what it was given (true: closing) or throw (closed). */
    private boolean closedFor(String method) {
        core.ownership.check(method);
        if (!core.ownership.isClosed()) return false;
        if (core.ownership.isDraining()) return true;
        throw new IllegalStateException(method + "() on a closed queue (thread " + owner().getName() + ")");
    }

    private static void checkFd(int fd) {
        if (fd < 0) throw new IllegalArgumentException("fd " + fd + " is negative");
    }

    /** {@code d} in nanoseconds, saturated instead of overflowing. */
    static long nanos(Duration d) {
        return Ownership.nanos(d);
    }
}
