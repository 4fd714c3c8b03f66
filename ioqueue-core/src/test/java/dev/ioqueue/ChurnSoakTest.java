package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ioqueue.internal.os.NativeAccounting;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Four threads, each with its own queue, open, wait on, write, cancel, unregister and close
 * thousands of pipes in a seeded random order for {@code -Dioqueue.soak.seconds} (3 by default: each backend runs it in the test command).
 * Afterwards: every byte written was read exactly once, no callback ran after its waiter was
 * withdrawn, and fds and the queues' native memory are back where they started.
 */
class ChurnSoakTest extends QueueTestSupport {
    private static final int THREADS = 4;
    private static final int MAX_OPEN = 300; // pipes per thread at once: 2,400 fds in all

    /** One pipe under test, and the waiter that currently waits on it, if any. */
    private static final class Tracked {
        final Fds.Pipe pipe;
        Waiter waiter;

        Tracked(Fds.Pipe pipe) {
            this.pipe = pipe;
        }
    }

    private static final class Waiter implements ReadyCallback {
        final Worker worker;
        final Tracked tracked;
        boolean withdrawn;

        Waiter(Worker worker, Tracked tracked) {
            this.worker = worker;
            this.tracked = tracked;
        }

        @Override
        public void onReady(int fd, Set<Event> events) {
            if (withdrawn) worker.violations++;
            if (tracked.waiter == this) tracked.waiter = null;
            worker.drain(tracked);
            worker.callbacks++;
        }
    }

    private static final class Worker {
        final Random random;
        final IoQueue queue = IoQueue.current();
        final List<Tracked> open = new ArrayList<>();
        final ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
        long written;
        long read;
        long violations;
        long callbacks;
        long operations;

        Worker(long seed) {
            random = new Random(seed);
        }

        void drain(Tracked t) {
            while (true) {
                buffer.clear();
                int n = Fds.read(t.pipe.readFd(), buffer);
                if (n <= 0) return;
                read += n;
            }
        }

        void step() {
            operations++;
            int roll = random.nextInt(100);
            if (open.isEmpty() || (roll < 15 && open.size() < MAX_OPEN)) {
                open.add(new Tracked(Fds.pipe()));
                return;
            }
            Tracked t = open.get(random.nextInt(open.size()));
            if (roll < 40) { // wait
                if (t.waiter == null) {
                    t.waiter = new Waiter(this, t);
                    queue.await(t.pipe.readFd(), ReadyEvent.READ, t.waiter);
                }
            } else if (roll < 65) { // write
                buffer.clear().limit(1 + random.nextInt(512));
                int n = Fds.write(t.pipe.writeFd(), buffer);
                if (n > 0) written += n;
            } else if (roll < 75) { // cancel
                if (t.waiter != null) {
                    t.waiter.withdrawn = queue.cancel(t.pipe.readFd(), ReadyEvent.READ, t.waiter);
                    t.waiter = null;
                }
            } else if (roll < 82) { // unregister
                if (t.waiter != null) t.waiter.withdrawn = true;
                t.waiter = null;
                queue.unregister(t.pipe.readFd());
            } else if (roll < 90) { // close: what is unread is read first, so every byte counts
                if (t.waiter != null) t.waiter.withdrawn = true;
                drain(t);
                t.pipe.close();
                open.remove(t);
            } else { // let the queue run
                queue.runOnce(Duration.ZERO);
            }
        }

        /** Runs what is ready, then closes every pipe (which withdraws its waiter); returns whether the queue is idle. */
        boolean finish() {
            queue.runOnce(Duration.ZERO);
            for (Tracked t : open) {
                if (t.waiter != null) t.waiter.withdrawn = true;
                drain(t);
                t.pipe.close();
            }
            open.clear();
            return !queue.running();
        }
    }

    @Test
    void fourThreadsChurnThousandsOfFdsAndEverythingAddsUp() throws Exception {
        IoQueue.current().close();
        double seconds = Double.parseDouble(System.getProperty("ioqueue.soak.seconds", "3"));
        long seed = Long.getLong("ioqueue.soak.seed", System.nanoTime());
        System.out.println("churn soak: " + THREADS + " threads, " + seconds + " s, seed " + seed + " (-Dioqueue.soak.seed to replay)");
        java.util.Set<String> fdsBefore = TestFds.settledOpenFds();
        long nativeBefore = TestFds.settledNativeBytes();
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        List<CompletableFuture<Worker>> results = new ArrayList<>();
        for (int i = 0; i < THREADS; i++) {
            long threadSeed = seed + i;
            CompletableFuture<Worker> result = new CompletableFuture<>();
            results.add(result);
            new Thread(() -> {
                try {
                    Worker w = new Worker(threadSeed);
                    while (System.nanoTime() < deadline) w.step();
                    if (!w.finish()) throw new AssertionError("closing every pipe left something pending");
                    w.queue.close();
                    result.complete(w);
                } catch (Throwable t) {
                    result.completeExceptionally(t);
                }
            }, "soak-" + i).start();
        }
        long operations = 0;
        for (CompletableFuture<Worker> r : results) {
            Worker w = r.get((long) seconds + 120, TimeUnit.SECONDS);
            assertEquals(w.written, w.read, "every byte written was read exactly once (seed " + seed + ")");
            assertEquals(0, w.violations, "no callback ran after its waiter was withdrawn (seed " + seed + ")");
            operations += w.operations;
        }
        System.out.println("churn soak: " + operations + " operations");
        TestFds.assertNoneOpenedSince(fdsBefore, "fds back to their start");
        assertEquals(nativeBefore, NativeAccounting.liveBytes(), "queue native memory back to its start");
    }
}
