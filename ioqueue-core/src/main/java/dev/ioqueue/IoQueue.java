package dev.ioqueue;

import dev.ioqueue.internal.FdTable;
import dev.ioqueue.internal.Inbox;
import dev.ioqueue.internal.Interest;
import dev.ioqueue.internal.NativeAccounting;
import dev.ioqueue.internal.ReadyBatch;
import dev.ioqueue.internal.Timer;
import dev.ioqueue.internal.TimerHeap;
import dev.ioqueue.internal.os.Epoll;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.EventFd;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.Unistd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A per-thread I/O readiness queue: "run this callback when fd F is ready to READ / WRITE /
 * PRIORITY_READ", for any fd epoll accepts (pipes, sockets, eventfd, timerfd, ttys, inotify, fds
 * from native libraries), plus tasks posted from any thread and timers, all run on one thread.
 *
 * <h2>Threading</h2>
 * Each thread has its own queue ({@link #current()}), with its own epoll instance, so two threads
 * may wait on the same fd at once. Every method must be called on the owner thread and throws
 * {@link IllegalStateException} elsewhere, except {@link #execute}, {@link #schedule},
 * {@link #owner()} and {@link Cancellable#cancel()} on what they return, which are thread-safe.
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
 * {@link #run()} allocates nothing per event.
 *
 * <h2>Closing fds</h2>
 * Close a waited-on fd through {@link Handle#close()} or {@link Fds#close(int)} (they unregister it
 * from the calling thread's queue first), or {@link #unregister} it first. Closing it behind the
 * queue's back is a {@link PrematureCloseError}, raised when the queue notices.
 */
public final class IoQueue implements Executor, AutoCloseable {
    private static final ThreadLocal<IoQueue> CURRENT = new ThreadLocal<>();
    private static final int MAX_EVENTS = 1024;
    private static final long WAKE_DATA = -1L;
    private static final int AWAKE = 0;
    private static final int SLEEPING = 1;
    private static final int WOKEN = 2;
    private static final VarHandle WAKE_STATE;
    private static final VarHandle IN_FLIGHT;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            WAKE_STATE = lookup.findVarHandle(IoQueue.class, "wakeState", int.class);
            IN_FLIGHT = lookup.findVarHandle(IoQueue.class, "inFlight", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Thread owner;
    private final Arena arena;
    private final MemorySegment errno;
    private final MemorySegment events;
    private final MemorySegment ctlEvent;
    private final MemorySegment timespec;
    private final MemorySegment wakeBuffer;
    private final int wakeFd;
    private int epfd;

    private final FdTable table = new FdTable();
    private final ReadyBatch batch = new ReadyBatch();
    private final TimerHeap timers;
    private final Inbox inbox = new Inbox();
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private int holds;
    private boolean looping;
    /** The fd whose callback is running, or -1: its own re-wait may trust its registration. */
    private int runningFd = -1;
    private volatile boolean closed;
    @SuppressWarnings("unused") // through WAKE_STATE
    private volatile int wakeState;
    @SuppressWarnings("unused") // through IN_FLIGHT
    private volatile int inFlight;

    private IoQueue() {
        owner = Thread.currentThread();
        arena = Arena.ofConfined();
        int ep = -1;
        int wake = -1;
        try {
            errno = Native.newErrnoSegment(arena);
            events = Epoll.allocateEvents(arena, MAX_EVENTS);
            ctlEvent = Epoll.allocateEvents(arena, 1);
            timespec = arena.allocate(Epoll.TIMESPEC_SIZE, 8);
            wakeBuffer = arena.allocate(8, 8);
            ep = Epoll.create(errno);
            if (ep < 0) throw new SyscallException("epoll_create1", -1, -ep, "cannot create this thread's queue");
            wake = EventFd.create(0, EventFd.EFD_NONBLOCK | EventFd.EFD_CLOEXEC, errno);
            if (wake < 0) throw new SyscallException("eventfd", -1, -wake, "cannot create this thread's queue");
            int r = Epoll.ctl(ep, Epoll.EPOLL_CTL_ADD, wake, Epoll.EPOLLIN, WAKE_DATA, ctlEvent, errno);
            if (r < 0) throw new SyscallException("epoll_ctl(EPOLL_CTL_ADD)", wake, -r, "cannot register the wake-up eventfd");
        } catch (Throwable t) {
            MemorySegment e = Native.threadErrno();
            if (wake >= 0) Unistd.close(wake, e);
            if (ep >= 0) Unistd.close(ep, e);
            arena.close();
            throw t;
        }
        epfd = ep;
        wakeFd = wake;
        timers = new TimerHeap(owner, this);
        NativeAccounting.opened(nativeBytes());
    }

    private long nativeBytes() {
        return errno.byteSize() + events.byteSize() + ctlEvent.byteSize() + timespec.byteSize() + wakeBuffer.byteSize();
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
     * Waits for {@code fd} to become ready for {@code event}: {@code callback} runs once, on this
     * thread, from {@link #run()} or {@link #poll}, told the fd and what the OS reported. Owner
     * thread only.
     *
     * @throws IllegalArgumentException if {@code fd} is negative, or is this queue's own epoll or
     *     wake-up fd
     * @throws IllegalStateException if a waiter already waits on {@code fd} for {@code event} here
     *     (that waiter is left untouched), off the owner thread, or after close
     * @throws SyscallException if epoll refuses the fd: EBADF (not open), EPERM (a regular file or
     *     directory: epoll cannot wait on those), ENOMEM/ENOSPC (kernel limits)
     * @throws PrematureCloseError if an earlier waiter's fd of this number was closed behind the
     *     queue's back
     */
    public void await(int fd, ReadyEvent event, ReadyCallback callback) {
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(callback, "callback");
        checkOwnerAndOpen("await");
        checkFd(fd);
        int kind = event.ordinal();
        table.ensure(fd);
        if (table.waiter(fd, kind) != null) rejectSecondWaiter(fd, event);
        int bit = Interest.epollBit(kind);
        if (!table.registered(fd)) {
            add(fd, bit);
        } else if ((table.osMask(fd) & bit) == 0) {
            modifyForWaiter(fd, table.osMask(fd) | bit);
        } else if (table.lapsed(fd) && fd != runningFd) {
            // Kept only because its last waiter left this round. A callback waiting again on its own
            // fd is the same file; anyone else may have closed it and got the number back (another
            // thread's close is not seen here), so one MOD checks the registration is still ours.
            modifyForWaiter(fd, table.osMask(fd));
        }
        table.setWaiter(fd, kind, callback);
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
        if (closed || fd < 0 || !table.knows(fd)) return false;
        int kind = event.ordinal();
        if (table.waiter(fd, kind) == callback && callback != null) {
            table.takeWaiter(fd, kind);
            if (!table.persistent(fd)) table.markLapsed(fd);
            return true;
        }
        return batch.remove(fd, kind, callback);
    }

    /**
     * Forgets {@code fd}: its waiters never run, not even those already collected for running (each
     * is told through {@link ReadyCallback#onDropped}), and its epoll registration and persist mark
     * are removed. A no-op, without a syscall, when the
     * queue knows nothing of the fd. Owner thread only.
     *
     * @throws PrematureCloseError if the fd was closed while waited on or persisted (epoll answers
     *     EBADF or ENOENT)
     */
    public void unregister(int fd) {
        checkOwnerAndOpen("unregister");
        if (fd < 0) throw new IllegalArgumentException("fd " + fd + " is negative");
        forget(fd, true);
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
        table.ensure(fd);
        if (!table.registered(fd)) add(fd, 0);
        table.setPersistent(fd, true);
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
        return !closed && (table.waiterCount() > 0 || holds > 0 || !timers.isEmpty() || !batch.isEmpty()
                || !tasks.isEmpty() || !inbox.isEmpty());
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
                if (batch.isEmpty()) {
                    long remaining = timeoutNanos < 0 ? -1 : Math.max(0, deadline - System.nanoTime());
                    waitForEvents(boundedTimeout(remaining));
                }
                n += collectReady(ready);
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
     * possibly 0 before the timeout after a spurious wake-up.
     * Owner thread only; not re-entrant. This is the building block of loops that stop on their
     * own condition, like Kotlin's {@code runIoQueue}.
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
        if (Thread.currentThread() == owner) {
            if (closed) throw rejected();
            tasks.add(task);
            return;
        }
        IN_FLIGHT.getAndAdd(this, 1);
        try {
            if (closed) throw rejected();
            inbox.offer(task);
            if ((int) WAKE_STATE.getVolatile(this) == SLEEPING && WAKE_STATE.compareAndSet(this, SLEEPING, WOKEN)) {
                EventFd.signal(wakeFd);
            }
        } finally {
            IN_FLIGHT.getAndAdd(this, -1);
        }
    }

    /**
     * Runs {@code task} on the owner thread once {@code delay} has passed (a zero or negative delay
     * means at the next round). Timers fire in deadline order, ties in scheduling order.
     * Thread-safe.
     *
     * @return a handle whose {@code cancel()} guarantees the task will not run, if it has not
     * @throws RejectedExecutionException after {@link #close()}
     */
    public Cancellable schedule(Duration delay, Runnable task) {
        Objects.requireNonNull(delay, "delay");
        Objects.requireNonNull(task, "task");
        long nanos = Math.max(0, saturatedNanos(delay));
        long now = System.nanoTime();
        long deadline = nanos > Long.MAX_VALUE / 2 ? now + Long.MAX_VALUE / 2 : now + nanos;
        Timer timer = timers.newTimer(deadline, task);
        if (Thread.currentThread() == owner) {
            if (closed) throw rejected();
            timers.add(timer);
        } else {
            execute(() -> timers.add(timer));
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
        holds++;
        return new Hold();
    }

    /**
     * Releases the epoll fd, the wake-up eventfd and the native memory. Tasks accepted by
     * {@link #execute} before this call run first (later ones are rejected); timers are discarded,
     * and waiters too, each told through {@link ReadyCallback#onDropped}. The thread's next {@link #current()} creates a new queue. Idempotent. Owner thread
     * only, not from inside {@link #run()}.
     */
    @Override
    public void close() {
        checkOwner("close");
        if (closed) return;
        if (looping) throw new IllegalStateException("close() from inside run()/poll(): close the queue after it returns");
        closed = true;
        while ((int) IN_FLIGHT.getVolatile(this) != 0) Thread.onSpinWait();
        if (CURRENT.get() == this) CURRENT.remove();
        Throwable failure = null;
        for (Runnable r; (r = nextTask()) != null; ) {
            try {
                r.run();
            } catch (Throwable t) {
                if (failure == null) failure = t;
                else failure.addSuppressed(t);
            }
        }
        timers.clear();
        ReadyCallback[] dropped = new ReadyCallback[Interest.KINDS];
        for (int fd = 0; fd < table.capacity(); fd++) {
            int n = table.takeWaiters(fd, dropped);
            if (n > 0) failure = tellDropped(fd, dropped, n, failure);
        }
        while (!batch.isEmpty()) {
            ReadyCallback c = batch.callback();
            int fd = batch.fd();
            boolean live = c != null && table.epoch(fd) == batch.epoch();
            batch.pop();
            if (live) {
                dropped[0] = c;
                failure = tellDropped(fd, dropped, 1, failure);
            }
        }
        Unistd.close(wakeFd, errno);
        Unistd.close(epfd, errno);
        long bytes = nativeBytes();
        arena.close();
        NativeAccounting.closed(bytes);
        if (failure instanceof RuntimeException r) throw r;
        if (failure instanceof Error e) throw e;
    }

    private static Throwable tellDropped(int fd, ReadyCallback[] dropped, int n, Throwable failure) {
        try {
            notifyDropped(fd, dropped, n);
        } catch (RuntimeException e) {
            if (failure == null) return e;
            failure.addSuppressed(e);
        }
        return failure;
    }

    @Override
    public String toString() {
        return "IoQueue[" + owner.getName() + (closed ? ", closed]" : "]");
    }

    // ---- the loop ----

    private int runRound(long timeoutNanos) {
        // Poll the OS every round, without blocking when tasks or timers are due, so a coroutine
        // that keeps yielding cannot starve the fds.
        if (batch.isEmpty()) waitForEvents(boundedTimeout(timeoutNanos));
        int ran = runBatch();
        ran += runDueTimers();
        ran += runTasks();
        return ran;
    }

    /** {@code timeoutNanos} (negative: none) cut to the next timer, or 0 when tasks wait. */
    private long boundedTimeout(long timeoutNanos) {
        if (!tasks.isEmpty() || !inbox.isEmpty()) return 0;
        if (timers.isEmpty()) return timeoutNanos;
        long untilTimer = Math.max(0, timers.nextDeadline() - System.nanoTime());
        return timeoutNanos < 0 ? untilTimer : Math.min(timeoutNanos, untilTimer);
    }

    /** Flushes registrations, waits, and collects ready waiters into the batch. */
    private void waitForEvents(long timeoutNanos) {
        flush();
        boolean blocking = timeoutNanos != 0;
        if (blocking) {
            WAKE_STATE.setVolatile(this, SLEEPING);
            if (!inbox.isEmpty()) timeoutNanos = 0; // a task raced our decision to sleep
        }
        long deadline = timeoutNanos > 0 ? System.nanoTime() + timeoutNanos : 0;
        int n;
        while (true) {
            n = Epoll.wait(epfd, events, MAX_EVENTS, timeoutNanos, timespec, errno);
            if (n != -Errno.EINTR) break;
            if (timeoutNanos > 0) {
                timeoutNanos = deadline - System.nanoTime();
                if (timeoutNanos <= 0) {
                    n = 0;
                    break;
                }
            }
        }
        // A release store is enough here: a producer that still sees SLEEPING only adds a
        // spurious eventfd write, drained on the next wait.
        if (blocking) WAKE_STATE.setRelease(this, AWAKE);
        if (n < 0) throw new SyscallException("epoll_wait", epfd, -n);
        collectEvents(n);
    }

    private void collectEvents(int n) {
        boolean stale = false;
        for (int i = 0; i < n; i++) {
            long data = Epoll.data(events, i);
            if (data == WAKE_DATA) {
                Unistd.read(wakeFd, wakeBuffer, 8, errno); // resets the counter; EAGAIN is fine
                continue;
            }
            int fd = (int) data;
            int generation = (int) (data >>> 32);
            if (!table.knows(fd) || table.generation(fd) != generation) {
                stale = true;
                continue;
            }
            int epollEvents = Epoll.events(events, i);
            int mask = Interest.eventMask(epollEvents);
            boolean woke = false;
            for (int kind = 0; kind < Interest.KINDS; kind++) {
                ReadyCallback w = table.waiter(fd, kind);
                if (w != null && Interest.wakes(kind, epollEvents)) {
                    table.takeWaiter(fd, kind);
                    batch.add(fd, kind, mask, table.epoch(fd), w);
                    woke = true;
                }
            }
            // Narrow before the next sleep unless re-armed; a persisted fd is narrowed only when
            // it reports events nobody waits for, so an unread fd cannot spin the loop.
            if (!woke) table.markDirty(fd);
            else if (!table.persistent(fd)) table.markLapsed(fd);
        }
        if (stale) rebuild();
    }

    private int runBatch() {
        int ran = 0;
        while (!batch.isEmpty()) {
            int fd = batch.fd();
            int mask = batch.eventMask();
            int epoch = batch.epoch();
            ReadyCallback callback = batch.callback();
            batch.pop();
            if (callback == null || table.epoch(fd) != epoch) continue;
            ran++;
            runningFd = fd;
            try {
                callback.onReady(fd, Event.setOf(mask));
            } finally {
                runningFd = -1;
            }
        }
        return ran;
    }

    private int runDueTimers() {
        if (timers.isEmpty()) return 0;
        int ran = 0;
        long now = System.nanoTime();
        for (Runnable t; (t = timers.pollDue(now)) != null; ) {
            ran++;
            t.run();
        }
        return ran;
    }

    /** Runs the tasks posted before this call; later ones wait for the next round (I/O first). */
    private int runTasks() {
        for (Runnable r; (r = inbox.poll()) != null; ) tasks.add(r);
        int n = tasks.size();
        for (int i = 0; i < n; i++) tasks.poll().run();
        return n;
    }

    private Runnable nextTask() {
        Runnable r = tasks.poll();
        return r != null ? r : inbox.poll();
    }

    private int collectReady(Collection<? super Runnable> ready) {
        int n = 0;
        while (!batch.isEmpty()) {
            ReadyCallback callback = batch.callback();
            if (callback != null && table.epoch(batch.fd()) == batch.epoch()) {
                ready.add(new BoundCallback(batch.fd(), batch.eventMask(), batch.epoch(), callback));
                n++;
            }
            batch.pop();
        }
        long now = System.nanoTime();
        for (Runnable t; (t = timers.pollDue(now)) != null; n++) ready.add(t);
        for (Runnable r; (r = inbox.poll()) != null; ) tasks.add(r);
        for (Runnable r; (r = tasks.poll()) != null; n++) ready.add(r);
        return n;
    }

    // ---- registrations ----

    private static long data(int fd, int generation) {
        return ((long) generation << 32) | (fd & 0xFFFF_FFFFL);
    }

    private void add(int fd, int mask) {
        int generation = table.register(fd, mask);
        long data = data(fd, generation);
        int r = Epoll.ctl(epfd, Epoll.EPOLL_CTL_ADD, fd, mask, data, ctlEvent, errno);
        if (r == -Errno.EEXIST) {
            // The kernel still holds a registration the table forgot (its fd was closed while a
            // dup kept the file open, and the number came back): take it over.
            r = Epoll.ctl(epfd, Epoll.EPOLL_CTL_MOD, fd, mask, data, ctlEvent, errno);
        }
        if (r < 0) {
            table.forgetRegistration(fd);
            throw ctlFailure("epoll_ctl(EPOLL_CTL_ADD)", fd, -r);
        }
    }

    private void modifyForWaiter(int fd, int mask) {
        int r = Epoll.ctl(epfd, Epoll.EPOLL_CTL_MOD, fd, mask, data(fd, table.generation(fd)), ctlEvent, errno);
        if (r >= 0) {
            table.setOsMask(fd, mask);
            return;
        }
        if (r == -Errno.ENOENT || r == -Errno.EBADF) {
            boolean hadWaiters = table.wantedMask(fd) != 0;
            abandon(fd);
            if (hadWaiters) {
                throw new PrematureCloseError(fd, "found when it was waited on again (epoll_ctl: " + Errno.name(-r) + ")");
            }
            add(fd, mask); // only a persisted or just-fired registration went stale: start afresh
            return;
        }
        throw ctlFailure("epoll_ctl(EPOLL_CTL_MOD)", fd, -r);
    }

    private void rejectSecondWaiter(int fd, ReadyEvent event) {
        // Is the first waiter's registration alive, or was its fd closed and the number reused?
        int r = Epoll.ctl(epfd, Epoll.EPOLL_CTL_MOD, fd, table.osMask(fd), data(fd, table.generation(fd)), ctlEvent, errno);
        if (r == -Errno.ENOENT || r == -Errno.EBADF) {
            abandon(fd);
            throw new PrematureCloseError(fd, "found when its number was waited on again (epoll_ctl: " + Errno.name(-r) + ")");
        }
        throw new IllegalStateException("fd " + fd + " already has a " + event
                + " waiter on the queue of thread " + owner.getName() + ": one waiter per fd and event per thread");
    }

    /** Drops everything known of {@code fd} after finding it closed behind the queue's back. */
    private void abandon(int fd) {
        ReadyCallback[] dropped = new ReadyCallback[Interest.KINDS + batch.size()];
        int n = table.takeWaiters(fd, dropped);
        n += batch.takeAll(fd, table.epoch(fd), dropped, n);
        table.advanceEpoch(fd);
        table.setPersistent(fd, false);
        table.forgetRegistration(fd);
        notifyDropped(fd, dropped, n);
    }

    /** unregister's work; {@code strict}: report a premature close. */
    void forget(int fd, boolean strict) {
        if (!table.knows(fd)) return;
        if (!table.registered(fd) && table.wantedMask(fd) == 0) { // nothing waits: no syscall
            table.advanceEpoch(fd); // still voids what poll() handed out
            table.setPersistent(fd, false);
            return;
        }
        ReadyCallback[] dropped = new ReadyCallback[Interest.KINDS + batch.size()];
        int n = table.takeWaiters(fd, dropped);
        boolean hadWaiters = n > 0;
        n += batch.takeAll(fd, table.epoch(fd), dropped, n);
        boolean persistent = table.persistent(fd);
        table.advanceEpoch(fd);
        table.setPersistent(fd, false);
        int r = 0;
        if (table.registered(fd)) {
            r = Epoll.ctl(epfd, Epoll.EPOLL_CTL_DEL, fd, 0, 0, ctlEvent, errno);
            table.forgetRegistration(fd);
        }
        notifyDropped(fd, dropped, n);
        if (r >= 0) return;
        if (r == -Errno.EBADF || r == -Errno.ENOENT) {
            if (strict && (hadWaiters || persistent)) {
                throw new PrematureCloseError(fd, "found at unregister (epoll_ctl: " + Errno.name(-r) + ")");
            }
            return;
        }
        throw ctlFailure("epoll_ctl(EPOLL_CTL_DEL)", fd, -r);
    }

    /** Tells waiters removed without running; the first exception is rethrown after all were told. */
    private static void notifyDropped(int fd, ReadyCallback[] dropped, int n) {
        RuntimeException failure = null;
        for (int i = 0; i < n; i++) {
            try {
                dropped[i].onDropped(fd);
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        if (failure != null) throw failure;
    }

    /** Called by Fds.close and Handle.close before they close an fd on this thread. */
    void forgetBeforeClose(int fd) {
        if (!closed && fd >= 0) forget(fd, false);
    }

    /** Brings each changed registration in line with its waiters before the queue sleeps. */
    private void flush() {
        int count = table.dirtyCount();
        if (count == 0) return;
        RuntimeException failure = null;
        PrematureCloseError premature = null;
        int[] retry = null;
        int retries = 0;
        for (int i = 0; i < count; i++) {
            int fd = table.dirtyFd(i);
            if (!table.registered(fd)) continue;
            int want = table.wantedMask(fd);
            int have = table.osMask(fd);
            if (want == have && want != 0) continue;
            int op = want == 0 ? Epoll.EPOLL_CTL_DEL : Epoll.EPOLL_CTL_MOD;
            int r = Epoll.ctl(epfd, op, fd, want, data(fd, table.generation(fd)), ctlEvent, errno);
            if (r >= 0) {
                if (want == 0) table.forgetRegistration(fd);
                else table.setOsMask(fd, want);
            } else if (r == -Errno.EBADF || r == -Errno.ENOENT) {
                if (want != 0) {
                    PrematureCloseError e = new PrematureCloseError(fd, "found while polling (epoll_ctl: " + Errno.name(-r) + ")");
                    if (premature == null) premature = e;
                    else premature.addSuppressed(e);
                    abandon(fd);
                } else {
                    table.forgetRegistration(fd); // closed after its waiter ran: nothing is lost
                }
            } else {
                if (failure == null) failure = ctlFailure(op == Epoll.EPOLL_CTL_DEL ? "epoll_ctl(EPOLL_CTL_DEL)" : "epoll_ctl(EPOLL_CTL_MOD)", fd, -r);
                if (retry == null) retry = new int[count];
                retry[retries++] = fd;
            }
        }
        table.clearDirty();
        for (int i = 0; i < retries; i++) table.markDirty(retry[i]);
        if (premature != null) throw premature;
        if (failure != null) throw failure;
    }

    /**
     * epoll reported a registration the table does not know: a closed fd whose file a dup keeps
     * open. epoll can only drop it through an fd of that file, which the queue does not have, so
     * move every known registration to a fresh epoll instance and close the old one.
     */
    private void rebuild() {
        int fresh = Epoll.create(errno);
        if (fresh < 0) throw new SyscallException("epoll_create1", -1, -fresh, "cannot replace an epoll set holding a stale registration");
        int r = Epoll.ctl(fresh, Epoll.EPOLL_CTL_ADD, wakeFd, Epoll.EPOLLIN, WAKE_DATA, ctlEvent, errno);
        if (r < 0) {
            Unistd.close(fresh, errno);
            throw new SyscallException("epoll_ctl(EPOLL_CTL_ADD)", wakeFd, -r, "cannot register the wake-up eventfd");
        }
        PrematureCloseError premature = null;
        for (int fd = 0; fd < table.capacity(); fd++) {
            if (!table.registered(fd)) continue;
            r = Epoll.ctl(fresh, Epoll.EPOLL_CTL_ADD, fd, table.osMask(fd), data(fd, table.generation(fd)), ctlEvent, errno);
            if (r < 0) {
                if (table.wantedMask(fd) != 0) {
                    PrematureCloseError e = new PrematureCloseError(fd, "found while polling (epoll_ctl: " + Errno.name(-r) + ")");
                    if (premature == null) premature = e;
                    else premature.addSuppressed(e);
                }
                abandon(fd);
            }
        }
        Unistd.close(epfd, errno);
        epfd = fresh;
        if (premature != null) throw premature;
    }

    private SyscallException ctlFailure(String operation, int fd, int errno) {
        String detail = switch (errno) {
            case Errno.EPERM -> "epoll cannot wait on this kind of fd (a regular file or a directory?)";
            case Errno.EBADF -> "not an open fd";
            case Errno.EINVAL -> "epoll refuses this fd (an epoll fd itself, or an invalid one)";
            case Errno.ENOMEM, Errno.ENOSPC -> "kernel limit reached (memory, or fs.epoll.max_user_watches)";
            case Errno.ELOOP -> "epoll fds nested too deep or in a cycle";
            default -> null;
        };
        return new SyscallException(operation, fd, errno, detail);
    }

    // ---- checks ----

    private void checkFd(int fd) {
        if (fd < 0) throw new IllegalArgumentException("fd " + fd + " is negative");
        if (fd == epfd) throw new IllegalArgumentException("fd " + fd + " is this queue's own epoll fd");
        if (fd == wakeFd) throw new IllegalArgumentException("fd " + fd + " is this queue's own wake-up eventfd");
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
        if (looping) throw new IllegalStateException(method + "() called from inside run()/poll() on this queue");
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

    /**
     * A ready callback handed out by {@link #poll}. Runs its callback at most once; if its fd was
     * unregistered (or the queue closed) before it runs, the callback is told it was dropped.
     */
    private final class BoundCallback implements Runnable {
        private final int fd;
        private final int mask;
        private final int epoch;
        private final ReadyCallback callback;
        private boolean done;

        BoundCallback(int fd, int mask, int epoch, ReadyCallback callback) {
            this.fd = fd;
            this.mask = mask;
            this.epoch = epoch;
            this.callback = callback;
        }

        @Override
        public void run() {
            checkOwner("run");
            if (done) return;
            done = true;
            if (closed || table.epoch(fd) != epoch) {
                callback.onDropped(fd);
                return;
            }
            runningFd = fd;
            try {
                callback.onReady(fd, Event.setOf(mask));
            } finally {
                runningFd = -1;
            }
        }

        @Override
        public String toString() {
            return "ready fd " + fd + " " + Event.setOf(mask);
        }
    }

    private final class Hold implements Cancellable {
        private final AtomicBoolean released = new AtomicBoolean();

        @Override
        public boolean cancel() {
            if (!released.compareAndSet(false, true)) return false;
            if (Thread.currentThread() == owner) {
                holds--;
            } else {
                try {
                    execute(() -> holds--);
                } catch (RejectedExecutionException closedQueue) {
                    // nothing left to hold
                }
            }
            return true;
        }
    }
}
