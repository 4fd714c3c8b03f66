package dev.ioqueue;

import dev.ioqueue.internal.core.FailureLog;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * N queues on N platform threads, for a program that uses more than one core: hand each connection
 * (or any fd) to {@link #next()} and do everything for it on that queue's thread. Thread-safe.
 *
 * <p>Each thread runs its queue until {@link #shutdown}; what a callback, timer or task throws goes
 * to the group's {@link Thread.UncaughtExceptionHandler} and the loop goes on; an I/O operation's
 * unhandled failure goes to the queues' {@link FailureHandler} ({@link #onFailure}). Shutdown is
 * graceful: every queue runs the tasks it accepted, drops its waiters and operations (each told
 * once) and timers with an {@code ifDropped}, closes the {@link Handle}s bound to it (so no
 * connection outlives its loop), closes, and its thread ends.
 */
public final class IoQueueGroup implements Executor, AutoCloseable {
    private final List<IoQueue> queues;
    private final List<Thread> threads;
    private final List<Loop> loops;
    private static final Duration STARTUP_LIMIT = Duration.ofSeconds(30);
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicBoolean shutdown = new AtomicBoolean();

    private IoQueueGroup(List<IoQueue> queues, List<Thread> threads, List<Loop> loops) {
        this.queues = List.copyOf(queues);
        this.threads = List.copyOf(threads);
        this.loops = List.copyOf(loops);
    }

    /**
     * Starts {@code size} loops on platform threads named {@code name-0}, {@code name-1}...; what
     * their callbacks throw goes to the threads' default uncaught-exception handler.
     *
     * @throws IllegalArgumentException if {@code size} is below 1
     */
    public static IoQueueGroup start(int size, String name) {
        return start(size, name, null);
    }

    /**
     * {@link #start(int, String)} with every queue on {@code backend} ({@code null}: as
     * {@link Backend#PROPERTY} says); {@link Backend#IO_URING} fails if the kernel refuses it.
     *
     * @throws IllegalArgumentException if {@code size} is below 1
     * @throws SyscallException if a queue cannot be created on {@code backend}; the loops started are shut down
     */
    public static IoQueueGroup start(int size, String name, Backend backend) {
        Objects.requireNonNull(name, "name");
        AtomicInteger index = new AtomicInteger();
        return start(size, task -> Thread.ofPlatform().name(name + "-" + index.getAndIncrement()).unstarted(task), null, backend);
    }

    /**
     * Starts {@code size} loops on threads from {@code factory} (platform threads: a loop would pin a
     * virtual thread's carrier); what their callbacks, timers and tasks throw goes to
     * {@code onUncaught} ({@code null}: each thread's own handler), and the loop goes on. A
     * non-null {@code onUncaught} also becomes the handler of each loop thread that has none of its
     * own (the factory may set one, which then stays), so it hears what kotlinx.coroutines gives
     * the thread's handler too (a coroutine failing without a {@code CoroutineExceptionHandler}).
     *
     * @throws IllegalArgumentException if {@code size} is below 1, or the factory makes a virtual thread
     * @throws IllegalStateException if the factory returns null or one thread twice, or a thread that
     *     does not run the loop it was given: at once if it ends without running it, else after 30 s
     *     (the loops started are shut down; that thread is left to the factory); or if the calling
     *     thread is interrupted meanwhile
     * @throws SyscallException if a queue cannot be created (EMFILE); the loops started are shut down
     */
    public static IoQueueGroup start(int size, ThreadFactory factory, Thread.UncaughtExceptionHandler onUncaught) {
        return start(size, factory, onUncaught, null);
    }

    /**
     * {@link #start(int, ThreadFactory, Thread.UncaughtExceptionHandler)} with every queue on
     * {@code backend} ({@code null}: as {@link Backend#PROPERTY} says).
     */
    public static IoQueueGroup start(int size, ThreadFactory factory, Thread.UncaughtExceptionHandler onUncaught, Backend backend) {
        if (size < 1) throw new IllegalArgumentException("a group needs at least one loop, not " + size);
        Objects.requireNonNull(factory, "factory");
        List<IoQueue> queues = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        List<Loop> loops = new ArrayList<>();
        try {
            for (int i = 0; i < size; i++) {
                Loop loop = new Loop(onUncaught, backend);
                Thread t = factory.newThread(loop);
                if (t == null) throw new IllegalStateException("the thread factory returned null");
                if (t.isVirtual()) throw new IllegalArgumentException("the thread factory made a virtual thread: loops need platform threads");
                if (threads.contains(t)) throw new IllegalStateException("the thread factory returned thread " + t.getName() + " twice");
                if (t.getState() == Thread.State.NEW) t.start(); // a factory may hand back a started thread
                threads.add(t);
                loops.add(loop);
                try {
                    queues.add(started(loop, t));
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException r) throw r;
                    if (e.getCause() instanceof Error err) throw err;
                    throw new IllegalStateException(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while loop " + i + " started", e);
                }
            }
        } catch (RuntimeException | Error e) {
            // Every loop is told to stop; only the threads that started theirs are waited for (one
            // that never ran its loop ends it as soon as it starts, if ever, and is the factory's).
            List<Thread> running = new ArrayList<>();
            for (int i = 0; i < loops.size(); i++) if (loops.get(i).started.isDone()) running.add(threads.get(i));
            new IoQueueGroup(queues, running, loops).shutdown(Duration.ofSeconds(10));
            throw e;
        }
        return new IoQueueGroup(queues, threads, loops);
    }

    /**
     * The queue of {@code loop} once thread {@code t} started it; fails at once if {@code t} ends
     * without running it (a factory's thread that ran something else), else after {@link #STARTUP_LIMIT}.
     */
    private static IoQueue started(Loop loop, Thread t) throws java.util.concurrent.ExecutionException, InterruptedException {
        long deadline = System.nanoTime() + STARTUP_LIMIT.toNanos();
        while (true) {
            try {
                return loop.started.get(20, java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                boolean ended = !t.isAlive() && !loop.started.isDone(); // its end happens-before: a start it made is seen
                if (ended || System.nanoTime() - deadline > 0) {
                    String why = ended ? "ended without running the loop it was given"
                            : "did not run the loop it was given within " + STARTUP_LIMIT.toSeconds() + " s";
                    throw new IllegalStateException("thread " + t.getName() + " from the thread factory " + why
                            + " (a factory must return a thread that runs its Runnable)");
                }
            }
        }
    }

    /** The next queue, round-robin: where to put the next connection. */
    public IoQueue next() {
        return queues.get(Math.floorMod(next.getAndIncrement(), queues.size()));
    }

    /** The group's queues, in thread order. */
    public List<IoQueue> queues() {
        return queues;
    }

    /**
     * Each queue's {@link IoQueue#stats()}, in thread order (sum the fields for the group's totals).
     * Thread-safe: racy snapshots, as {@code stats()} says.
     */
    public List<QueueStats> stats() {
        List<QueueStats> all = new ArrayList<>(queues.size());
        for (IoQueue q : queues) all.add(q.stats());
        return all;
    }

    /** How many loops the group has. */
    public int size() {
        return queues.size();
    }

    /**
     * Runs {@code task} on the {@link #next()} queue.
     *
     * @throws RejectedExecutionException after {@link #shutdown}
     */
    @Override
    public void execute(Runnable task) {
        Objects.requireNonNull(task, "task");
        if (shutdown.get()) throw new RejectedExecutionException("the group is shut down");
        next().execute(task);
    }

    /**
     * Where every queue of the group sends the failures of I/O operations whose completion does not
     * handle them (null: the default, logging). Thread-safe: posted to each loop; a queue already
     * closed is skipped.
     */
    public void onFailure(FailureHandler handler) {
        for (IoQueue q : queues) q.runOnOwner(() -> q.onFailure(handler));
    }

    /** Whether {@link #shutdown} was called. */
    public boolean isShutdown() {
        return shutdown.get();
    }

    /**
     * Stops every loop: each runs the tasks it accepted, drops its waiters (telling them through
     * {@code onDropped}), closes its queue, and its thread ends. Waits at most {@code timeout} for
     * the threads; returns whether they all ended. Later calls only wait. Not from a loop thread of
     * this group (it would wait for itself).
     *
     * @throws IllegalStateException from one of the group's own threads
     */
    public boolean shutdown(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (threads.contains(Thread.currentThread())) {
            throw new IllegalStateException("shutdown()/close() from the group's own thread " + Thread.currentThread().getName()
                    + " would wait for itself: call it from another thread");
        }
        if (shutdown.compareAndSet(false, true)) {
            for (Loop loop : loops) loop.stop();
        }
        long deadline = System.nanoTime() + Math.max(0, IoQueue.nanos(timeout));
        boolean interrupted = false;
        try {
            for (Thread t : threads) {
                while (t.isAlive()) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) return false;
                    try {
                        t.join(Duration.ofNanos(left));
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
            return true;
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /** {@link #shutdown(Duration)} with 30 seconds. */
    @Override
    public void close() {
        shutdown(Duration.ofSeconds(30));
    }

    @Override
    public String toString() {
        return "IoQueueGroup[" + queues.size() + " loops" + (shutdown.get() ? ", shut down]" : "]");
    }

    /** One thread's loop: runs its queue round by round until stopped, then closes it. */
    private static final class Loop implements Runnable {
        final CompletableFuture<IoQueue> started = new CompletableFuture<>();
        private final Thread.UncaughtExceptionHandler onUncaught;
        private final Backend backend;
        private volatile boolean stopping;
        /** {@link #stop} was asked for, maybe before the loop started (then the loop ends as it starts). */
        private volatile boolean stopAsked;
        private IoQueue queue;

        Loop(Thread.UncaughtExceptionHandler onUncaught, Backend backend) {
            this.onUncaught = onUncaught;
            this.backend = backend;
        }

        @Override
        public void run() {
            // What escapes on this thread outside the loop's own report (a coroutine without a
            // CoroutineExceptionHandler: kotlinx.coroutines gives it to the thread's handler) goes
            // there too, unless the factory gave the thread a handler of its own (then it stays).
            Thread self = Thread.currentThread();
            if (onUncaught != null && self.getUncaughtExceptionHandler() == self.getThreadGroup()) self.setUncaughtExceptionHandler(onUncaught);
            try {
                queue = backend == null ? IoQueue.current() : IoQueue.create(backend);
            } catch (Throwable t) {
                started.completeExceptionally(t);
                return;
            }
            try {
                queue.hold(); // wait for work from other threads; released by close()
            } catch (Throwable t) { // a class that cannot load (EMFILE on a class path of directories)
                try {
                    queue.close();
                } catch (Throwable suppressed) {
                    t.addSuppressed(suppressed);
                }
                started.completeExceptionally(t);
                return;
            }
            started.complete(queue);
            if (stopAsked) stopping = true; // asked before it started (start() gave up): it ends now
            while (!stopping && !queue.core.broken()) { // broken: its epoll fd was closed behind its back
                try {
                    queue.runOnce(null);
                } catch (Throwable t) {
                    if (!queue.core.broken()) report(t);
                    else logCannotWait(t);
                }
            }
            try {
                queue.close();
            } catch (Throwable t) {
                report(t);
            }
        }

        /** Any thread: the loop ends after its current round (or, not started yet, as soon as it starts). */
        void stop() {
            stopAsked = true; // before the look at started, which the loop completes before it looks at this
            if (!started.isDone() || started.isCompletedExceptionally()) return; // not started: it sees stopAsked
            IoQueue q = started.resultNow();
            try {
                q.execute(() -> stopping = true);
            } catch (RejectedExecutionException alreadyClosed) {
                // the loop's thread closed it: it has ended or is ending
            }
        }

        /** The library's own event (its epoll fd closed behind its back), logged, not a task's throw for onUncaught. */
        private static void logCannotWait(Throwable t) {
            try {
                FailureLog.cannotWait("the queue of group thread " + Thread.currentThread().getName(), "its loop ends", t);
            } catch (Throwable ignored) {
                // a logger that throws must not end the loop before it closes its queue
            }
        }

        private void report(Throwable t) {
            Thread self = Thread.currentThread();
            Thread.UncaughtExceptionHandler h = onUncaught != null ? onUncaught : self.getUncaughtExceptionHandler();
            try {
                h.uncaughtException(self, t);
            } catch (Throwable ignored) {
                // a handler that throws must not end the loop
            }
        }
    }
}
