package dev.ioqueue.internal.io;

import dev.ioqueue.internal.core.FailureLog;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.poll.Interest;
import java.lang.System.Logger.Level;
import java.util.concurrent.locks.LockSupport;

/**
 * The process's blocking pollers, as the JDK's virtual-thread sockets have theirs
 * ({@code sun.nio.ch.Poller}, mode {@code VTHREAD_POLLERS}): read pollers and write pollers, each a
 * {@link BlockingPoller} (an epoll instance), an fd's waits going to the one its number picks, so a
 * socket read by one thread and written by another never shares an epoll entry. Each is driven by a
 * virtual thread ({@code ioqueue-read-poller-N}, {@code ioqueue-write-poller-N}) that looks without
 * blocking, wakes the threads of what is ready and yields, for as long as it finds something: under
 * load, waking a virtual thread is then a push to its own carrier's queue, with no thread switch and
 * no cross-thread wake-up. Once it finds nothing it waits, as any blocked thread does, for its own
 * epoll fd to become readable in the master poller, whose one daemon platform thread
 * ({@code ioqueue-master-poller}) blocks in {@code epoll_wait}.
 *
 * <p>Started together by the first blocking wait, and never stopped (their fds and memory are the
 * process's, as the JDK's are). A failure to start them (EMFILE) is thrown to that wait, with what
 * was made given back, and the next wait tries again.
 *
 * <p>Thread-safe.
 */
final class BlockingPollers {
    private static volatile BlockingPollers started;

    /**
     * What an owned fd's close tells, once the pollers started: its waiters in its read and write
     * pollers are dropped, and those on its bare number (an fd type's {@code fd()} waited on as a
     * plain fd) too.
     */
    private static final OwnedFd.BlockedThreads CLOSES = o -> {
        BlockingPollers p = started;
        if (p != null) {
            p.drop(o.fd, o);
            p.drop(o.fd, null);
        }
    };

    private final BlockingPoller master;
    private final BlockingPoller[] reads;
    private final BlockingPoller[] writes;

    private BlockingPollers(BlockingPoller master, BlockingPoller[] reads, BlockingPoller[] writes) {
        this.master = master;
        this.reads = reads;
        this.writes = writes;
    }

    private void drop(int fd, OwnedFd o) {
        reads[fd & (reads.length - 1)].drop(fd, o);
        writes[fd & (writes.length - 1)].drop(fd, o);
    }

    /**
     * The plain fd {@code fd} is about to be closed through the library ({@code Fds.close}): the
     * threads waiting on it in the pollers wake, as dropped. A wait that arms it after this is the
     * caller's race (mio's rule: a plain fd is closed once no one waits on it).
     */
    static void closingPlain(int fd) {
        BlockingPollers p = started;
        if (p != null) p.drop(fd, null);
    }

    /**
     * Refuses one of the pollers' own fds (their epoll instances), which a stale number of the
     * caller's may name now: a wait on it would register a poller inside another, a close would
     * take it from under the library.
     */
    static void refuseOwn(String call, int fd) {
        BlockingPollers p = started;
        if (p != null && p.owns(fd)) {
            throw new IllegalArgumentException(call + ": fd " + fd + " is one of ioqueue's blocking pollers' own fds (an epoll"
                    + " instance), which only the library may use: was the fd closed before this call?");
        }
    }

    private boolean owns(int fd) {
        if (master.epfd() == fd) return true;
        for (BlockingPoller p : reads) if (p.epfd() == fd) return true;
        for (BlockingPoller p : writes) if (p.epfd() == fd) return true;
        return false;
    }

    /** The poller for waits of {@code kind} on {@code fd} (READ and PRIORITY share the read pollers); starts them all first. */
    static BlockingPoller of(int kind, int fd) {
        BlockingPollers p = started;
        if (p == null) p = start();
        BlockingPoller[] set = kind == Interest.WRITE ? p.writes : p.reads;
        return set[fd & (set.length - 1)];
    }

    private static synchronized BlockingPollers start() {
        if (started != null) return started;
        int cpus = Runtime.getRuntime().availableProcessors();
        // As the JDK: a read poller per core (a power of two, at most 32), a write poller per four.
        BlockingPoller[] reads = new BlockingPoller[Math.min(Integer.highestOneBit(cpus), 32)];
        BlockingPoller[] writes = new BlockingPoller[Math.max(Integer.highestOneBit(cpus / 4), 1)];
        BlockingPoller master = null;
        int made = 0;
        try {
            master = new BlockingPoller("ioqueue-master-poller");
            for (; made < reads.length + writes.length; made++) {
                boolean read = made < reads.length;
                int i = read ? made : made - reads.length;
                BlockingPoller p = new BlockingPoller((read ? "ioqueue-read-poller-" : "ioqueue-write-poller-") + i);
                if (read) reads[i] = p;
                else writes[i] = p;
            }
        } catch (Throwable t) {
            if (master != null) master.discard();
            for (BlockingPoller p : reads) if (p != null) p.discard();
            for (BlockingPoller p : writes) if (p != null) p.discard();
            throw t;
        }
        BlockingPollers set = new BlockingPollers(master, reads, writes);
        BlockingPoller m = master;
        Thread.ofPlatform().name(master.name()).daemon(true).start(() -> {
            while (true) {
                try {
                    m.poll(-1);
                } catch (Throwable t) { // nothing in a poll throws but a VM error (OOM): report it, keep serving
                    FailureLog.LOGGER.log(Level.ERROR, m.name() + " failed; it keeps polling", t);
                }
            }
        });
        OwnedFd.closesTold(CLOSES); // before any thread can wait in them
        for (BlockingPoller p : reads) Thread.ofVirtual().name(p.name()).start(() -> set.drive(p));
        for (BlockingPoller p : writes) Thread.ofVirtual().name(p.name()).start(() -> set.drive(p));
        started = set;
        return set;
    }

    /**
     * A sub-poller's loop, on its virtual thread: look, wake, yield while there is something;
     * otherwise wait in the master until its epoll fd is readable.
     */
    private void drive(BlockingPoller p) {
        int found = 0;
        while (true) {
            try {
                if (found == 0) ParkedWait.await(master, p.epfd(), null, Interest.READ, -1);
                else Thread.yield();
                found = p.poll(0);
            } catch (Throwable t) { // ENOMEM arming its fd in the master: report, and try again in a while
                FailureLog.LOGGER.log(Level.ERROR, p + " cannot wait in the master poller; trying again in 100 ms", t);
                Thread.interrupted();
                LockSupport.parkNanos(100_000_000L);
                found = 1; // look first
            }
        }
    }

    // ---- what tests and diagnostics see ----

    /** How many threads wait on {@code fd} for {@code kind} now (0 before the pollers started). */
    static int waiters(int kind, int fd) {
        return started == null ? 0 : of(kind, fd).waiters(fd);
    }

    /** How many times the kernel reported {@code fd} for {@code kind}'s direction. */
    static long reports(int kind, int fd) {
        return started == null ? 0 : of(kind, fd).reports(fd);
    }
}
