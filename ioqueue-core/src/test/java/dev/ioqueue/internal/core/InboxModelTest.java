package dev.ioqueue.internal.core;

import java.util.ArrayDeque;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Param;
import org.jetbrains.kotlinx.lincheck.paramgen.IntGen;
import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions;
import org.junit.jupiter.api.Test;

/**
 * The cross-thread inbox, model-checked (Lincheck explores the interleavings of small scenarios):
 * against a FIFO queue, with producers offering from any thread and the owner alone taking, nothing
 * is lost or doubled, the order is the order of the producers' exchanges (so each producer's FIFO),
 * and {@code isEmpty()} never says "empty" while an offered task is unpolled (the loop's sleep
 * decision rests on it). The consumer's take waits out a producer between its exchange and its
 * link, as the loop does: it sees the inbox non-empty and polls again next round.
 *
 * <p>Fails if {@code isEmpty()} looks at the link instead of the tail (checked: it then reports a
 * task whose producer was preempted before linking as absent, after a later producer's offer returned).
 */
@Param(name = "task", gen = IntGen.class, conf = "1:3")
public class InboxModelTest {
    private final Inbox inbox = new Inbox();

    private record Task(int id) implements Runnable {
        @Override
        public void run() {}
    }

    @Operation
    public void offer(@Param(name = "task") int id) {
        inbox.offer(new Task(id));
    }

    /** The owner's take: null only when the inbox says it is empty. */
    @Operation(nonParallelGroup = "owner")
    public Integer take() {
        while (true) {
            if (inbox.isEmpty()) return null;
            Runnable r = inbox.poll();
            if (r != null) return ((Task) r).id();
        }
    }

    @Test
    void linearizableAsAFifoQueueWithOneConsumer() {
        LinChecker.check(InboxModelTest.class, ModelChecks.options(Spec.class,
                // two producers, one preempted between its exchange and its link, while the owner takes
                ModelChecks.scenario(InboxModelTest.class, new String[] {"offer:1", "take"}, new String[] {"offer:2", "offer:3"}),
                ModelChecks.scenario(InboxModelTest.class, new String[] {"take", "take"}, new String[] {"offer:1"}, new String[] {"offer:2"})));
    }

    /** The sequential specification: a FIFO queue. */
    public static class Spec {
        private final ArrayDeque<Integer> queue = new ArrayDeque<>();

        public void offer(int id) {
            queue.add(id);
        }

        public Integer take() {
            return queue.poll();
        }
    }
}
