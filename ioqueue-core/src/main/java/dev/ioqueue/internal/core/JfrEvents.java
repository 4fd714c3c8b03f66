package dev.ioqueue.internal.core;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.FlightRecorder;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * The library's JFR events, category "ioqueue": {@code dev.ioqueue.LoopHeld},
 * {@code dev.ioqueue.PrematureClose} and the periodic {@code dev.ioqueue.QueueStatistics}. Reached
 * only once Flight Recorder is initialized ({@link QueueEvents}, {@link Watchdog}): loading an event
 * class before would start it. Which events are recorded, and how often the periodic one is, is the
 * recording's settings' business ({@code -XX:StartFlightRecording}, {@code jcmd JFR.start}, a
 * {@code .jfc} file); each is enabled by default, the statistics every second. Thread-safe.
 */
final class JfrEvents {
    private static boolean statisticsRegistered;

    private JfrEvents() {}

    /** Registers the statistics event with Flight Recorder, which has just been initialized; once. */
    static synchronized void registerStatistics() {
        if (statisticsRegistered) return;
        statisticsRegistered = true;
        FlightRecorder.addPeriodicEvent(QueueStatistics.class, JfrEvents::emitStatistics);
    }

    /** Flight Recorder's periodic thread: one event per open queue. */
    private static void emitStatistics() {
        for (QueueCore q : Watchdog.openQueues()) {
            QueueStatistics e = new QueueStatistics();
            if (!e.isEnabled()) return;
            QueueCounts c = q.stats();
            e.loopThread = q.ownership.owner();
            e.queue = q.ownership.ownerName();
            e.backend = c.ring() ? "io_uring" : "epoll";
            e.registeredFds = c.registeredFds();
            e.waiters = c.waiters();
            e.ownedFds = c.ownedFds();
            e.pendingOperations = c.pendingOperations();
            e.ringOperations = c.ringOperations();
            e.wakeUps = c.wakeUps();
            e.spuriousWakeUps = c.spuriousWakeUps();
            e.callbacksRun = c.callbacksRun();
            e.tasksRun = c.tasksRun();
            e.timersFired = c.timersFired();
            e.rounds = c.rounds();
            e.ringEnters = c.ringEnters();
            e.ringSubmissions = c.ringSubmissions();
            e.ringCompletions = c.ringCompletions();
            e.keptBytes = c.keptBytes();
            e.commit();
        }
    }

    static void prematureClose(int fd, String where) {
        PrematureClose e = new PrematureClose();
        if (!e.shouldCommit()) return;
        e.fd = fd;
        e.where = where;
        e.queue = Thread.currentThread().getName();
        e.commit();
    }

    static void loopHeld(QueueCore q, long heldNanos, long thresholdNanos, String stack) {
        LoopHeld e = new LoopHeld();
        if (!e.shouldCommit()) return;
        e.loopThread = q.ownership.owner();
        e.queue = q.ownership.ownerName();
        e.backend = q.completionIo() ? "io_uring" : "epoll";
        e.held = heldNanos;
        e.threshold = thresholdNanos;
        e.loopStack = stack;
        e.commit();
    }

    @Name("dev.ioqueue.LoopHeld")
    @Label("Loop Held")
    @Category("ioqueue")
    @Description("A callback, task or coroutine slice held a queue's loop past the threshold (system property"
            + " dev.ioqueue.heldLoopMillis); the loop thread's stack, taken while it was held")
    @StackTrace(false) // committed by the watchdog: its own stack says nothing
    static final class LoopHeld extends Event {
        @Label("Loop Thread")
        Thread loopThread;

        @Label("Queue")
        @Description("The name of the queue's thread")
        String queue;

        @Label("Backend")
        String backend;

        @Label("Held")
        @Description("How long the round had run when the watchdog looked (at least; up to half the threshold more)")
        @Timespan(Timespan.NANOSECONDS)
        long held;

        @Label("Threshold")
        @Timespan(Timespan.NANOSECONDS)
        long threshold;

        @Label("Loop Stack")
        @Description("The loop thread's stack while it was held, innermost frame first")
        String loopStack;
    }

    @Name("dev.ioqueue.PrematureClose")
    @Label("Premature Close")
    @Category("ioqueue")
    @Description("A plain fd was closed behind the back of a queue that waited on it; the stack is where the queue found it")
    static final class PrematureClose extends Event {
        @Label("File Descriptor")
        int fd;

        @Label("Where Found")
        String where;

        @Label("Queue")
        @Description("The name of the queue's thread")
        String queue;
    }

    @Name("dev.ioqueue.QueueStatistics")
    @Label("Queue Statistics")
    @Category("ioqueue")
    @Description("One queue's IoQueue.stats(), per period; the counts are totals since the queue was made")
    @Period("1 s")
    @StackTrace(false)
    static final class QueueStatistics extends Event {
        @Label("Loop Thread")
        Thread loopThread;

        @Label("Queue")
        String queue;

        @Label("Backend")
        String backend;

        @Label("Registered Fds")
        int registeredFds;

        @Label("Waiters")
        int waiters;

        @Label("Owned Fds")
        int ownedFds;

        @Label("Pending Operations")
        int pendingOperations;

        @Label("Ring Operations")
        int ringOperations;

        @Label("Wake-ups")
        long wakeUps;

        @Label("Spurious Wake-ups")
        long spuriousWakeUps;

        @Label("Callbacks Run")
        long callbacksRun;

        @Label("Tasks Run")
        long tasksRun;

        @Label("Timers Fired")
        long timersFired;

        @Label("Rounds")
        long rounds;

        @Label("Ring Enters")
        long ringEnters;

        @Label("Ring Submissions")
        long ringSubmissions;

        @Label("Ring Completions")
        long ringCompletions;

        @Label("Kept Bytes")
        @DataAmount
        long keptBytes;
    }
}
