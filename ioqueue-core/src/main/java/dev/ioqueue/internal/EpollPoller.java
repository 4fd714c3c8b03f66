package dev.ioqueue.internal;

import dev.ioqueue.SyscallException;
import dev.ioqueue.internal.os.Epoll;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.EventFd;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.NativeMemory;
import dev.ioqueue.internal.os.Unistd;
import java.lang.foreign.MemorySegment;

/**
 * The readiness backend of one queue: an epoll instance, its wake-up eventfd and the native block
 * its calls use (event array, {@code epoll_ctl} scratch, timespec, errno capture). Verbs only, no
 * policy: add / modify / remove interest for an fd under a token, wait into a batch of (token,
 * epoll bits), wake from any thread, close.
 *
 * <p>Owner thread only, except {@link #wake()} (any thread, while the queue keeps the poller open)
 * and {@link #close()}, which is idempotent and safe from a {@link java.lang.ref.Cleaner}: it
 * references nothing of the queue, so a queue whose thread ended without closing it still gives
 * its fds and memory back once unreachable.
 */
public final class EpollPoller {
    static final int MAX_EVENTS = 1024;
    private static final long WAKE_TOKEN = -1L;
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

    /** @throws SyscallException if epoll or the eventfd cannot be made (EMFILE, ENOMEM) */
    public EpollPoller() {
        block = NativeMemory.allocate(BLOCK_SIZE);
        errno = block.asSlice(0, 8);
        ctlEvent = block.asSlice(8, 16);
        timespec = block.asSlice(24, Epoll.TIMESPEC_SIZE);
        wakeBuffer = block.asSlice(40, 8);
        events = block.asSlice(EVENTS_OFFSET, Epoll.EVENT_SIZE * MAX_EVENTS);
        int wake = -1;
        try {
            wake = EventFd.create(0, EventFd.EFD_NONBLOCK | EventFd.EFD_CLOEXEC, errno);
            if (wake < 0) throw new SyscallException("eventfd", -wake, "cannot create this thread's queue");
            epfd = newEpoll(wake);
        } catch (Throwable t) {
            if (wake >= 0) Unistd.close(wake, errno);
            NativeMemory.free(block);
            throw t;
        }
        wakeFd = wake;
        NativeAccounting.opened(BLOCK_SIZE);
    }

    private int newEpoll(int wake) {
        int ep = Epoll.create(errno);
        if (ep < 0) throw new SyscallException("epoll_create1", -ep, "cannot create an epoll instance for this thread's queue");
        int r = Epoll.ctl(ep, Epoll.EPOLL_CTL_ADD, wake, Epoll.EPOLLIN, WAKE_TOKEN, ctlEvent, errno);
        if (r < 0) {
            Unistd.close(ep, errno);
            throw new SyscallException("epoll_ctl(EPOLL_CTL_ADD)", wake, -r, "cannot register the wake-up eventfd");
        }
        return ep;
    }

    /** Whether {@code fd} is one of the poller's own fds, which no waiter may use. */
    boolean owns(int fd) {
        return fd == epfd || fd == wakeFd;
    }

    String describeOwn(int fd) {
        return fd == epfd ? "this queue's own epoll fd" : "this queue's own wake-up eventfd";
    }

    /** {@code EPOLL_CTL_ADD}; 0 or {@code -errno}. */
    int add(int fd, int interest, long token) {
        return Epoll.ctl(epfd, Epoll.EPOLL_CTL_ADD, fd, interest, token, ctlEvent, errno);
    }

    /** {@code EPOLL_CTL_MOD}; 0 or {@code -errno}. */
    int modify(int fd, int interest, long token) {
        return Epoll.ctl(epfd, Epoll.EPOLL_CTL_MOD, fd, interest, token, ctlEvent, errno);
    }

    /** {@code EPOLL_CTL_DEL}; 0 or {@code -errno}. */
    int remove(int fd) {
        return Epoll.ctl(epfd, Epoll.EPOLL_CTL_DEL, fd, 0, 0, ctlEvent, errno);
    }

    /**
     * Waits for events ({@code timeoutNanos < 0}: no limit, 0: not at all); EINTR resumes with the
     * time left. Returns how many (token, bits) pairs {@link #token}/{@link #events} now hold, the
     * wake-up eventfd's own already drained and left out.
     */
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

    /** The token of the i-th event, or -1 for the wake-up (whose counter this resets). */
    long token(int i) {
        long token = Epoll.data(events, i);
        if (token == WAKE_TOKEN) Unistd.read(wakeFd, wakeBuffer, 8, errno); // EAGAIN is fine
        return token;
    }

    /** The epoll bits of the i-th event. */
    int events(int i) {
        return Epoll.events(events, i);
    }

    /** Makes a sleeping {@link #await} return. Any thread, while the poller is open. */
    void wake() {
        EventFd.signal(wakeFd);
    }

    /**
     * Swaps in a fresh epoll instance holding only the wake-up, and closes the old one with every
     * registration in it (the way to drop a registration whose fd is gone). The caller adds back
     * what it keeps.
     */
    void reset() {
        int fresh = newEpoll(wakeFd);
        Unistd.close(epfd, errno);
        epfd = fresh;
    }

    /** Closes both fds and frees the native block; later calls do nothing. */
    public void close() {
        synchronized (this) { // the owner and a Cleaner never both get here, but be exact
            if (closed) return;
            closed = true;
        }
        MemorySegment e = Native.threadErrno();
        Unistd.close(wakeFd, e);
        Unistd.close(epfd, e);
        NativeMemory.free(block);
        NativeAccounting.closed(BLOCK_SIZE);
    }

    /** An {@code epoll_ctl} failure, with what its errno means for a waiter. */
    static SyscallException failure(String operation, int fd, int errno) {
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
