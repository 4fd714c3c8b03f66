// One loop, four sources: a timerfd ticking every 20 ms, an eventfd that another thread posts to,
// tasks that thread hands over with execute(), and a schedule() timer that ends the run. Every
// callback runs on the thread that called run().
//
//   run: the test TimerAndEventFdSpec, or this main().
package dev.ioqueue.samples;

import dev.ioqueue.Event;
import dev.ioqueue.Fds;
import dev.ioqueue.IoQueue;
import dev.ioqueue.ReadyCallback;
import dev.ioqueue.ReadyEvent;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;

public final class TimerAndEventFd {
    /** What one run saw. */
    public record Report(long ticks, long eventfdTotal, int tasks, Set<String> threads) {}

    private TimerAndEventFd() {}

    /** Runs the loop on the calling thread for {@code length}, with {@code posts} eventfd posts and tasks from a producer thread. */
    public static Report run(Duration length, int posts) throws InterruptedException {
        IoQueue queue = IoQueue.current();
        int timer = TimerFd.periodic(Duration.ofMillis(20));
        int eventfd = Fds.eventfd(0);
        ByteBuffer counter = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
        long[] ticks = {0};
        long[] total = {0};
        int[] tasks = {0};
        Set<String> threads = new TreeSet<>();
        boolean[] stopped = {false};

        ReadyCallback onTick = new ReadyCallback() {
            @Override
            public void onReady(int fd, Set<Event> events) {
                threads.add(Thread.currentThread().getName());
                counter.clear();
                if (Fds.read(fd, counter) == 8) ticks[0] += counter.getLong(0); // expirations since the last read
                if (!stopped[0]) queue.await(fd, ReadyEvent.READ, this);
            }
        };
        ReadyCallback onPost = new ReadyCallback() {
            @Override
            public void onReady(int fd, Set<Event> events) {
                threads.add(Thread.currentThread().getName());
                counter.clear();
                if (Fds.read(fd, counter) == 8) total[0] += counter.getLong(0); // the sum of all posts, and resets it
                if (!stopped[0]) queue.await(fd, ReadyEvent.READ, this);
            }
        };
        queue.await(timer, ReadyEvent.READ, onTick);
        queue.await(eventfd, ReadyEvent.READ, onPost);
        queue.schedule(length, () -> {
            stopped[0] = true;
            queue.unregister(timer);
            queue.unregister(eventfd);
        });

        Thread producer = new Thread(() -> {
            ByteBuffer one = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
            for (int i = 1; i <= posts; i++) {
                one.clear();
                one.putLong(0, i);
                Fds.write(eventfd, one); // the kernel adds it to the counter
                queue.execute(() -> { tasks[0]++; threads.add(Thread.currentThread().getName()); });
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "producer");
        producer.start();
        producer.join(); // every post is in before the run ends
        queue.run();
        Fds.close(timer);
        Fds.close(eventfd);
        return new Report(ticks[0], total[0], tasks[0], threads);
    }

    public static void main(String[] args) throws InterruptedException {
        Report r = run(Duration.ofMillis(300), 10);
        System.out.println("timerfd ticks:      " + r.ticks());
        System.out.println("eventfd total:      " + r.eventfdTotal() + " (posted 1+2+...+10 = 55)");
        System.out.println("tasks via execute:  " + r.tasks());
        System.out.println("threads that ran callbacks and tasks: " + r.threads());
    }
}
