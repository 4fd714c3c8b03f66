package dev.ioqueue.internal.core;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import jdk.jfr.FlightRecorder;
import jdk.jfr.FlightRecorderListener;

/**
 * The process's watch over its queues: every open queue, held weakly (a queue nobody references
 * is collected as before), and one daemon thread, {@code ioqueue-watchdog}, started with the first
 * queue. Every half threshold it looks at each loop's {@link RoundClock}: a loop that is awake and
 * still in the round it was in at an earlier look, for the threshold or more, is held by one
 * callback, task or coroutine slice. It then takes the loop thread's stack (while it is held: that
 * is the frame to blame) and reports it once per round ({@link QueueEvents#loopHeld}). The loop
 * pays a release store per round; the watchdog one look per queue per period. A queue found open
 * with its owner thread ended has its pending futures told ({@link OrphanedFutures}) and its
 * bound handles closed ({@link QueueRelease#afterOwnerEnded}).
 *
 * <p>The threshold is the system property {@value #PROPERTY} in milliseconds (default 100; 0 turns
 * the held-loop watch off: the thread then only looks, once a second, for queues whose thread
 * ended), read when the first queue is made. The thread also tells Flight Recorder about
 * the periodic statistics event once it is initialized (at once, if it already is), and logs each
 * new queue's backend at DEBUG (off the queue's thread: a logger's first use is slow; with the
 * watch off, each queue's thread logs its own).
 *
 * <p>Thread-safe: {@link #watch} and {@link #openQueues} from any thread.
 */
final class Watchdog implements Runnable {
    static final String PROPERTY = "dev.ioqueue.heldLoopMillis";
    private static final long DEFAULT_MILLIS = 100;
    /** How often, with the watch off, the thread looks for queues whose thread ended. */
    private static final long ENDED_OWNER_PERIOD_NANOS = 1_000_000_000L;

    private static final Object LOCK = new Object();
    private static final List<Watched> queues = new ArrayList<>();
    /** New queues' owner threads and backends, told at DEBUG by this thread (a logger's first use costs a cold JVM ~30 ms). */
    private static final List<String> opened = new ArrayList<>();
    private static boolean started;
    /** The threshold is 0: no thread watches (nor tells new queues: each tells its own). */
    private static boolean off;

    private final long thresholdNanos;

    private Watchdog(long thresholdNanos) {
        this.thresholdNanos = thresholdNanos;
    }

    /** One queue, weakly, with what the watchdog saw of it (watchdog thread only). */
    private static final class Watched extends WeakReference<QueueCore> {
        long round;
        long since;
        long reported;
        /** Its owner ended and it was released ({@link QueueRelease#afterOwnerEnded}): never read again. */
        volatile boolean released;

        Watched(QueueCore q) {
            super(q);
        }
    }

    /**
     * Before the first queue is made: refuses a threshold property that is not a whole number of
     * milliseconds, 0 or more, as the other properties are refused (it would otherwise be read once
     * and silently replaced). Any thread.
     *
     * @throws IllegalArgumentException naming the property and its value
     */
    static void checkThreshold() {
        synchronized (LOCK) {
            if (!started) thresholdMillis();
        }
    }

    private static long thresholdMillis() {
        String value = System.getProperty(PROPERTY);
        if (value == null) return DEFAULT_MILLIS;
        try {
            long millis = Long.parseLong(value.trim());
            if (millis >= 0) return Math.min(millis, Long.MAX_VALUE / 1_000_000);
        } catch (NumberFormatException notANumber) {
            // refused below
        }
        throw new IllegalArgumentException("system property " + PROPERTY + "=" + value
                + ": expected a whole number of milliseconds (" + DEFAULT_MILLIS + " by default; 0 turns the held-loop watch off)");
    }

    /** Watches {@code q} from now until it is closed or collected; starts the watchdog with the first. Any thread. */
    static void watch(QueueCore q) {
        String thread = q.ownership.ownerName();
        String backend = q.completionIo() ? "io_uring" : "epoll";
        synchronized (LOCK) {
            long millis = started ? 0 : thresholdMillis(); // checked before the queue was made; changed since, refused before anything is kept
            queues.add(new Watched(q));
            if (!started) {
                started = true;
                off = millis == 0;
                Thread.ofPlatform().daemon().name("ioqueue-watchdog").start(new Watchdog(millis * 1_000_000));
            }
            if (!off) {
                opened.add(thread);
                opened.add(backend);
                LOCK.notifyAll();
            }
        }
        if (off) QueueEvents.opened(thread, backend);
    }

    /** The queues open now (closed and collected ones are forgotten). Any thread. */
    static List<QueueCore> openQueues() {
        List<QueueCore> open = new ArrayList<>();
        for (Watched w : snapshot()) {
            QueueCore q = w.get();
            if (q != null) open.add(q);
        }
        return open;
    }

    private static Watched[] snapshot() {
        synchronized (LOCK) {
            // A dead queue, once released, is not read again: a get() during a concurrent marking
            // would keep it (and what its waiters hold) alive for that cycle.
            queues.removeIf(w -> {
                if (w.released || w.refersTo(null)) return true;
                QueueCore q = w.get();
                return q == null || q.ownership.isClosed();
            });
            return queues.toArray(Watched[]::new);
        }
    }

    @Override
    public void run() {
        try {
            FlightRecorder.addListener(new FlightRecorderListener() {
                @Override
                public void recorderInitialized(FlightRecorder recorder) {
                    JfrEvents.registerStatistics();
                }
            });
        } catch (RuntimeException | Error refused) {
            // no statistics event where Flight Recorder is unavailable; the watch goes on
        }
        // With the watch off, it still looks for queues whose thread ended (their futures wait).
        // half the threshold, and never longer than the ended-owner period: a large threshold (to
        // quiet the held-loop reports) must not keep a dead thread's queue, sockets and futures for long
        long period = thresholdNanos == 0 ? ENDED_OWNER_PERIOD_NANOS : Math.min(ENDED_OWNER_PERIOD_NANOS, Math.max(1_000_000, thresholdNanos / 2));
        while (true) {
            try {
                String[] told;
                synchronized (LOCK) {
                    while (opened.isEmpty() && queues.isEmpty()) LOCK.wait();
                    told = opened.toArray(String[]::new);
                    opened.clear();
                }
                for (int i = 0; i < told.length; i += 2) QueueEvents.opened(told[i], told[i + 1]);
                Thread.sleep(period / 1_000_000, (int) (period % 1_000_000));
                for (Watched w : snapshot()) look(w);
            } catch (InterruptedException e) {
                // nobody else owns this thread: go on watching
            } catch (Throwable t) {
                // a logger or recording that fails must not end the watch
            }
        }
    }

    private void look(Watched w) {
        QueueCore q = w.get();
        if (q == null) return;
        if (q.ownership.ownerEnded()) { // open, its thread gone: its futures would wait for good
            QueueRelease.afterOwnerEnded(q);
            w.released = true; // only once it went through: a throw (no thread to tell a future on) is tried again
            return;
        }
        if (thresholdNanos == 0) return; // the held-loop watch is off
        // The loop stores its round before it says it is awake, so "awake" read first means the
        // round read next is the current one, never the one from before its sleep.
        if (q.runQueue.sleeping()) {
            w.round = 0;
            return;
        }
        long round = q.loopRound();
        long now = System.nanoTime();
        if (round == 0 || round != w.round) { // outside the loop, or a round that began since the last look
            w.round = round;
            w.since = now;
            return;
        }
        if (now - w.since < thresholdNanos || w.reported == round) return;
        Thread owner = q.ownership.owner();
        if (owner == null) return; // ended and gone
        StackTraceElement[] stack = owner.getStackTrace();
        if (q.loopRound() != round || q.runQueue.sleeping()) return; // it ended while we looked: the stack is not its
        w.reported = round;
        QueueEvents.loopHeld(q, now - w.since, thresholdNanos, stack);
    }
}
