package dev.ioqueue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A waiter for tests that writes down everything that happens to it, in order, so a test can state
 * the exact sequence of events it expects instead of bumping {@code int[]} counters.
 *
 * <p>Entries are strings: {@code "ready 7 [READ]"} for {@link #onReady} (events in {@link Event}
 * order), {@code "dropped 7"} for {@link #onDropped}, {@code "task spin"} for a {@link #task}.
 * Build expected entries with {@link #ready(int, Event...)}, {@link #dropped(int)} and
 * {@link #taskRan(String)}.
 *
 * <p>Not thread-safe: use one recorder from one thread, normally the queue's owner (the callbacks
 * and tasks of an {@link IoQueue} all run there).
 */
final class Recorder implements ReadyCallback {
    private final List<String> log = new ArrayList<>();
    private ReadyCallback action = (fd, events) -> { };
    private int calls;
    private int drops;
    private int tasks;
    private int lastFd = -1;
    private Set<Event> lastEvents;

    /**
     * Makes {@link #onReady} run {@code action} after recording the call, for instance to read the
     * fd or to wait again from inside the callback (pass this recorder to {@code await} again).
     */
    Recorder then(ReadyCallback action) {
        this.action = Objects.requireNonNull(action, "action");
        return this;
    }

    @Override
    public void onReady(int fd, Set<Event> events) {
        calls++;
        lastFd = fd;
        lastEvents = events;
        log.add(ready(fd, events.toArray(Event[]::new)));
        action.onReady(fd, events);
    }

    @Override
    public void onDropped(int fd) {
        drops++;
        log.add(dropped(fd));
    }

    /** A task that records {@code "task " + name} each time it runs. */
    Runnable task(String name) {
        String entry = taskRan(name); // one string, however often the task runs
        return () -> {
            tasks++;
            log.add(entry);
        };
    }

    /** How many times {@link #onReady} ran. */
    int calls() {
        return calls;
    }

    /** How many times {@link #onDropped} ran. */
    int drops() {
        return drops;
    }

    /** How many times tasks made by {@link #task} ran. */
    int tasks() {
        return tasks;
    }

    /** The fd of the last {@link #onReady}, or -1 if it never ran. */
    int lastFd() {
        return lastFd;
    }

    /** The events of the last {@link #onReady}, or null if it never ran. */
    Set<Event> lastEvents() {
        return lastEvents;
    }

    /** A snapshot of everything recorded so far, oldest first. */
    List<String> log() {
        return List.copyOf(log);
    }

    /** The entry {@link #onReady} records for {@code fd} and {@code events}. */
    static String ready(int fd, Event... events) {
        EnumSet<Event> sorted = EnumSet.noneOf(Event.class);
        sorted.addAll(Arrays.asList(events));
        return "ready " + fd + " " + sorted;
    }

    /** The entry {@link #onDropped} records for {@code fd}. */
    static String dropped(int fd) {
        return "dropped " + fd;
    }

    /** The entry a {@link #task} named {@code name} records. */
    static String taskRan(String name) {
        return "task " + name;
    }
}
