package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Errors;
import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicBoolean;
import jdk.jfr.FlightRecorder;

/**
 * What a queue tells about itself, through the library's {@code System.Logger}
 * ({@link FailureLog#LOGGER}, named {@code dev.ioqueue}) and, while Flight Recorder runs, JFR events
 * ({@link JfrEvents}). None of it is on a hot path: each is a rare event (a queue made, a premature
 * close, a loop held), and each asks {@code isLoggable} before it builds a message.
 *
 * <p>JFR's event classes are loaded only once Flight Recorder is initialized: loading one starts
 * Flight Recorder (half a second and some 400 classes), which a program that records nothing must
 * not pay. Thread-safe.
 */
final class QueueEvents {
    private static final AtomicBoolean RING_REFUSAL_TOLD = new AtomicBoolean();

    private QueueEvents() {}

    /**
     * The queue of the calling thread found {@code fd} closed behind its back, {@code where} (the
     * detail of the error): logged at WARNING, recorded as a {@code dev.ioqueue.PrematureClose}
     * event (with this thread's stack: where it was found). Returns the error to throw. Owner thread.
     */
    static Error prematureClose(int fd, String where) {
        if (FailureLog.LOGGER.isLoggable(Level.WARNING)) {
            FailureLog.LOGGER.log(Level.WARNING, "fd " + fd + " was closed behind the back of the queue of thread "
                    + Thread.currentThread().getName() + ", " + where + ": its waiters are dropped (close a plain fd through"
                    + " Fds.close on the queue's thread or after unregister, or own it with a Handle)");
        }
        if (FlightRecorder.isInitialized()) JfrEvents.prematureClose(fd, where);
        return Errors.prematureClose(fd, where);
    }

    /**
     * An {@code auto} queue found io_uring refused and runs on epoll: at INFO the first time in the
     * process (a deployment fact worth one line), at DEBUG after that, with the errno.
     */
    static void ringRefused(RuntimeException refused) {
        Level level = RING_REFUSAL_TOLD.compareAndSet(false, true) ? Level.INFO : Level.DEBUG;
        if (!FailureLog.LOGGER.isLoggable(level)) return;
        int errno = Errors.errnoOf(refused);
        FailureLog.LOGGER.log(level, "io_uring refused (" + (errno != 0 ? Errors.errnoName(errno) : "no errno") + "): the queue of thread "
                + Thread.currentThread().getName() + " runs on epoll; " + refused.getMessage()
                + (level == Level.INFO ? " (told once; later queues at DEBUG)" : ""));
    }

    /** A queue was made for thread {@code thread}: its backend, at DEBUG. Told by the watchdog thread. */
    static void opened(String thread, String backend) {
        if (FailureLog.LOGGER.isLoggable(Level.DEBUG)) {
            FailureLog.LOGGER.log(Level.DEBUG, "the queue of thread " + thread + " runs on " + backend);
        }
    }

    /**
     * The watchdog found the loop of {@code q} held by one round for {@code heldNanos} (at least),
     * with its thread's {@code stack} taken then: logged at WARNING once per round, recorded as a
     * {@code dev.ioqueue.LoopHeld} event. Watchdog thread.
     */
    static void loopHeld(QueueCore q, long heldNanos, long thresholdNanos, StackTraceElement[] stack) {
        String frames = null;
        if (FailureLog.LOGGER.isLoggable(Level.WARNING)) {
            frames = frames(stack);
            FailureLog.LOGGER.log(Level.WARNING, "the loop of thread " + q.ownership.ownerName() + " has been held for "
                    + heldNanos / 1_000_000 + " ms (the threshold is " + thresholdNanos / 1_000_000 + " ms, system property "
                    + Watchdog.PROPERTY + ") in one round: a callback, task or coroutine slice that blocks or runs long, or"
                    + " many of them in one round (a coroutine that never suspends: yield() now and then); blocking calls"
                    + " belong on other threads. What the loop thread runs now:\n" + frames);
        }
        if (FlightRecorder.isInitialized()) JfrEvents.loopHeld(q, heldNanos, thresholdNanos, frames != null ? frames : frames(stack));
    }

    /** At most this many frames in a message or event. */
    private static final int MAX_FRAMES = 128;

    /** {@code stack} as {@link Throwable#printStackTrace()} writes it, one {@code "\tat "} line a frame. */
    static String frames(StackTraceElement[] stack) {
        StringBuilder b = new StringBuilder();
        int n = Math.min(stack.length, MAX_FRAMES);
        for (int i = 0; i < n; i++) b.append("\tat ").append(stack[i]).append('\n');
        if (stack.length > n) b.append("\t... ").append(stack.length - n).append(" more\n");
        return b.toString();
    }
}
