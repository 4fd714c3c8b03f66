package dev.ioqueue.internal.epoll;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.os.Epoll;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.EventFdCalls;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.NativeAccounting;
import dev.ioqueue.internal.os.NativeMemory;
import dev.ioqueue.internal.os.Unistd;
import dev.ioqueue.internal.poll.Poller;
import dev.ioqueue.internal.poll.QueueFds;
import java.lang.foreign.MemorySegment;

/**
 * The epoll {@link Poller}: an epoll instance (level-triggered), its wake-up eventfd, and one
 * malloc'd block for what its calls use (event array, {@code epoll_ctl} scratch, timespec, errno
 * capture). It translates the portable {@code Interest} bits to epoll's and back.
 *
 * <p>Threading as {@link Poller} says; {@link #close()} references nothing of the queue, so a queue
 * whose thread ended without closing it still gives its fds and memory back once unreachable.
 */
public final class EpollPoller implements Poller {
    static final int MAX_EVENTS = 1024;
    private static final long EVENTS_OFFSET = 64;
    private static final long BLOCK_SIZE = EVENTS_OFFSET + Epoll.EVENT_SIZE * MAX_EVENTS;

    private final MemorySegment block;
    private final MemorySegment errno;
    private final MemorySegment ctlEvent;
    private final MemorySegment timespec;
    private final MemorySegment wakeBuffer;
    private final MemorySegment events;
    private final int wakeFd;
    private int epfd;
    private boolean closed;
    /** The epoll fd was closed behind the poller's back: {@link #broken}. */
    private boolean lost;

    /** @throws RuntimeException (the API's syscall exception) if epoll or the eventfd cannot be made (EMFILE, ENOMEM) */
    public EpollPoller() {
        block = NativeMemory.allocate(BLOCK_SIZE);
        errno = block.asSlice(0, 8);
        ctlEvent = block.asSlice(8, 16);
        timespec = block.asSlice(24, Epoll.TIMESPEC_SIZE);
        wakeBuffer = block.asSlice(40, 8);
        events = block.asSlice(EVENTS_OFFSET, Epoll.EVENT_SIZE * MAX_EVENTS);
        int wake = -1;
        try {
            wake = EventFdCalls.create(0, EventFdCalls.EFD_NONBLOCK | EventFdCalls.EFD_CLOEXEC, errno);
            if (wake < 0) throw Errors.syscallNoFd("eventfd", -wake, "cannot create this thread's queue");
            epfd = newEpoll(wake);
        } catch (Throwable t) {
            if (wake >= 0) Unistd.close(wake, errno);
            NativeMemory.free(block);
            throw t;
        }
        wakeFd = wake;
        QueueFds.add(wake);
        QueueFds.add(epfd);
        NativeAccounting.opened(BLOCK_SIZE);
    }

    /** A new epoll instance holding the wake-up eventfd. */
    private int newEpoll(int wake) {
        int ep = Epoll.create(errno);
        if (ep < 0) throw Errors.syscallNoFd("epoll_create1", -ep, "cannot create an epoll instance for this thread's queue");
        int r = Epoll.ctl(ep, Epoll.EPOLL_CTL_ADD, wake, Epoll.EPOLLIN, WAKE, ctlEvent, errno);
        if (r < 0) {
            Unistd.close(ep, errno);
            throw Errors.syscall("epoll_ctl(EPOLL_CTL_ADD)", wake, -r, "cannot register the queue's wake-up eventfd");
        }
        return ep;
    }

    @Override
    public boolean broken() {
        return lost;
    }

    /** The epoll fd is no longer ours: never used or closed again (the number may name another file by now). Returns it. */
    private int lose() {
        int gone = epfd;
        lost = true;
        epfd = -1;
        QueueFds.remove(gone);
        return gone;
    }

    /**
     * Whether {@link #epfd} is still this poller's epoll instance: its {@code /proc/self/fdinfo}
     * lists the wake-up eventfd (an fd of ours, which no other instance registers). Where /proc
     * cannot be read, it is taken to be. Rare: only before a {@link #reset}.
     */
    private boolean stillOurs() {
        String info;
        try {
            info = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/fdinfo/" + epfd));
        } catch (java.io.IOException | RuntimeException cannotTell) {
            return !(cannotTell instanceof java.nio.file.NoSuchFileException);
        }
        for (String line : info.split("\n")) {
            if (!line.startsWith("tfd:")) continue;
            String[] fields = line.substring(4).trim().split("\\s+");
            if (fields[0].equals(Integer.toString(wakeFd))) return true;
        }
        return false;
    }

    /** The epoll fd (changes with {@link #reset}). */
    public int epfd() {
        return epfd;
    }

    @Override
    public boolean owns(int fd) {
        return fd == epfd || fd == wakeFd;
    }

    @Override
    public String describeOwn(int fd) {
        return fd == epfd ? "this queue's own epoll fd" : "this queue's own wake-up eventfd";
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
        if (n < 0) {
            if (n == -Errno.EBADF || n == -Errno.EINVAL) { // the number is no longer our epoll instance
                int gone = lose();
                throw Errors.syscall("epoll_wait", gone, -n, "the queue's epoll fd was closed behind its back: the queue can"
                        + " no longer wait, and must be closed");
            }
            throw Errors.syscall("epoll_wait", epfd, -n);
        }
        return n;
    }

    /** The token of the i-th event; reading the wake-up's also resets the eventfd's counter. */
    @Override
    public long token(int i) {
        long token = Epoll.data(events, i);
        if (token == WAKE) Unistd.read(wakeFd, wakeBuffer, 8, errno); // EAGAIN is fine
        return token;
    }

    @Override
    public int events(int i) {
        return fromEpoll(Epoll.events(events, i));
    }

    /** One eventfd write (critical downcall, no errno: EAGAIN means a wake-up is pending anyway). */
    @Override
    public void wake() {
        EventFdCalls.signal(wakeFd);
    }

    /** Swaps in a fresh epoll instance holding only the queue's own fds and closes the old one. */
    @Override
    public void reset() {
        // A report the queue does not know may also come from another epoll instance that took the
        // number after ours was closed behind our back: that one is not ours to close or refill.
        if (!stillOurs()) {
            int gone = lose();
            throw new IllegalStateException("the queue's epoll fd " + gone + " was closed behind its back, and its number now names"
                    + " another epoll instance: the queue can no longer wait, and must be closed");
        }
        int fresh = newEpoll(wakeFd);
        QueueFds.add(fresh);
        QueueFds.remove(epfd);
        Unistd.close(epfd, errno);
        epfd = fresh;
    }

    /** Closes the poller's two fds and frees the native block; later calls do nothing. */
    @Override
    public void close() {
        synchronized (this) { // the owner and a Cleaner never both get here, but be exact
            if (closed) return;
            closed = true;
        }
        MemorySegment e = Native.threadErrno();
        QueueFds.remove(wakeFd);
        Unistd.close(wakeFd, e);
        if (!lost) { // lost: the number is no longer ours to close
            QueueFds.remove(epfd);
            Unistd.close(epfd, e);
        }
        NativeMemory.free(block);
        NativeAccounting.closed(BLOCK_SIZE);
    }

    /** READ, WRITE, PRIORITY_READ bits to EPOLLIN, EPOLLOUT, EPOLLPRI (bits 1 and 2 swap places). */
    static int toEpoll(int interest) {
        return (interest & 1) | ((interest & 2) << 1) | ((interest & 4) >> 1);
    }

    /** EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP to the {@code Interest} event bits. */
    public static int fromEpoll(int events) {
        return (events & (Epoll.EPOLLIN | Epoll.EPOLLERR | Epoll.EPOLLHUP)) | ((events & 2) << 1) | ((events & 4) >> 1);
    }

    /** What an {@code epoll_ctl} errno means for a waiter. */
    @Override
    public String explain(int errno) {
        return switch (errno) {
            case Errno.EPERM -> "epoll cannot wait on this kind of fd (a regular file or a directory?)";
            case Errno.EBADF -> "not an open fd";
            case Errno.EINVAL -> "epoll refuses this fd (an epoll fd itself, or an invalid one)";
            case Errno.ENOMEM, Errno.ENOSPC -> "kernel limit reached (memory, or fs.epoll.max_user_watches)";
            case Errno.ELOOP -> "epoll fds nested too deep or in a cycle";
            default -> null;
        };
    }
}
