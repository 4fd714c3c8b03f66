// One loop, four sources: a timerfd ticking every 20 ms, an eventfd that another thread signals,
// tasks that thread hands over with execute(), and a schedule() timer that ends the run. Every
// callback runs on the thread that called run(); no callback reads an fd or handles EAGAIN itself.
//
//   run: the test OtherSamplesSpec, or this main().
package dev.ioqueue.samples;

import dev.ioqueue.Cancellable;
import dev.ioqueue.EventFd;
import dev.ioqueue.IoQueue;
import dev.ioqueue.TimerFd;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;

public final class TimerAndEventFd {
    /** What one run saw. */
    public record Report(long ticks, long eventfdTotal, int tasks, Set<String> threads) {}

    private TimerAndEventFd() {}

    /** Runs the loop on the calling thread for {@code length}, with {@code posts} eventfd signals and tasks from a producer thread. */
    public static Report run(Duration length, int posts) throws InterruptedException {
        IoQueue queue = IoQueue.current();
        long[] ticks = {0};
        long[] total = {0};
        int[] tasks = {0};
        Set<String> threads = new TreeSet<>();
        try (TimerFd timer = TimerFd.open(); EventFd signals = EventFd.counter(0)) {
            timer.armPeriodic(Duration.ofMillis(20));
            Cancellable ticking = timer.onTicks(queue, expirations -> { // expirations since the last read
                threads.add(Thread.currentThread().getName());
                ticks[0] += expirations;
            });
            Cancellable signalled = signals.onSignal(queue, sum -> { // the sum of the signals since the last take
                threads.add(Thread.currentThread().getName());
                total[0] += sum;
            });
            queue.schedule(length, () -> {
                ticking.cancel();
                signalled.cancel();
            });

            Thread producer = new Thread(() -> {
                for (int i = 1; i <= posts; i++) {
                    signals.signal(i); // the kernel adds it to the counter
                    queue.execute(() -> { tasks[0]++; threads.add(Thread.currentThread().getName()); });
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "producer");
            producer.start();
            producer.join(); // every signal is in before the run ends
            queue.run();
        }
        return new Report(ticks[0], total[0], tasks[0], threads);
    }

    public static void main(String[] args) throws InterruptedException {
        Report r = run(Duration.ofMillis(300), 10);
        System.out.println("timerfd ticks:      " + r.ticks());
        System.out.println("eventfd total:      " + r.eventfdTotal() + " (signalled 1+2+...+10 = 55)");
        System.out.println("tasks via execute:  " + r.tasks());
        System.out.println("threads that ran callbacks and tasks: " + r.threads());
    }
}
