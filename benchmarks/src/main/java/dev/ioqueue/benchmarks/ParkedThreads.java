package dev.ioqueue.benchmarks;

import dev.ioqueue.BlockingIo;
import dev.ioqueue.Fds;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import jdk.jfr.consumer.RecordingStream;

/**
 * Many virtual threads, each parked on its own fd, woken in a random order: how many wake-ups a
 * second, and whether any carrier was pinned. Each thread is parked in {@link BlockingIo#read} on
 * its own eventfd (one fd each: 10,000 pipes would need 20,000 fds, the hard limit here); one
 * platform thread writes the eventfds in a shuffled order and the round ends when every thread has
 * read its count. The reference does the same with {@link LockSupport#park}/{@code unpark} and no
 * fd: the JDK's own cost of parking and waking a virtual thread.
 *
 * <p>Pinning is counted with JFR's {@code jdk.VirtualThreadPinned} (threshold 0: every time a
 * virtual thread parked while pinned), and a probe thread started while all of them are parked
 * shows the carriers were free to run it.
 */
final class ParkedThreads {
    private ParkedThreads() {}

    /** Wake-ups per second over every round; pinned parks seen; the probe's start-to-end time; carrier threads seen. */
    record Result(double wakeupsPerSecond, long pinned, long probeNanos, int carriers) {}

    static Result onEventFds(int count, int rounds, long seed) {
        int[] fds = new int[count];
        try {
            for (int i = 0; i < count; i++) fds[i] = Fds.eventfd(0);
            ByteBuffer one = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder()).putLong(0, 1);
            ByteBuffer counters = ByteBuffer.allocateDirect(8 * count); // each thread reads into its own 8 bytes
            return measure(count, rounds, seed, (i, round, done) -> {
                try {
                    BlockingIo.read(fds[i], counters.slice(8 * i, 8));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                done.countDown();
            }, (i, thread) -> Fds.write(fds[i], one.clear()));
        } finally {
            for (int fd : fds) if (fd > 0) Fds.close(fd);
        }
    }

    static Result onLockSupport(int count, int rounds, long seed) {
        AtomicIntegerArray tokens = new AtomicIntegerArray(count);
        return measure(count, rounds, seed, (i, round, done) -> {
            while (tokens.getAndSet(i, 0) == 0) LockSupport.park();
            done.countDown();
        }, (i, thread) -> {
            tokens.set(i, 1);
            LockSupport.unpark(thread);
        });
    }

    private interface Wait {
        void await(int index, int round, CountDownLatch done);
    }

    private interface Wake {
        void wake(int index, Thread thread);
    }

    private static Result measure(int count, int rounds, long seed, Wait wait, Wake wake) {
        CountDownLatch[] done = new CountDownLatch[rounds];
        for (int r = 0; r < rounds; r++) done[r] = new CountDownLatch(count);
        Thread[] threads = new Thread[count];
        LongAdder pinned = new LongAdder();
        long elapsed = 0;
        long probe = 0;
        int carriers = 0;
        try (RecordingStream jfr = new RecordingStream()) {
            jfr.enable("jdk.VirtualThreadPinned").withThreshold(Duration.ZERO);
            jfr.onEvent("jdk.VirtualThreadPinned", e -> pinned.increment());
            jfr.startAsync();
            for (int i = 0; i < count; i++) {
                int index = i;
                threads[i] = Thread.ofVirtual().start(() -> {
                    for (int r = 0; r < rounds; r++) wait.await(index, r, done[r]);
                });
            }
            Random random = new Random(seed);
            int[] order = new int[count];
            for (int i = 0; i < count; i++) order[i] = i;
            for (int r = 0; r < rounds; r++) {
                awaitAllParked(threads);
                if (r == 0) {
                    long p0 = System.nanoTime();
                    Thread.ofVirtual().start(() -> {}).join();
                    probe = System.nanoTime() - p0;
                    carriers = carrierThreads();
                }
                for (int i = count - 1; i > 0; i--) { // Fisher-Yates
                    int j = random.nextInt(i + 1);
                    int t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
                long t0 = System.nanoTime();
                for (int i : order) wake.wake(i, threads[i]);
                done[r].await();
                elapsed += System.nanoTime() - t0;
            }
            for (Thread t : threads) t.join();
            jfr.stop(); // delivers what was recorded before it returns
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
        return new Result((double) count * rounds / (elapsed / 1e9), pinned.sum(), probe, Math.max(carriers, carrierThreads()));
    }

    /** Waits until every thread is parked (WAITING), so each wake-up below wakes a parked thread. */
    private static void awaitAllParked(Thread[] threads) throws InterruptedException {
        for (Thread t : threads) {
            while (t.getState() != Thread.State.WAITING) Thread.sleep(1);
        }
    }

    /** The virtual-thread scheduler's carriers alive now (platform threads of its ForkJoinPool). */
    private static int carrierThreads() {
        return (int) Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("ForkJoinPool-") && t.getName().contains("-worker-"))
                .count();
    }
}
