package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ioqueue.internal.os.NativeAccounting;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A queue's life: one per thread, run until nothing is pending or it is asked to stop, closed by
 * its thread (dropping what waits, each told once, and closing the handles bound to it).
 */
class QueueLifecycleTest extends QueueTestSupport {

    // guards: queue.close() leaked fds and memory when onDropped threw an Error (outside finding D4)
    @Test
    void queueCloseReleasesEverythingWhenOnDroppedThrowsAnError() throws Exception {
        IoQueue.current().close();
        long fdsBefore = TestFds.settledFdCount();
        long queuesBefore = NativeAccounting.liveQueues();
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        Fds.Pipe other = Fds.pipe();
        AtomicInteger toldOther = new AtomicInteger();
        q.await(p.readFd(), ReadyEvent.READ, throwingOnDrop(new AssertionError("first")));
        q.await(p.writeFd(), ReadyEvent.WRITE, throwingOnDrop(new OutOfMemoryError("second")));
        q.await(other.readFd(), ReadyEvent.READ, new ReadyCallback() {
            @Override
            public void onReady(int fd, java.util.Set<Event> events) {}

            @Override
            public void onDropped(int fd) {
                toldOther.incrementAndGet();
            }
        });
        q.schedule(Duration.ofHours(1), () -> {}, () -> {
            throw new IllegalStateException("from a timer's ifDropped");
        });
        Throwable e = assertThrows(Throwable.class, q::close);
        assertEquals(2, e.getSuppressed().length, "every other throwable is suppressed onto the first: " + e);
        assertEquals(1, toldOther.get(), "every other waiter was still told");
        assertTrue(q.isClosed());
        p.close();
        other.close();
        assertEquals(fdsBefore, TestFds.openFdCount(), "epoll fd and eventfd released");
        assertEquals(queuesBefore, NativeAccounting.liveQueues(), "native memory released");
    }

    // guards: close() spun while producers kept calling execute() (outside finding D5)
    @Test
    void closeReturnsPromptlyWhileProducersHammerExecute() throws Exception {
        for (int round = 0; round < 5; round++) {
            IoQueue q = IoQueue.current();
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch started = new CountDownLatch(8);
            List<Thread> producers = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                Thread t = new Thread(() -> {
                    started.countDown();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (!stop.get() && System.nanoTime() < deadline) {
                        try {
                            q.execute(() -> {});
                        } catch (RejectedExecutionException expected) {
                            // keep going, as a careless producer would
                        }
                    }
                });
                t.start();
                producers.add(t);
            }
            started.await();
            q.close(); // returns only if it does not wait for the producers to stop
            boolean closedBeforeProducersGaveUp = producers.stream().allMatch(Thread::isAlive);
            stop.set(true);
            for (Thread t : producers) t.join();
            assertTrue(closedBeforeProducersGaveUp, "close() returned while the producers were still hammering");
        }
    }

    // guards: close() kept every failure of a huge backlog (outside finding D5)
    @Test
    void closeWithAHugeBacklogOfFailingTasksKeepsABoundedRecord() throws Exception {
        IoQueue q = IoQueue.current();
        Thread producer = new Thread(() -> {
            for (int i = 0; i < 20_000; i++) {
                int n = i;
                q.execute(() -> {
                    throw new IllegalStateException("task " + n);
                });
            }
        });
        producer.start();
        producer.join();
        IllegalStateException e = assertThrows(IllegalStateException.class, q::close);
        assertEquals("task 0", e.getMessage(), "the first failure propagates");
        assertEquals(dev.ioqueue.internal.base.Failures.MAX_SUPPRESSED, e.getSuppressed().length);
        assertTrue(q.isClosed());
    }

    // guards: the seed library's scenario: one queue per thread
    @Test
    void eachThreadHasItsOwnQueue() throws Exception {
        IoQueue mine = IoQueue.current();
        assertSame(mine, IoQueue.current());
        IoQueue theirs = CompletableFuture.supplyAsync(() -> {
            IoQueue q = IoQueue.current();
            q.close();
            return q;
        }, r -> new Thread(r).start()).get(10, TimeUnit.SECONDS);
        assertNotSame(mine, theirs);
        assertSame(Thread.currentThread(), mine.owner());
    }

    // guards: the seed library's scenario: threads each run their own queue at once
    @Test
    void severalThreadsEachRunTheirOwnQueue() throws Exception {
        int threads = 4;
        int hops = 5_000;
        List<CompletableFuture<Integer>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            CompletableFuture<Integer> result = new CompletableFuture<>();
            results.add(result);
            new Thread(() -> {
                try (Fds.Pipe a = Fds.pipe(); Fds.Pipe b = Fds.pipe()) {
                    IoQueue q = IoQueue.current();
                    // One waiter bounces a byte between the pipes: a, b, a, b, ... until it ran `hops` times.
                    Recorder pingPong = new Recorder();
                    pingPong.then((fd, ev) -> {
                        TestFds.readByte(fd);
                        if (pingPong.calls() < hops) {
                            Fds.Pipe next = fd == a.readFd() ? b : a;
                            TestFds.writeByte(next.writeFd(), 1);
                            q.await(next.readFd(), ReadyEvent.READ, pingPong);
                        }
                    });
                    q.await(a.readFd(), ReadyEvent.READ, pingPong);
                    TestFds.writeByte(a.writeFd(), 1);
                    q.run();
                    q.close();
                    List<String> log = pingPong.log();
                    for (int i = 0; i < log.size(); i++) {
                        assertEquals(Recorder.ready((i & 1) == 0 ? a.readFd() : b.readFd(), Event.READ), log.get(i), "hop " + i);
                    }
                    result.complete(pingPong.calls());
                } catch (Throwable e) {
                    result.completeExceptionally(e);
                }
            }).start();
        }
        for (CompletableFuture<Integer> r : results) assertEquals(hops, r.get(60, TimeUnit.SECONDS));
    }
}
