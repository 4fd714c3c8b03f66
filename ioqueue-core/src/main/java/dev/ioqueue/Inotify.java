package dev.ioqueue;

import static dev.ioqueue.internal.os.InotifyCalls.EVENT_SIZE;

import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.InotifyCalls;
import dev.ioqueue.internal.io.FdWatch;
import dev.ioqueue.internal.os.Native;
import java.lang.foreign.MemorySegment;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * File system events readable as an fd: inotify(7), non-blocking and close-on-exec. Add a
 * {@link Watch} on a file or directory for some {@link Kind}s; {@link #read()} returns the
 * {@link Event}s queued since the last read, in order, including the kernel's own reports: a
 * queue {@link Kind#OVERFLOW} (events were lost: rescan what you watch; IGNORED ones may be among
 * them, and the watches the kernel ended meanwhile are forgotten then) and {@link Kind#IGNORED}
 * (a watch ended: removed, or its file deleted or unmounted).
 *
 * <p><b>Threading.</b> Thread-safe. Closing: {@link #close()} runs from any thread, as {@link
 * Handle#close()}: its watches and waits are dropped (each told once) on the queue that serves it,
 * and the fd is closed once, there. {@link #onEvents} is owner-thread only, like {@link
 * IoQueue#await}.
 */
public final class Inotify implements AutoCloseable {
    /** Holds any whole number of events: the largest is {@code EVENT_SIZE + NAME_MAX + 1} bytes. */
    private static final int BUFFER_SIZE = 64 * 1024;

    /** What an event reports. The last four are only reported: they cannot be watched for. */
    public enum Kind {
        /** A file was read. */
        ACCESS(InotifyCalls.IN_ACCESS),
        /** A file was written. */
        MODIFY(InotifyCalls.IN_MODIFY),
        /** Metadata changed: permissions, timestamps, links, owner... */
        ATTRIB(InotifyCalls.IN_ATTRIB),
        /** A file opened for writing was closed. */
        CLOSE_WRITE(InotifyCalls.IN_CLOSE_WRITE),
        /** A file not opened for writing was closed. */
        CLOSE_NOWRITE(InotifyCalls.IN_CLOSE_NOWRITE),
        /** A file was opened. */
        OPEN(InotifyCalls.IN_OPEN),
        /** A file was moved out of the watched directory ({@link Event#cookie()} pairs it). */
        MOVED_FROM(InotifyCalls.IN_MOVED_FROM),
        /** A file was moved into the watched directory ({@link Event#cookie()} pairs it). */
        MOVED_TO(InotifyCalls.IN_MOVED_TO),
        /** A file was created in the watched directory. */
        CREATE(InotifyCalls.IN_CREATE),
        /** A file was deleted from the watched directory. */
        DELETE(InotifyCalls.IN_DELETE),
        /** The watched file or directory itself was deleted. */
        DELETE_SELF(InotifyCalls.IN_DELETE_SELF),
        /** The watched file or directory itself was moved. */
        MOVE_SELF(InotifyCalls.IN_MOVE_SELF),
        /** Reported: the file system of the watch was unmounted (an IGNORED follows). */
        UNMOUNT(InotifyCalls.IN_UNMOUNT),
        /** Reported: the kernel's queue overflowed and events were lost; the event has no watch. */
        OVERFLOW(InotifyCalls.IN_Q_OVERFLOW),
        /** Reported: the watch ended (removed, its file deleted, or unmounted); its last event. */
        IGNORED(InotifyCalls.IN_IGNORED);

        private static final Kind[] ALL = values();
        private final int bit;

        Kind(int bit) {
            this.bit = bit;
        }

        private boolean watchable() {
            return ordinal() < UNMOUNT.ordinal();
        }

        private static Set<Kind> of(int mask) {
            EnumSet<Kind> kinds = EnumSet.noneOf(Kind.class);
            for (Kind k : ALL) if ((mask & k.bit) != 0) kinds.add(k);
            return Collections.unmodifiableSet(kinds);
        }
    }

    /** A watch: the kernel's watch descriptor and the path it was added for. */
    public record Watch(int descriptor, Path path) {}

    /**
     * One event.
     *
     * @param watch the watch it came from; null for {@link Kind#OVERFLOW}, which belongs to none
     * @param kinds what happened, never empty
     * @param directory whether the subject is a directory ({@code IN_ISDIR})
     * @param cookie pairs a {@link Kind#MOVED_FROM} with its {@link Kind#MOVED_TO}; 0 otherwise
     * @param name the file's name inside a watched directory (decoded as UTF-8); null when the
     * event is about the watched path itself
     */
    public record Event(Watch watch, Set<Kind> kinds, boolean directory, int cookie, String name) {}

    private final TypedFd owned;
    /** Guarded by this. Live watches by descriptor; a watch leaves at its IGNORED event. */
    private final Map<Integer, Watch> watches = new HashMap<>();
    /**
     * Guarded by this: the watches forgotten at the last overflow (the kernel had ended them), whose
     * events may still be queued: they still name those events, until their IGNORED or the next
     * overflow.
     */
    private Map<Integer, Watch> forgotten = new HashMap<>();
    private final MemorySegment buffer = MemorySegment.ofArray(new byte[BUFFER_SIZE]);

    private Inotify(int fd) {
        owned = new TypedFd("Inotify", fd);
    }

    /**
     * A new inotify instance without watches.
     *
     * @throws SyscallException if {@code inotify_init1} fails (EMFILE: the per-user limit of
     *     instances, {@code /proc/sys/fs/inotify/max_user_instances}, or of fds)
     */
    public static Inotify open() {
        int fd = InotifyCalls.init1(InotifyCalls.IN_NONBLOCK | InotifyCalls.IN_CLOEXEC, Native.threadErrno());
        if (fd < 0) throw new SyscallException("inotify_init1", -fd, null);
        return new Inotify(fd);
    }

    /**
     * Watches {@code path} (a file, or a directory and the files in it; symbolic links followed)
     * for {@code kinds}. Adding a path already watched (the same inode) replaces its kinds and
     * returns the same descriptor, in a {@link Watch} equal to the first (compare with {@code equals}).
     *
     * @throws IllegalArgumentException if {@code kinds} holds no kind to watch for (UNMOUNT,
     * OVERFLOW and IGNORED are always reported, and ignored here), or {@code path} is not of the
     * default file system
     * @throws IllegalStateException once closed
     * @throws SyscallException naming the path if {@code inotify_add_watch} fails (ENOENT,
     * EACCES, ENOSPC: the per-user limit of watches, {@code /proc/sys/fs/inotify/max_user_watches})
     */
    public synchronized Watch add(Path path, Set<Kind> kinds) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(kinds, "kinds");
        if (path.getFileSystem() != FileSystems.getDefault()) {
            throw new IllegalArgumentException(owned + ": " + path + " is not of the default file system");
        }
        int mask = 0;
        for (Kind k : kinds) {
            if (k.watchable()) mask |= k.bit; // the others are reported anyway: EnumSet.allOf(Kind.class) is fine
        }
        if (mask == 0) {
            throw new IllegalArgumentException(owned + ": no kinds to watch " + path + " for (UNMOUNT, OVERFLOW and IGNORED"
                    + " are always reported, not watched for)");
        }
        int fd = owned.fd(); // held for the call below: a close from another thread waits, the number stays this instance's
        int watched = mask;
        int wd = owned.held(f -> InotifyCalls.addWatch(f, path.toString(), watched, Native.threadErrno()));
        if (wd < 0) throw new SyscallException("inotify_add_watch", fd, -wd, path.toString());
        Watch known = watches.get(wd); // the same inode again, maybe by another path: the first watch
        if (known != null) return known;
        Watch watch = new Watch(wd, path);
        watches.put(wd, watch);
        return watch;
    }

    /**
     * Removes {@code watch}; an {@link Kind#IGNORED} event for it follows.
     *
     * @return true, or false if it is not live here: the kernel ended it (its IGNORED is queued or
     *     read), or this instance never had a watch with its descriptor
     * @throws IllegalArgumentException if this instance's live watch with its descriptor is on
     *     another path: another instance's watch (descriptors are per instance). A {@code Watch}
     *     is a value: one equal to this instance's (the same descriptor and path, from whichever
     *     instance) names that watch
     * @throws IllegalStateException once closed
     * @throws SyscallException if {@code inotify_rm_watch} fails otherwise
     */
    public synchronized boolean remove(Watch watch) {
        Objects.requireNonNull(watch, "watch");
        owned.fd(); // IllegalStateException once closed
        Watch live = watches.get(watch.descriptor());
        if (live == null) return false; // ended, its IGNORED read (every watch added here is known until then)
        if (!live.equals(watch)) {
            throw new IllegalArgumentException(owned + ": " + watch + " is not one of its watches (its watch "
                    + watch.descriptor() + " is on " + live.path() + "): was it added to another Inotify?");
        }
        int fd = owned.fd();
        int r = owned.held(f -> InotifyCalls.rmWatch(f, watch.descriptor(), Native.threadErrno()));
        if (r == -Errno.EINVAL) return false;
        if (r < 0) throw new SyscallException("inotify_rm_watch", fd, -r, "watch " + watch.descriptor());
        return true;
    }

    /**
     * The events queued since the last read, oldest first, without blocking: an empty list when
     * there are none (a wake-up may be spurious). One read takes up to 64 KiB of them; more wait
     * for the next read, and keep the fd readable.
     *
     * @throws IllegalStateException once closed
     * @throws SyscallException if {@code read} fails
     */
    public synchronized List<Event> read() {
        int n = owned.held(f -> Fds.read(f, buffer));
        if (n == Fds.WOULD_BLOCK) return List.of();
        List<Event> events = new ArrayList<>();
        boolean overflow = false;
        for (long at = 0; at + EVENT_SIZE <= n; at = InotifyCalls.next(buffer, at)) {
            int wd = InotifyCalls.wd(buffer, at);
            int mask = InotifyCalls.mask(buffer, at);
            overflow |= (mask & InotifyCalls.IN_Q_OVERFLOW) != 0;
            Watch watch = (mask & InotifyCalls.IN_IGNORED) != 0 ? watches.remove(wd) : watches.get(wd);
            if (watch == null && (mask & InotifyCalls.IN_Q_OVERFLOW) == 0) {
                watch = (mask & InotifyCalls.IN_IGNORED) != 0 ? forgotten.remove(wd) : forgotten.get(wd);
            }
            events.add(new Event(watch, Kind.of(mask), (mask & InotifyCalls.IN_ISDIR) != 0,
                    InotifyCalls.cookie(buffer, at), InotifyCalls.name(buffer, at)));
        }
        if (overflow) forgetEndedWatches();
        return events;
    }

    /**
     * After an overflow, whose lost events may include a watch's IGNORED: forgets the watches the
     * kernel no longer has (the {@code inotify wd:} lines of {@code /proc/self/fdinfo}, read holding
     * the fd), which would otherwise stay known for the instance's life. They still name their
     * events queued meanwhile ({@link #forgotten}: a watch that ended after the overflow was read).
     */
    private void forgetEndedWatches() {
        java.util.Set<Integer> live = new java.util.HashSet<>();
        int fd = owned.acquire();
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/fdinfo/" + fd))) {
                if (!line.startsWith("inotify wd:")) continue;
                int end = line.indexOf(' ', 11);
                live.add(Integer.parseInt(line.substring(11, end < 0 ? line.length() : end), 16));
            }
        } catch (java.io.IOException | RuntimeException unreadable) {
            return; // no /proc: the watches stay known, as before
        } finally {
            owned.release();
        }
        Map<Integer, Watch> gone = new HashMap<>();
        watches.entrySet().removeIf(e -> !live.contains(e.getKey()) && gone.put(e.getKey(), e.getValue()) == null);
        forgotten = gone;
    }

    /**
     * Calls {@code events} on {@code queue}'s thread with each non-empty {@link #read()} (one per
     * wake-up), until the returned handle is cancelled. One waiter throughout; an exception from
     * {@code events} propagates out of {@link IoQueue#run()} and the calls go on. Owner thread
     * only. Closing the inotify instance ends them.
     *
     * @throws IllegalStateException off the owner thread, after the queue's close, if the fd
     *     already has a READ waiter in {@code queue}, or once closed
     */
    public Cancellable onEvents(IoQueue queue, Consumer<List<Event>> events) {
        return onEvents(queue, events, null);
    }

    /**
     * {@link #onEvents(IoQueue, Consumer)}, and if the queue drops its waiter (the instance closed,
     * its fd unregistered, the queue closed), {@code ifDropped} runs on the owner thread.
     */
    public Cancellable onEvents(IoQueue queue, Consumer<List<Event>> events, Runnable ifDropped) {
        Objects.requireNonNull(events, "events");
        return TypedFd.started(new FdWatch(owned.watchQueue(queue), owned.owned(), true, ifDropped) {
            private List<Event> batch;

            @Override
            protected boolean take() {
                batch = read();
                return !batch.isEmpty();
            }

            @Override
            protected void deliver() {
                List<Event> b = batch;
                batch = null;
                events.accept(b);
            }
        });
    }

    /**
     * The {@link Handle} that owns the fd: to wait on it where the fd's close must end the wait
     * (Kotlin's {@code awaitReadable}, {@link IoQueue#await(Handle, ReadyEvent, ReadyCallback)}),
     * which a wait on the bare number would not. Closing the handle closes this. Thread-safe.
     */
    public Handle handle() {
        return owned.handle;
    }

    /**
     * The fd, to wait on with {@link IoQueue#await} or Kotlin's {@code awaitRead}; do not close it
     * directly.
     *
     * @throws IllegalStateException once closed
     */
    public int fd() {
        return owned.fd();
    }

    /** Whether {@link #close()} has not been called. */
    public boolean isOpen() {
        return owned.isOpen();
    }

    /**
     * Closes it, from any thread, as {@link Handle#close()} ({@link #onEvents} is dropped, on the
     * queue it waits on), which ends every {@link Watch}; later calls do nothing (or wait for the
     * first).
     *
     * @throws SyscallException if {@code close(2)} fails
     */
    @Override
    public void close() {
        owned.close();
    }

    @Override
    public String toString() {
        return owned.toString();
    }
}
