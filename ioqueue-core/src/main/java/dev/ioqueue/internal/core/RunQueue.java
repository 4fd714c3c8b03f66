package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.OwnerThread;
import dev.ioqueue.internal.base.Failures;
import dev.ioqueue.internal.poll.Poller;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What a queue runs besides ready callbacks: tasks posted from any thread (an MPSC inbox, drained
 * into an owner-only deque), timers, holds, and the wake-up protocol that lets a producer wake a
 * sleeping loop with at most one eventfd write per sleep.
 *
 * <p><b>Closing under producers.</b> {@code state} holds a closed bit and the number of producers
 * between their check and the end of their wake-up write. A producer enters only while the bit is
 * clear, by CAS, so a rejected producer never counts; {@link #close()} sets the bit and waits only
 * for the producers already inside, whose windows are a few instructions long. That wait is what
 * keeps a late wake-up from writing to an eventfd number that close has released.
 *
 * <p>Owner thread only, except {@link #offer} and what it documents.
 */
public final class RunQueue {
    private static final int AWAKE = 0;
    private static final int SLEEPING = 1;
    private static final int WOKEN = 2;
    private static final int CLOSED = 1 << 31;
    /**
     * Tasks through the inbox one round takes at most, before fds and timers get their turn: other
     * threads' (and the owner's, posted while theirs waited: {@link #offer}).
     */
    public static final int TASKS_PER_ROUND = 4096;
    private static final VarHandle WAKE_STATE;
    private static final VarHandle STATE;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            WAKE_STATE = lookup.findVarHandle(RunQueue.class, "wakeState", int.class);
            STATE = lookup.findVarHandle(RunQueue.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final OwnerThread owner;
    private final Poller poller;
    private final Inbox inbox = new Inbox();
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private final TimerHeap timers;
    private int holds;
    /** Tasks and timers run (owner thread; read racily for statistics). */
    long tasksRun;
    long timersFired;
    @SuppressWarnings("unused") // through WAKE_STATE
    private volatile int wakeState;
    @SuppressWarnings("unused") // through STATE
    private volatile int state;

    public RunQueue(Thread owner, Poller poller) {
        this.owner = new OwnerThread(owner);
        this.poller = poller;
        this.timers = new TimerHeap(owner, this::offer); // a closed queue refuses: its timers are gone
    }

    /**
     * Queues {@code task}; false once closed. Any thread: from another thread it wakes the loop if
     * it sleeps. The caller builds its rejection outside, after this returned.
     */
    public boolean offer(Runnable task) {
        if (owner.isCurrent()) {
            if (closed()) return false;
            // Behind what other threads posted before it, if any waits (FIFO across threads);
            // else straight to the owner's own list, with no node to allocate.
            if (inbox.isEmpty()) tasks.add(task);
            else inbox.offer(task);
            return true;
        }
        int s;
        do {
            s = (int) STATE.getVolatile(this);
            if (s < 0) return false;
        } while (!STATE.weakCompareAndSet(this, s, s + 1));
        try {
            inbox.offer(task);
            if ((int) WAKE_STATE.getVolatile(this) == SLEEPING && WAKE_STATE.compareAndSet(this, SLEEPING, WOKEN)) {
                poller.wake();
            }
        } finally {
            STATE.getAndAdd(this, -1);
        }
        return true;
    }

    /**
     * The one rule for "do this on the loop": runs {@code task} now on the owner thread, else posts
     * it; false, running nothing, once closed. Any thread.
     */
    public boolean runOnOwner(Runnable task) {
        if (!owner.isCurrent()) return offer(task);
        if (closed()) return false;
        task.run();
        return true;
    }

    private boolean closed() {
        return (int) STATE.getVolatile(this) < 0;
    }

    /**
     * A timer for {@code task} after {@code delayNanos} (saturated far in the future), queued now
     * on the owner thread or through the inbox from another; null once closed. Any thread.
     */
    public Timer schedule(long delayNanos, Runnable task, Runnable ifDropped) {
        long now = System.nanoTime();
        long delay = Math.min(Math.max(0, delayNanos), Long.MAX_VALUE / 2);
        Timer timer = timers.newTimer(now + delay, task, ifDropped);
        if (!owner.isCurrent()) return offer(() -> timers.add(timer)) ? timer : null;
        if (closed()) return null;
        timers.add(timer); // no lambda on the owner's path: every Kotlin delay comes this way
        return timer;
    }

    public Hold hold() {
        holds++;
        return new Hold();
    }

    /** Whether anything is pending here: a task, a timer or a hold. */
    public boolean pending() {
        return holds > 0 || !timers.isEmpty() || !tasks.isEmpty() || !inbox.isEmpty();
    }

    /** {@code timeoutNanos} (negative: none) cut to the next timer, or 0 when tasks wait. */
    public long boundedTimeout(long timeoutNanos) {
        if (!tasks.isEmpty() || !inbox.isEmpty()) return 0;
        if (timers.isEmpty()) return timeoutNanos;
        long untilTimer = Math.max(0, timers.nextDeadline() - System.nanoTime());
        return timeoutNanos < 0 ? untilTimer : Math.min(timeoutNanos, untilTimer);
    }

    /**
     * Announces a blocking wait to producers; returns the timeout to use (0 if a task raced in).
     * Pair with {@link #afterSleep()}.
     */
    public long beforeSleep(long timeoutNanos) {
        WAKE_STATE.setVolatile(this, SLEEPING);
        return inbox.isEmpty() ? timeoutNanos : 0;
    }

    public void afterSleep() {
        // A release store is enough: a producer that still sees SLEEPING only adds a spurious
        // eventfd write, drained on the next wait.
        WAKE_STATE.setRelease(this, AWAKE);
    }

    /** Whether the loop is in a wait that may sleep (between {@link #beforeSleep} and {@link #afterSleep}). Any thread. */
    boolean sleeping() {
        return (int) WAKE_STATE.getAcquire(this) != AWAKE;
    }

    public int runDueTimers() {
        if (timers.isEmpty()) return 0;
        int ran = 0;
        long now = System.nanoTime();
        for (Runnable t; (t = timers.pollDue(now)) != null; ) {
            ran++;
            timersFired++;
            t.run();
        }
        return ran;
    }

    /**
     * Runs the tasks posted before this call, at most {@link #TASKS_PER_ROUND} of them through the
     * inbox; the rest wait for the next round, after fds and timers (I/O first).
     */
    public int runTasks() {
        // At most TASKS_PER_ROUND through the inbox, and none posted after this began: producers
        // faster than the loop must not keep the round from ending and its fds and timers unserved.
        Object mark = inbox.mark();
        Runnable r;
        for (int budget = TASKS_PER_ROUND; budget > 0 && (r = inbox.pollUpTo(mark)) != null; budget--) tasks.add(r);
        int n = tasks.size();
        for (int i = 0; i < n; i++) {
            tasksRun++;
            tasks.poll().run();
        }
        return n;
    }

    /** Moves the due timers' tasks and the posted tasks to {@code ready}; returns how many. */
    public int drain(Collection<? super Runnable> ready) {
        int n = 0;
        long now = System.nanoTime();
        for (Runnable t; (t = timers.pollDue(now)) != null; n++) ready.add(new OwnerOnce(t, true));
        Object mark = inbox.mark();
        Runnable r;
        for (int budget = TASKS_PER_ROUND; budget > 0 && (r = inbox.pollUpTo(mark)) != null; budget--) tasks.add(r);
        while ((r = tasks.poll()) != null) {
            ready.add(new OwnerOnce(r, false));
            n++;
        }
        return n;
    }

    /**
     * Rejects producers from now on and waits for those already inside {@link #offer}; then runs
     * every accepted task and drops the timers (telling those that asked). Returns what they threw.
     */
    public Throwable close() {
        STATE.getAndBitwiseOr(this, CLOSED);
        for (int spins = 0; ((int) STATE.getVolatile(this) & ~CLOSED) != 0; spins++) {
            if (spins < 100) Thread.onSpinWait();
            else Thread.yield(); // a producer preempted inside its window
        }
        Throwable failure = null;
        while (true) {
            Runnable r = tasks.poll();
            if (r == null) r = inbox.poll();
            if (r == null) break;
            tasksRun++;
            try {
                r.run();
            } catch (Throwable t) {
                failure = Failures.add(failure, t);
            }
        }
        holds = 0;
        return timers.clear(failure);
    }

    /** A task or timer handed out by {@code poll}: runs at most once, and only on the owner thread. */
    private final class OwnerOnce implements Runnable {
        private Runnable task;
        private final boolean timer;

        OwnerOnce(Runnable task, boolean timer) {
            this.task = task;
            this.timer = timer;
        }

        @Override
        public void run() {
            if (!owner.isCurrent()) {
                throw new IllegalStateException("a task from poll() run on thread " + Thread.currentThread().getName()
                        + ", but its queue belongs to thread " + owner.name());
            }
            Runnable t = task;
            task = null;
            if (t == null) return;
            if (timer) timersFired++;
            else tasksRun++;
            t.run();
        }

        @Override
        public String toString() {
            return task == null ? "task (ran)" : task.toString();
        }
    }

    /** A hold on the queue ({@link #hold()}): released once by {@link #cancel()}, from any thread. */
    public final class Hold {
        private final AtomicBoolean released = new AtomicBoolean();

        private Hold() {}

        /** Releases the hold; whether this call did (not once the queue's close released it). Thread-safe. */
        public boolean cancel() {
            if (!released.compareAndSet(false, true)) return false;
            return runOnOwner(this::release); // refused once closed: the close released every hold
        }

        private void release() {
            if (holds > 0) holds--;
        }
    }
}
