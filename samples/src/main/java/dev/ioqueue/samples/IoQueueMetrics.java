package dev.ioqueue.samples;

import dev.ioqueue.IoQueue;
import dev.ioqueue.IoQueueGroup;
import dev.ioqueue.QueueStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * Micrometer meters over {@link IoQueue#stats()}: an application that uses Micrometer binds its
 * queues with this (ioqueue itself depends on nothing). Per queue, tagged {@code queue} (its
 * thread's name) and {@code backend} ({@code epoll} or {@code io_uring}): gauges of what it holds
 * ({@code ioqueue.fds.registered}, {@code ioqueue.waiters}, {@code ioqueue.fds.owned},
 * {@code ioqueue.operations.pending}, {@code ioqueue.operations.ring}, and on io_uring
 * {@code ioqueue.ring.kept} in bytes) and function counters of what it did
 * ({@code ioqueue.wakeups}, {@code ioqueue.wakeups.spurious}, {@code ioqueue.callbacks},
 * {@code ioqueue.tasks}, {@code ioqueue.timers.fired}, {@code ioqueue.rounds}, and on io_uring
 * {@code ioqueue.ring.enters}, {@code ioqueue.ring.submissions}, {@code ioqueue.ring.completions}).
 *
 * <p>Each meter reads {@code stats()} when the registry asks (a scrape, a publish), from the
 * registry's thread: {@code stats()} is thread-safe and costs the loop nothing. The meters hold
 * their queue weakly, as Micrometer's function meters do: a queue closed and collected reads NaN.
 * Thread-safe.
 *
 * <pre>{@code
 * IoQueueGroup group = IoQueueGroup.start(4, "io");
 * IoQueueMetrics.of(group).bindTo(registry);
 * }</pre>
 */
public final class IoQueueMetrics implements MeterBinder {
    private final List<IoQueue> queues;

    private IoQueueMetrics(List<IoQueue> queues) {
        this.queues = List.copyOf(queues);
    }

    /** Meters for one queue. */
    public static IoQueueMetrics of(IoQueue queue) {
        return new IoQueueMetrics(List.of(queue));
    }

    /** Meters for each queue of {@code group}, told apart by their {@code queue} tag. */
    public static IoQueueMetrics of(IoQueueGroup group) {
        return new IoQueueMetrics(group.queues());
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (IoQueue q : queues) bind(q, registry);
    }

    private static void bind(IoQueue q, MeterRegistry registry) {
        Tags tags = Tags.of("queue", q.owner().getName(), "backend", q.backend().name().toLowerCase(Locale.ROOT));
        gauge(registry, tags, q, "ioqueue.fds.registered", "fds with a readiness registration", null, QueueStats::registeredFds);
        gauge(registry, tags, q, "ioqueue.waiters", "waiters waiting for readiness", null, QueueStats::waiters);
        gauge(registry, tags, q, "ioqueue.fds.owned", "Handles bound to the queue", null, QueueStats::ownedFds);
        gauge(registry, tags, q, "ioqueue.operations.pending", "I/O operations submitted and not yet ended", null, QueueStats::pendingOperations);
        gauge(registry, tags, q, "ioqueue.operations.ring", "pending I/O operations the ring performs", null, QueueStats::ringOperations);
        counter(registry, tags, q, "ioqueue.wakeups", "waits in the OS that returned", QueueStats::wakeUps);
        counter(registry, tags, q, "ioqueue.wakeups.spurious", "operations' attempts after a wake-up that still would block",
                QueueStats::spuriousWakeUps);
        counter(registry, tags, q, "ioqueue.callbacks", "ready callbacks and ring completions the loop ran", QueueStats::callbacksRun);
        counter(registry, tags, q, "ioqueue.tasks", "tasks run", QueueStats::tasksRun);
        counter(registry, tags, q, "ioqueue.timers.fired", "timers whose task ran", QueueStats::timersFired);
        counter(registry, tags, q, "ioqueue.rounds", "rounds of the loop", QueueStats::rounds);
        if (q.backend() == dev.ioqueue.Backend.IO_URING) {
            gauge(registry, tags, q, "ioqueue.ring.kept", "bytes read ahead that no read has taken yet", "bytes", QueueStats::keptBytes);
            counter(registry, tags, q, "ioqueue.ring.enters", "io_uring_enter calls", QueueStats::ringEnters);
            counter(registry, tags, q, "ioqueue.ring.submissions", "SQEs the kernel took", QueueStats::ringSubmissions);
            counter(registry, tags, q, "ioqueue.ring.completions", "CQEs reaped", QueueStats::ringCompletions);
        }
    }

    private static void gauge(MeterRegistry registry, Tags tags, IoQueue q, String name, String description, String unit,
            ToDoubleFunction<QueueStats> field) {
        Gauge.builder(name, q, queue -> field.applyAsDouble(queue.stats())).tags(tags).description(description).baseUnit(unit)
                .register(registry);
    }

    private static void counter(MeterRegistry registry, Tags tags, IoQueue q, String name, String description,
            ToDoubleFunction<QueueStats> field) {
        FunctionCounter.builder(name, q, queue -> field.applyAsDouble(queue.stats())).tags(tags).description(description)
                .register(registry);
    }
}
