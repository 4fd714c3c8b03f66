package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.core.Registrations;
import dev.ioqueue.internal.core.RunQueue;
import dev.ioqueue.internal.core.Waiter;
import dev.ioqueue.internal.core.Waiters;
import dev.ioqueue.internal.poll.Interest;
import dev.ioqueue.internal.poll.Poller;
import dev.ioqueue.internal.uring.UringPoller;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions;
import org.junit.jupiter.api.Test;

/**
 * The decision race of a {@code whenReady} future, model-checked: the queue's thread fires the
 * waiter ({@code ready}), drops it ({@code drop}, an unregister) or runs its posted tasks
 * ({@code round}), while callers {@code cancel}, {@code complete} and {@code completeAsync} the
 * future. Against a specification where each is atomic: the first to come decides (returns true),
 * every later one loses. Then, once the operations returned ({@code settle}, the post part):
 * <ul>
 *   <li>the future is done, with an outcome of the allowed ones (the readiness, the drop, the
 *       caller's value, its async value, a cancellation);</li>
 *   <li>the queue told the waiter (ready or dropped) at most once; a caller's decision posted
 *       exactly one withdrawal unless the queue ran the waiter first (then at most one), and a
 *       decision of the queue none;</li>
 *   <li>{@code abandoned()} is true exactly when a caller decided and the queue never ran the
 *       waiter; so a second wait on the same fd and event is taken at once while the queue still
 *       holds a waiter a caller decided, and refused while it holds one undecided;</li>
 *   <li>after the queue's next round it holds the waiter no more (fired or withdrawn, never
 *       neither), and the withdrawal did not take a second waiter that replaced it.</li>
 * </ul>
 * ({@code abandoned()} stays true once the withdrawal ran: the queue asks only the waiters it
 * holds, so that is not checked.)
 *
 * <p>The queue is a real {@link QueueCore}, built through its private constructor over a stand-in
 * {@link Poller}, the one part replaced: its run queue, registrations and ready batch are the ones
 * that call {@link Waiter#ready}, {@link Waiter#dropped} and {@link Waiter#abandoned}, the seam
 * ReadyFuture uses. The poller accepts every interest change and reports the fd readable under the
 * token it was last given, so {@code ready} is the loop's own collect-then-run of one event. The
 * queue belongs to the thread that builds the test instance, which runs no operation: every
 * withdrawal goes through the inbox, and {@code round} runs it as the loop would. The future
 * completes through an inline completer that counts what the queue told it, as on the shared queue,
 * whose completions run on a thread other than its owner.
 *
 * <p>Fails (checked) if {@code abandoned()} always says false (a second wait refused after a
 * caller's cancel), if the completion hook that withdraws is gone (a caller's cancel posts no
 * withdrawal), if the withdrawal skips the {@code fired} check, or if {@code ready} marks the waiter
 * fired only after completing the future (either: a withdrawal posted though the queue decided).
 */
public class ReadyFutureModelTest {
    private static final int FD = 7;
    private static final int KIND = Interest.READ;
    private static final String READY = "ready";
    private static final String CALLER = "caller";
    private static final String ASYNC = "async";

    private final FakePoller poller = new FakePoller();
    private final QueueCore queue = newQueue(poller);
    private final Registrations registrations = field(queue, "registrations");
    private final RunQueue runQueue = field(queue, "runQueue");
    /** What the queue told the waiter (ready or dropped), through the completer: queue thread only. */
    private int told;
    private int withdrawalsRun;
    private final ReadyFuture<Object> waiter = new ReadyFuture<>(queue, FD, null, KIND, mask -> READY, inlineCounting());
    private final CompletableFuture<Object> future = waiter.start(); // registers at once: this is the owner

    private Executor inlineCounting() {
        return task -> {
            told++;
            task.run();
        };
    }

    // ---- the queue's thread ----

    /** The fd reported readable: the loop collects it and runs the batch. Whether this decided. */
    @Operation(nonParallelGroup = "queue")
    public boolean ready() {
        int before = told;
        registrations.collect(poller.reportReadable());
        registrations.runBatch();
        return told > before && READY.equals(outcome());
    }

    /** The fd unregistered: its waiters are dropped. Whether this decided. */
    @Operation(nonParallelGroup = "queue")
    public boolean drop() {
        int before = told;
        queue.unregister(FD, null);
        return told > before && outcome() instanceof IOException;
    }

    /** The loop runs the tasks posted to it: here, only withdrawals. */
    @Operation(nonParallelGroup = "queue")
    public void round() {
        withdrawalsRun += runQueue.runTasks();
    }

    // ---- callers ----

    @Operation
    public boolean cancel() {
        requireCaller();
        return future.cancel(false);
    }

    @Operation
    public boolean complete() {
        requireCaller();
        return future.complete(CALLER);
    }

    @Operation
    public boolean completeAsync() {
        requireCaller();
        future.completeAsync(() -> ASYNC, Runnable::run);
        return ASYNC.equals(outcome());
    }

    private void requireCaller() {
        if (queue.ownership.isOwner()) throw new IllegalStateException("a caller ran on the queue's thread: the model needs the inbox path");
    }

    // ---- after the race ----

    /** The properties, once the operations returned; "ok" or what broke. Runs as the queue's thread would. */
    @Operation(nonParallelGroup = "queue")
    public String settle() {
        List<String> broken = new ArrayList<>();
        Object outcome = outcome();
        boolean queueDecided = READY.equals(outcome) || outcome instanceof IOException;
        boolean callerDecided = CALLER.equals(outcome) || ASYNC.equals(outcome) || outcome instanceof CancellationException;
        if (queueDecided == callerDecided) broken.add("outcome " + outcome + " is none of the allowed ones");
        if (told > 1) broken.add("the queue told the waiter " + told + " times");
        boolean held = told == 0 && withdrawalsRun == 0;
        if (waiter.abandoned() != (callerDecided && told == 0)) {
            broken.add("abandoned() is " + waiter.abandoned() + ", caller decided: " + callerDecided + ", told by the queue: " + told);
        }
        Waiter second = new Waiter() {
            @Override
            public void ready(int fd, int events) {}

            @Override
            public void dropped(int fd) {}
        };
        boolean accepted;
        try {
            queue.await(FD, null, KIND, second);
            accepted = true;
        } catch (IllegalStateException refused) {
            accepted = false;
        }
        if (accepted != (!held || callerDecided)) broken.add("a second wait " + (accepted ? "accepted" : "refused") + ", first held: " + held);
        int posted = withdrawalsRun + runQueue.runTasks();
        // a caller's decision posts one withdrawal, unless the queue fired the waiter before it looked
        int[] allowed = queueDecided ? new int[] {0, 0} : told == 0 ? new int[] {1, 1} : new int[] {0, 1};
        if (posted < allowed[0] || posted > allowed[1]) {
            broken.add(posted + " withdrawals posted, caller decided: " + callerDecided + ", told by the queue: " + told);
        }
        if (queue.cancel(FD, KIND, waiter)) broken.add("the queue still holds the waiter after its round");
        if (queue.cancel(FD, KIND, second) != accepted) broken.add("the second waiter " + (accepted ? "was taken" : "is held though refused"));
        return broken.isEmpty() ? "ok" : String.join("; ", broken);
    }

    private Object outcome() {
        return switch (future.state()) {
            case SUCCESS -> future.resultNow();
            case FAILED -> future.exceptionNow();
            case CANCELLED -> new CancellationException();
            case RUNNING -> null;
        };
    }

    @Test
    void theFirstToCompleteDecidesAndTheWaiterIsFiredOrWithdrawnOnce() {
        ModelCheckingOptions o = new ModelCheckingOptions()
                .iterations(0)
                .invocationsPerIteration(Integer.getInteger("ioqueue.lincheck.invocations", 100))
                .sequentialSpecification(Spec.class);
        for (String[][] threads : new String[][][] {
            {{"ready", "round"}, {"cancel"}},
            {{"round", "ready"}, {"complete"}, {"completeAsync"}},
            {{"drop", "round"}, {"cancel"}},
            {{"round"}, {"cancel", "complete"}},
            {{"round"}, {"completeAsync"}, {"cancel"}},
            {{"ready", "drop"}, {"complete"}},
        }) {
            o.addCustomScenario(scenario(threads));
        }
        // The queues belong to this thread. Lincheck walks the test's object graph, so through the
        // owner thread it would reach a class loader and the JDK records behind it, whose field
        // offsets Java 25 no longer hands out: the thread goes without one during the check.
        Errors.dropped(FD, "installs the API's exceptions before the check, outside it");
        Thread self = Thread.currentThread();
        ClassLoader loader = self.getContextClassLoader();
        self.setContextClassLoader(null);
        try {
            LinChecker.check(ReadyFutureModelTest.class, o);
        } finally {
            self.setContextClassLoader(loader);
        }
    }

    private static ExecutionScenario scenario(String[][] threads) {
        List<List<Actor>> parallel = new ArrayList<>();
        for (String[] calls : threads) {
            List<Actor> actors = new ArrayList<>();
            for (String call : calls) actors.add(actor(call));
            parallel.add(actors);
        }
        return new ExecutionScenario(List.of(), parallel, List.of(actor("settle")), null);
    }

    private static Actor actor(String name) {
        var m = Arrays.stream(ReadyFutureModelTest.class.getMethods()).filter(x -> x.getName().equals(name)).findFirst().orElseThrow();
        return new Actor(m, List.of(), false, false, false, false, false);
    }

    /** The sequential specification: the first completion decides. */
    public static class Spec {
        private boolean decided;

        private boolean decide() {
            boolean first = !decided;
            decided = true;
            return first;
        }

        public boolean ready() {
            return decide();
        }

        public boolean drop() {
            return decide();
        }

        public void round() {}

        public boolean cancel() {
            return decide();
        }

        public boolean complete() {
            return decide();
        }

        public boolean completeAsync() {
            return decide();
        }

        public String settle() {
            return "ok";
        }
    }

    // ---- the stand-in OS ----

    /** Accepts every interest change; reports the fd readable under the token it was last given. */
    static final class FakePoller implements Poller {
        private long token = -1;

        int reportReadable() {
            return token < 0 ? 0 : 1;
        }

        @Override
        public int add(int fd, int interest, long token) {
            this.token = token;
            return 0;
        }

        @Override
        public int modify(int fd, int interest, long token) {
            this.token = token;
            return 0;
        }

        @Override
        public int remove(int fd) {
            token = -1;
            return 0;
        }

        @Override
        public int await(long timeoutNanos) {
            return reportReadable();
        }

        @Override
        public long token(int i) {
            return token;
        }

        @Override
        public int events(int i) {
            return Interest.READ_BIT;
        }

        @Override
        public void wake() {}

        @Override
        public void reset() {}

        @Override
        public boolean broken() {
            return false;
        }

        @Override
        public boolean owns(int fd) {
            return false;
        }

        @Override
        public String describeOwn(int fd) {
            return "";
        }

        @Override
        public String explain(int errno) {
            return null;
        }

        @Override
        public void close() {}
    }

    private static QueueCore newQueue(Poller poller) {
        try {
            Constructor<QueueCore> c = QueueCore.class.getDeclaredConstructor(Poller.class, UringPoller.class, Waiters.class);
            c.setAccessible(true);
            return c.newInstance(poller, null, null);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    @SuppressWarnings("unchecked")
    private static <T> T field(QueueCore q, String name) {
        try {
            Field f = QueueCore.class.getDeclaredField(name);
            f.setAccessible(true);
            return (T) f.get(q);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
