package dev.ioqueue.internal;

import dev.ioqueue.SyscallException;
import dev.ioqueue.internal.os.Epoll;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.EventFd;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.NativeMemory;
import dev.ioqueue.internal.os.TimerFdCalls;
import dev.ioqueue.internal.os.Unistd;
import java.lang.foreign.MemorySegment;

/**
 * The epoll {@link Poller}: an epoll instance (level-triggered), its wake-up eventfd, and one
 * malloc'd block for what its calls use (event array, {@code epoll_ctl} scratch, timespec, errno
 * capture). It translates the portable {@link Interest} bits to epoll's and back.
 *
 * <p>Threading as {@link Poller} says; {@link #close()} references nothing of the queue, so a queue
 * whose thread ended without closing it still gives its fds and memory back once unreachable.
 */
public final class EpollPoller implements Poller {
    static final int MAX_EVENTS = 1024;
    private static final long EVENTS_OFFSET = 96;
    private static final long BLOCK_SIZE = EVENTS_OFFSET + Epoll.EVENT_SIZE * MAX_EVENTS;

    private final MemorySegment block;
    private final MemorySegment errno;
    private final MemorySegment ctlEvent;
    private final MemorySegment timespec;
    private final MemorySegment wakeBuffer;
    private final MemorySegment itimerspec;
    private final MemorySegment events;
    private final int wakeFd;
    private final int timerFd;
    private int epfd;
    private boolean closed;

    /** @throws SyscallException if epoll or the eventfd cannot be made (EMFILE, ENOMEM) */
    public EpollPoller() {
        block = NativeMemory.allocate(BLOCK_SIZE);
        errno = block.asSlice(0, 8);
        ctlEvent = block.asSlice(8, 16);
        timespec = block.asSlice(24, Epoll.TIMESPEC_SIZE);
        wakeBuffer = block.asSlice(40, 8);
        itimerspec = block.asSlice(48, TimerFdCalls.ITIMERSPEC_SIZE);
        events = block.asSlice(EVENTS_OFFSET, Epoll.EVENT_SIZE * MAX_EVENTS);
        int wake = -1;
        int timer = -1;
        try {
            wake = EventFd.create(0, EventFd.EFD_NONBLOCK | EventFd.EFD_CLOEXEC, errno);
            if (wake < 0) throw new SyscallException("eventfd", -wake, "cannot create this thread's queue");
            timer = TimerFdCalls.create(TimerFdCalls.TFD_NONBLOCK | TimerFdCalls.TFD_CLOEXEC, errno);
            if (timer < 0) throw new SyscallException("timerfd_create", -timer, "cannot create this thread's queue");
            epfd = newEpoll(wake, timer);
        } catch (Throwable t) {
            if (timer >= 0) Unistd.close(timer, errno);
            if (wake >= 0) Unistd.close(wake, errno);
            NativeMemory.free(block);
            throw t;
        }
        wakeFd = wake;
        timerFd = timer;
        OwnFds.add(wakeFd, "the wake-up eventfd of the queue of thread " + Thread.currentThread().getName());
        OwnFds.add(timerFd, "the timerfd of the queue of thread " + Thread.currentThread().getName());
        OwnFds.add(epfd, "the epoll fd of the queue of thread " + Thread.currentThread().getName());
        NativeAccounting.opened(BLOCK_SIZE);
    }

    /** A new epoll instance holding the wake-up eventfd and the timerfd. */
    private int newEpoll(int wake, int timer) {
        int ep = Epoll.create(errno);
        if (ep < 0) throw new SyscallException("epoll_create1", -ep, "cannot create an epoll instance for this thread's queue");
        int r = Epoll.ctl(ep, Epoll.EPOLL_CTL_ADD, wake, Epoll.EPOLLIN, WAKE, ctlEvent, errno);
        int failed = wake;
        if (r >= 0) {
            r = Epoll.ctl(ep, Epoll.EPOLL_CTL_ADD, timer, Epoll.EPOLLIN, TIMER, ctlEvent, errno);
            failed = timer;
        }
        if (r < 0) {
            Unistd.close(ep, errno);
            throw new SyscallException("epoll_ctl(EPOLL_CTL_ADD)", failed, -r, "cannot register the queue's own fds");
        }
        return ep;
    }

    /** The epoll fd (changes with {@link #reset}). */
    int epfd() {
        return epfd;
    }

    @Override
    public boolean owns(int fd) {
        return fd == epfd || fd == wakeFd || fd == timerFd;
    }

    @Override
    public String describeOwn(int fd) {
        return fd == epfd ? "this queue's own epoll fd"
                : fd == wakeFd ? "this queue's own wake-up eventfd" : "this queue's own timerfd";
    }

    /** {@code EPOLL_CTL_ADD}. */
    @Override
    public int add(int fd, int interest, long token) {
        return Epoll.ctl(epfd, Epoll.EPOLL_CTL_ADD, fd, toEpoll(interest), token, ctlEvent, errno);
    }

    /** {@code EPOLL_CTL_MOD}. */
    @Override
    public int modify(int fd, int interest, long token) {
        return Epoll.ctl(epfd, Epoll.EPOLL_CTL_MOD, fd, toEpoll(interest), token, ctlEvent, errno);
    }

    /** {@code EPOLL_CTL_DEL}. */
    @Override
    public int remove(int fd) {
        return Epoll.ctl(epfd, Epoll.EPOLL_CTL_DEL, fd, 0, 0, ctlEvent, errno);
    }

    /** {@code epoll_pwait2} (or {@code epoll_wait}, rounded up to the millisecond). */
    @Override
    public int await(long timeoutNanos) {
        long deadline = timeoutNanos > 0 ? System.nanoTime() + timeoutNanos : 0;
        int n;
        while (true) {
            n = Epoll.wait(epfd, events, MAX_EVENTS, timeoutNanos, timespec, errno);
            if (n != -Errno.EINTR) break;
            if (timeoutNanos > 0 && (timeoutNanos = deadline - System.nanoTime()) <= 0) return 0;
        }
        if (n < 0) throw new SyscallException("epoll_wait", epfd, -n);
        return n;
    }

    /** The token of the i-th event; reading the wake-up's also resets the eventfd's counter. */
    @Override
    public long token(int i) {
        long token = Epoll.data(events, i);
        if (token == WAKE) Unistd.read(wakeFd, wakeBuffer, 8, errno); // EAGAIN is fine
        else if (token == TIMER) Unistd.read(timerFd, wakeBuffer, 8, errno);
        return token;
    }

    @Override
    public int events(int i) {
        return fromEpoll(Epoll.events(events, i));
    }

    /** One eventfd write (critical downcall, no errno: EAGAIN means a wake-up is pending anyway). */
    @Override
    public void wake() {
        EventFd.signal(wakeFd);
    }

    /** One {@code timerfd_settime}, absolute on CLOCK_MONOTONIC (the clock of nanoTime). */
    @Override
    public void wakeAt(long deadlineNanos) {
        int r = TimerFdCalls.setAbsolute(timerFd, deadlineNanos, itimerspec, errno);
        if (r < 0) throw new SyscallException("timerfd_settime", timerFd, -r);
    }

    /** Swaps in a fresh epoll instance holding only the queue's own fds and closes the old one. */
    @Override
    public void reset() {
        int fresh = newEpoll(wakeFd, timerFd);
        OwnFds.add(fresh, "the epoll fd of the queue of thread " + Thread.currentThread().getName());
        OwnFds.remove(epfd);
        Unistd.close(epfd, errno);
        epfd = fresh;
    }

    @Override
    public boolean performsIo() {
        return false;
    }

    /** Closes the poller's three fds and frees the native block; later calls do nothing. */
    @Override
    public void close() {
        synchronized (this) { // the owner and a Cleaner never both get here, but be exact
            if (closed) return;
            closed = true;
        }
        MemorySegment e = Native.threadErrno();
        OwnFds.remove(wakeFd);
        OwnFds.remove(timerFd);
        OwnFds.remove(epfd);
        Unistd.close(wakeFd, e);
        Unistd.close(timerFd, e);
        Unistd.close(epfd, e);
        NativeMemory.free(block);
        NativeAccounting.closed(BLOCK_SIZE);
    }

    /** READ, WRITE, PRIORITY_READ bits to EPOLLIN, EPOLLOUT, EPOLLPRI (bits 1 and 2 swap places). */
    static int toEpoll(int interest) {
        return (interest & 1) | ((interest & 2) << 1) | ((interest & 4) >> 1);
    }

    /** EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP to the {@link Interest} event bits. */
    static int fromEpoll(int events) {
        return (events & (Epoll.EPOLLIN | Epoll.EPOLLERR | Epoll.EPOLLHUP)) | ((events & 2) << 1) | ((events & 4) >> 1);
    }

    /** An {@code epoll_ctl} failure, with what its errno means for a waiter. */
    @Override
    public SyscallException failure(int verb, int fd, int errno) {
        String operation = switch (verb) {
            case ADD -> "epoll_ctl(EPOLL_CTL_ADD)";
            case MODIFY -> "epoll_ctl(EPOLL_CTL_MOD)";
            default -> "epoll_ctl(EPOLL_CTL_DEL)";
        };
        String detail = switch (errno) {
            case Errno.EPERM -> "epoll cannot wait on this kind of fd (a regular file or a directory?)";
            case Errno.EBADF -> "not an open fd";
            case Errno.EINVAL -> "epoll refuses this fd (an epoll fd itself, or an invalid one)";
            case Errno.ENOMEM, Errno.ENOSPC -> "kernel limit reached (memory, or fs.epoll.max_user_watches)";
            case Errno.ELOOP -> "epoll fds nested too deep or in a cycle";
            default -> null;
        };
        return new SyscallException(operation, fd, errno, detail);
    }
}
