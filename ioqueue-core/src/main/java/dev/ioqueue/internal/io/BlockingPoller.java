package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.core.FailureLog;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.epoll.EpollPoller;
import dev.ioqueue.internal.os.Epoll;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.NativeMemory;
import dev.ioqueue.internal.os.Unistd;
import dev.ioqueue.internal.poll.Interest;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * One epoll instance of the pollers that serve threads blocked off any loop ({@link BlockingPollers}
 * starts them and says which serves which fd), and which threads wait on which fd in it. A waiting
 * thread arms the fd itself, {@code EPOLL_CTL_MOD} with {@code EPOLLONESHOT} (an
 * {@code EPOLL_CTL_ADD} the first time), and parks ({@link ParkedWait}); whoever drives the poller
 * ({@link #poll}) wakes every thread waiting on an fd it reports.
 *
 * <p><b>Per fd number</b>, a {@link Slot} under its own lock: its waiters and their interest. Each
 * waiter arms the fd for the interest of the whole list, even when a waiter before it did: the
 * number may name another file by now (a plain fd closed behind its waiter's back takes its epoll
 * entry with it), and an arm skipped on the strength of a stranded waiter would leave the next
 * file's waiters asleep for good. An fd's entry is armed only by a waiter, and disarmed by the
 * kernel when it fires, so a waiter that gives up leaves at most one report behind, which finds no
 * one or wakes a later waiter once; nothing spins. Numbers are not identities here: a plain fd
 * follows mio's rule (no close while a thread waits on it), and an owned fd cannot be closed while
 * a thread arms it ({@link OwnedFd#acquire}) and wakes its waiters when it closes ({@link #drop}).
 *
 * <p><b>Owned for the life of the process</b>, as the JDK's pollers are: the epoll fd; one malloc'd
 * block for the driver's event array and errno; and per page of 256 fd numbers one block holding
 * each number's {@code epoll_ctl} scratch (event and errno, used under that number's lock). None of
 * it is counted by {@code NativeAccounting}, which counts what closing queues gives back.
 *
 * <p>Threading: {@link #add}, {@link #withdraw} and {@link #drop} from any thread; {@link #poll} by
 * its one driver.
 */
final class BlockingPoller {
    private static final int MAX_EVENTS = 512;
    private static final int PAGE_BITS = 8;
    private static final int PAGE = 1 << PAGE_BITS;
    /** Per number in a page's block: the event struct (12 or 16 bytes), then the errno capture. */
    private static final long SCRATCH = 32;
    private static final long ERRNO_OFFSET = 16;
    private static final long EVENTS_OFFSET = 64;
    private static final VarHandle PAGES = MethodHandles.arrayElementVarHandle(Page[].class);

    private final String name;
    private final MemorySegment block;
    private final MemorySegment errno;
    private final MemorySegment events;
    private volatile int epfd;
    private volatile Page[] pages = new Page[16];

    /** Waiters of one fd number: a list linked through {@link ParkedWait#next}, and their interest. */
    static final class Slot {
        final MemorySegment event;
        final MemorySegment errno;
        /** Guarded by this: the waiters, newest first. */
        ParkedWait head;
        /** Guarded by this: the epoll interest of the waiters in the list; 0 once it fired or the list emptied. */
        int interest;
        /** Guarded by this: how many times the kernel reported this number (to see that nothing spins). */
        long reports;

        Slot(MemorySegment scratch) {
            this.event = scratch.asSlice(0, ERRNO_OFFSET);
            this.errno = scratch.asSlice(ERRNO_OFFSET, SCRATCH - ERRNO_OFFSET);
        }
    }

    /** {@link #PAGE} consecutive numbers' slots and their scratch block (never freed). */
    private record Page(Slot[] slots) {
        static Page allocate() {
            MemorySegment scratch = NativeMemory.allocate(SCRATCH * PAGE);
            Slot[] slots = new Slot[PAGE];
            for (int i = 0; i < PAGE; i++) slots[i] = new Slot(scratch.asSlice(i * SCRATCH, SCRATCH));
            return new Page(slots);
        }
    }

    BlockingPoller(String name) {
        this.name = name;
        block = NativeMemory.allocate(EVENTS_OFFSET + Epoll.EVENT_SIZE * MAX_EVENTS);
        errno = block.asSlice(0, 16);
        events = block.asSlice(EVENTS_OFFSET, Epoll.EVENT_SIZE * MAX_EVENTS);
        int ep = Epoll.create(errno);
        if (ep < 0) {
            NativeMemory.free(block);
            throw Errors.syscallNoFd("epoll_create1", -ep, "cannot create the " + name + " for blocked threads");
        }
        epfd = ep;
    }

    String name() {
        return name;
    }

    /** Its epoll fd (another one after {@link #recover}). */
    int epfd() {
        return epfd;
    }

    /** Gives its fd and memory back: only when the set it was made for could not be started. */
    void discard() {
        Unistd.close(epfd, errno);
        NativeMemory.free(block);
    }

    // ---- the waiting threads' side ----

    /**
     * Arms {@code w}'s fd for the list's interest and its own, and puts it in the list.
     *
     * @throws IOException if {@code epoll_ctl} refuses the fd (nothing is then left registered)
     */
    void add(ParkedWait w) throws IOException {
        Slot s = slot(w.fd);
        synchronized (s) {
            int want = s.interest | epollBit(w.kind);
            arm(s, w.fd, want);
            s.interest = want;
            w.next = s.head;
            s.head = w;
        }
    }

    /** {@code EPOLL_CTL_MOD} (the usual case: the entry stays after its oneshot fired), else ADD, else MOD again. */
    private void arm(Slot s, int fd, int interest) throws IOException {
        int ep = epfd;
        int events = interest | Epoll.EPOLLONESHOT;
        int r = Epoll.ctl(ep, Epoll.EPOLL_CTL_MOD, fd, events, fd, s.event, s.errno);
        if (r == 0) return;
        String op = "epoll_ctl(EPOLL_CTL_MOD)";
        if (r == -Errno.ENOENT) { // first wait on this file under this number
            r = Epoll.ctl(ep, Epoll.EPOLL_CTL_ADD, fd, events, fd, s.event, s.errno);
            op = "epoll_ctl(EPOLL_CTL_ADD)";
            if (r == -Errno.EEXIST) {
                r = Epoll.ctl(ep, Epoll.EPOLL_CTL_MOD, fd, events, fd, s.event, s.errno);
                op = "epoll_ctl(EPOLL_CTL_MOD)";
            }
        }
        if (r < 0) throw Errors.io(op, fd, -r, "cannot wait for it in the " + name + ": " + explain(-r));
    }

    /** Takes {@code w} out of its fd's list; false if it was no longer there (woken or dropped meanwhile). */
    boolean withdraw(ParkedWait w) {
        Slot s = slotIfAny(w.fd);
        if (s == null) return false;
        synchronized (s) {
            ParkedWait prev = null;
            for (ParkedWait x = s.head; x != null; prev = x, x = x.next) {
                if (x != w) continue;
                if (prev == null) s.head = x.next;
                else prev.next = x.next;
                x.next = null;
                if (s.head == null) s.interest = 0;
                return true;
            }
        }
        return false;
    }

    /** Wakes, as dropped, every thread waiting here on {@code o} (it is closing). */
    void drop(OwnedFd o) {
        drop(o.fd, o);
    }

    /**
     * Drops the waiters on the number {@code fd} that wait on {@code o}, or on the plain fd if
     * {@code o} is null (its close through the library); each is told once.
     */
    void drop(int fd, OwnedFd o) {
        Slot s = slotIfAny(fd);
        if (s == null) return;
        ParkedWait dropped = null;
        synchronized (s) {
            ParkedWait prev = null;
            for (ParkedWait x = s.head, next; x != null; x = next) {
                next = x.next;
                if (x.owned != o || x.fd != fd) {
                    prev = x;
                    continue;
                }
                if (prev == null) s.head = next;
                else prev.next = next;
                x.next = dropped;
                dropped = x;
            }
            if (s.head == null) s.interest = 0;
        }
        for (ParkedWait x = dropped, next; x != null; x = next) {
            next = x.next;
            x.next = null;
            x.drop();
        }
    }

    // ---- its driver ----

    /**
     * One {@code epoll_wait} ({@code timeoutNanos} as {@link Epoll#wait}: -1 blocks, 0 only looks)
     * and the wake-ups of what it reported: how many fds it reported. Its driver only.
     */
    int poll(long timeoutNanos) {
        int n = Epoll.wait(epfd, events, MAX_EVENTS, timeoutNanos, MemorySegment.NULL, errno);
        if (n == -Errno.EINTR) return 0;
        if (n < 0) {
            recover(-n);
            return 0;
        }
        for (int i = 0; i < n; i++) fire((int) Epoll.data(events, i), EpollPoller.fromEpoll(Epoll.events(events, i)));
        return n;
    }

    /** The kernel disarmed {@code fd} (oneshot): every thread in its list wakes, and tries again or returns. */
    private void fire(int fd, int ready) {
        Slot s = slotIfAny(fd);
        if (s == null) return;
        ParkedWait woken;
        synchronized (s) {
            woken = s.head;
            s.head = null;
            s.interest = 0;
            s.reports++;
        }
        for (ParkedWait x = woken, next; x != null; x = next) {
            next = x.next;
            x.next = null;
            x.ready(ready);
        }
    }

    /**
     * {@code epoll_wait} failed: its fd was closed behind the library's back (or worse). A fresh
     * epoll instance replaces it and every waiter wakes to try again (and arm there), so no thread
     * stays parked on a set that no longer reports; the failure is logged.
     */
    private void recover(int err) {
        FailureLog.LOGGER.log(Level.ERROR, "epoll_wait on the " + name + "'s epoll fd " + epfd + " failed: " + Errors.errnoName(err)
                + " (closed behind the library's back?); waking its waiters on a fresh epoll instance");
        int fresh;
        while ((fresh = Epoll.create(errno)) < 0) {
            FailureLog.LOGGER.log(Level.ERROR, "the " + name + " cannot create an epoll instance: " + Errors.errnoName(-fresh));
            java.util.concurrent.locks.LockSupport.parkNanos(100_000_000L);
        }
        epfd = fresh; // the old number is not ours any more: not closed here
        for (Page p : pages) {
            if (p == null) continue;
            for (Slot s : p.slots) {
                ParkedWait woken;
                synchronized (s) {
                    woken = s.head;
                    s.head = null;
                    s.interest = 0;
                }
                for (ParkedWait x = woken, next; x != null; x = next) {
                    next = x.next;
                    x.next = null;
                    x.ready(0); // no event: a retry
                }
            }
        }
    }

    // ---- slots ----

    private Slot slot(int fd) {
        Slot s = slotIfAny(fd);
        return s != null ? s : newPage(fd).slots[fd & (PAGE - 1)];
    }

    private Slot slotIfAny(int fd) {
        Page[] ps = pages;
        int i = fd >>> PAGE_BITS;
        if (i >= ps.length) return null;
        Page p = (Page) PAGES.getAcquire(ps, i);
        return p == null ? null : p.slots[fd & (PAGE - 1)];
    }

    private synchronized Page newPage(int fd) {
        int i = fd >>> PAGE_BITS;
        Page[] ps = pages;
        if (i >= ps.length) pages = ps = Arrays.copyOf(ps, Math.max(i + 1, ps.length * 2));
        Page p = ps[i];
        if (p == null) PAGES.setRelease(ps, i, p = Page.allocate());
        return p;
    }

    // ---- what tests and diagnostics see ----

    /** How many threads wait on {@code fd} here now. */
    int waiters(int fd) {
        Slot s = slotIfAny(fd);
        if (s == null) return 0;
        synchronized (s) {
            int n = 0;
            for (ParkedWait x = s.head; x != null; x = x.next) n++;
            return n;
        }
    }

    /** How many times the kernel reported {@code fd} here. */
    long reports(int fd) {
        Slot s = slotIfAny(fd);
        if (s == null) return 0;
        synchronized (s) {
            return s.reports;
        }
    }

    /** The epoll bit of a waiter kind. */
    private static int epollBit(int kind) {
        return switch (kind) {
            case Interest.READ -> Epoll.EPOLLIN;
            case Interest.WRITE -> Epoll.EPOLLOUT;
            default -> Epoll.EPOLLPRI;
        };
    }

    private static String explain(int errno) {
        return switch (errno) {
            case Errno.EPERM -> "epoll cannot wait on this kind of fd (a regular file or a directory?)";
            case Errno.EBADF -> "not an open fd";
            case Errno.ENOMEM, Errno.ENOSPC -> "kernel limit reached (memory, or fs.epoll.max_user_watches)";
            default -> Errors.errnoName(errno);
        };
    }

    @Override
    public String toString() {
        return name + "[epoll fd " + epfd + "]";
    }
}
