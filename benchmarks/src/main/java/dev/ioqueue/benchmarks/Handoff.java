package dev.ioqueue.benchmarks;

import dev.ioqueue.Cancellable;
import dev.ioqueue.IoQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Executor;

/** Tasks posted from another thread and run by one consumer thread: tasks per second. */
final class Handoff {
    private Handoff() {}

    /** ioqueue: the calling thread runs its queue; a producer thread posts with execute(). */
    static double ioqueue(int tasks) throws InterruptedException {
        IoQueue queue = IoQueue.current();
        Cancellable hold = queue.hold();
        int[] ran = {0};
        long[] end = {0};
        Runnable task = () -> {
            if (++ran[0] == tasks) {
                end[0] = System.nanoTime();
                hold.cancel();
            }
        };
        long start = System.nanoTime();
        Thread producer = new Thread(() -> {
            for (int i = 0; i < tasks; i++) queue.execute(task);
        }, "producer");
        producer.start();
        queue.run();
        producer.join();
        return tasks / ((end[0] - start) / 1e9);
    }

    /** A single-thread ThreadPoolExecutor (what Executors.newSingleThreadExecutor builds), or any executor. */
    static double executor(Executor executor, int tasks) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        int[] ran = {0};
        Runnable task = () -> {
            if (++ran[0] == tasks) done.countDown();
        };
        long start = System.nanoTime();
        for (int i = 0; i < tasks; i++) executor.execute(task);
        done.await();
        return tasks / ((System.nanoTime() - start) / 1e9);
    }

    static ThreadPoolExecutor singleThreadPool() {
        return new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>());
    }
}
