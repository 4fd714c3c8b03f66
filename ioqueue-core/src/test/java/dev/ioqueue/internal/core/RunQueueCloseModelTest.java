package dev.ioqueue.internal.core;

import java.util.concurrent.atomic.AtomicInteger;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.junit.jupiter.api.Test;

/**
 * The run queue's close under producers, model-checked: a task {@code offer} accepted (true) is run
 * by the close, exactly once; none is accepted once the close began. Against a specification where
 * offer and close are atomic: close runs every task accepted before it and refuses every later one.
 * The producers are not the owner thread, so they take the inbox path and its closed-bit /
 * producer-count protocol; the close runs as the owner's would.
 *
 * <p>Fails if close does not wait for the producers already inside {@code offer} (checked: a task
 * accepted before the close bit was set but linked after the close drained the inbox is lost).
 */
public class RunQueueCloseModelTest {
    private final AtomicInteger ran = new AtomicInteger();
    /** No poller: nothing here sleeps, so no producer ever writes a wake-up. */
    private final RunQueue runQueue = new RunQueue(owner(), null);

    /**
     * The owner: a thread that never runs, so every operation's thread is a producer's (the inbox
     * path). Without a context class loader: Lincheck walks the test's object graph, and a class
     * loader leads it to JDK records, whose field offsets Java 25 no longer hands out.
     */
    private static Thread owner() {
        Thread t = new Thread(() -> {});
        t.setContextClassLoader(null);
        return t;
    }

    @Operation
    public boolean offer() {
        return runQueue.offer(ran::incrementAndGet);
    }

    /** Closes; returns how many tasks this close ran. */
    @Operation(nonParallelGroup = "owner")
    public int close() {
        int before = ran.get();
        Throwable failure = runQueue.close();
        if (failure != null) throw new AssertionError(failure);
        return ran.get() - before;
    }

    @Test
    void everyAcceptedTaskRunsOnceAndNoneIsAcceptedAfterClose() {
        LinChecker.check(RunQueueCloseModelTest.class, ModelChecks.options(Spec.class,
                // a producer inside offer while the owner closes: its task is run or refused, never lost
                ModelChecks.scenario(RunQueueCloseModelTest.class, new String[] {"close"}, new String[] {"offer"}),
                ModelChecks.scenario(RunQueueCloseModelTest.class, new String[] {"offer", "close"}, new String[] {"offer"}, new String[] {"offer"})));
    }

    /** The sequential specification. */
    public static class Spec {
        private boolean closed;
        private int accepted;

        public boolean offer() {
            if (closed) return false;
            accepted++;
            return true;
        }

        public int close() {
            closed = true;
            int n = accepted;
            accepted = 0;
            return n;
        }
    }
}
