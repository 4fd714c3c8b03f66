package dev.ioqueue;

import static dev.ioqueue.internal.os.Errno.EINTR;

import dev.ioqueue.internal.base.Failures;
import dev.ioqueue.internal.core.NonBlocking;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.io.BlockingCalls;
import dev.ioqueue.internal.io.BlockingWait;
import dev.ioqueue.internal.io.FdIo;
import dev.ioqueue.internal.os.EventFdCalls;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.SocketCalls;
import dev.ioqueue.internal.os.Unistd;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The fd helpers a program needs around a queue: non-blocking pipes, socket pairs and eventfds
 * (all close-on-exec), reads and writes that tell "would block" apart from end-of-file, blocking
 * waits for threads without a loop, and a close that unregisters first. Thread-safe; each call is
 * one syscall (EINTR retried). These are plain fd numbers, under mio's rule (unregister before
 * closing); take ownership with {@link Handle#of(int)} for an fd whose close must be exact from any
 * thread.
 *
 * <p>Reads return the byte count, {@link #EOF} or {@link #WOULD_BLOCK}; writes return the byte
 * count or {@link #WOULD_BLOCK}. Anything else fails with {@link SyscallException}.
 * {@code byte[]}, heap buffers and heap segments pass through a per-thread 64 KiB native buffer,
 * so one call moves at most 64 KiB of them (a short count, as {@code read(2)} may give anyway);
 * direct buffers and native segments are used in place. Every argument is checked before the
 * syscall: a read into a read-only buffer or segment consumes nothing.
 */
public final class Fds {
    /** A read found end-of-file. */
    public static final int EOF = -1;
    /** The fd is not ready (EAGAIN): wait for it with {@link IoQueue#await}. */
    public static final int WOULD_BLOCK = -2;

    private Fds() {}

    /** A non-blocking pipe. Closing it closes both ends. */
    public record Pipe(int readFd, int writeFd) implements AutoCloseable {
        @Override
        public void close() {
            closeBoth(readFd, writeFd);
        }
    }

    /** A connected pair of non-blocking AF_UNIX stream sockets. Closing it closes both. */
    public record SocketPair(int first, int second) implements AutoCloseable {
        @Override
        public void close() {
            closeBoth(first, second);
        }
    }

    /** {@code pipe2(O_NONBLOCK | O_CLOEXEC)}. */
    public static Pipe pipe() {
        long fds = Unistd.pipe2(Unistd.O_NONBLOCK | Unistd.O_CLOEXEC, Native.threadErrno());
        if (fds < 0) throw new SyscallException("pipe2", (int) -fds, null);
        return new Pipe(Native.first(fds), Native.second(fds));
    }

    /** {@code socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC)}. */
    public static SocketPair socketPair() {
        int type = SocketCalls.SOCK_STREAM | SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC;
        long fds = SocketCalls.socketpair(SocketCalls.AF_UNIX, type, Native.threadErrno());
        if (fds < 0) throw new SyscallException("socketpair", (int) -fds, null);
        return new SocketPair(Native.first(fds), Native.second(fds));
    }

    /**
     * {@code eventfd(initial, EFD_NONBLOCK | EFD_CLOEXEC)}: read and write it 8 bytes at a time.
     *
     * @throws IllegalArgumentException if {@code initial} is negative (the kernel would read it as
     *     an unsigned number above 2^31)
     */
    public static int eventfd(int initial) {
        if (initial < 0) throw new IllegalArgumentException("eventfd: initial value " + initial + " is negative");
        int fd = EventFdCalls.create(initial, EventFdCalls.EFD_NONBLOCK | EventFdCalls.EFD_CLOEXEC, Native.threadErrno());
        if (fd < 0) throw new SyscallException("eventfd", -fd, null);
        return fd;
    }

    // ---- blocking waits, for virtual threads and other threads without a loop ----

    /**
     * Blocks the calling thread until {@code fd} is ready for {@code event}, and returns what the
     * OS reported. The thread parks ({@link java.util.concurrent.locks.LockSupport}): a virtual
     * thread unmounts and pins no carrier; a platform thread simply blocks. The calling thread arms
     * the fd in the blocking poller of its direction (as {@link BlockingIo} says) and the poller's
     * thread unparks it; several threads may wait on one fd, and all wake. Under mio's rule: do not
     * close the fd while a thread waits on it (own it with a {@link Handle} for that); a close behind
     * the back leaves the waiter parked, never spinning. Thread-safe; not from inside a loop (it
     * would stop the loop).
     *
     * @throws java.io.InterruptedIOException if the thread is interrupted before or while it waits,
     *     as a JDK channel's blocking call is; the interrupt status stays set, the waiter is
     *     withdrawn and the fd stays open (it is yours)
     * @throws SyscallIOException if epoll refuses the fd, naming it and the errno (EBADF: not open;
     *     EPERM: a regular file; ENOMEM, ENOSPC: a kernel limit); nothing is left registered
     * @throws IllegalStateException from inside a loop (a callback, task or coroutine of a queue)
     */
    public static java.util.Set<Event> awaitReady(int fd, ReadyEvent event) throws java.io.IOException {
        return awaitReady(fd, event, null);
    }

    /**
     * {@link #awaitReady(int, ReadyEvent)} for at most {@code timeout} ({@code null}: no limit;
     * zero or negative: no wait, one look as {@code poll(2)} with a zero timeout): when it passes,
     * what a last look finds, often an empty set. A timeout consumes nothing: readiness that
     * arrives meanwhile is reported to the next wait. A look fails as a wait does (EBADF: not open,
     * as a {@link SyscallIOException}), but it is {@code poll(2)}'s: a regular file, which a wait
     * refuses (EPERM), looks ready.
     */
    public static java.util.Set<Event> awaitReady(int fd, ReadyEvent event, java.time.Duration timeout) throws java.io.IOException {
        Objects.requireNonNull(event, "event");
        BlockingIo.refuseInLoop("awaitReady", fd);
        return Event.setOf(awaitMask(fd, null, event, timeout));
    }

    /**
     * {@link #awaitReady(int, ReadyEvent, java.time.Duration)} on an owned fd, which cannot be
     * closed under the call; closing the handle meanwhile, from any thread, ends the wait with
     * {@link WaitDroppedException}. A handle bound to an io_uring loop waits in that loop (its ring
     * keeps what it read ahead, so only the loop knows whether it is readable).
     *
     * @throws java.nio.channels.ClosedChannelException if the handle is closed
     */
    public static java.util.Set<Event> awaitReady(Handle handle, ReadyEvent event, java.time.Duration timeout) throws java.io.IOException {
        Objects.requireNonNull(event, "event");
        OwnedFd o = handle.owned;
        BlockingIo.refuseInLoop("awaitReady", o.fd);
        if (!o.isOpen()) {
            var closed = new java.nio.channels.ClosedChannelException();
            closed.initCause(o.closedException());
            throw closed;
        }
        return Event.setOf(awaitMask(o.fd, o, event, timeout));
    }

    private static int awaitMask(int fd, OwnedFd o, ReadyEvent event, java.time.Duration timeout) throws java.io.IOException {
        if (timeout != null && (timeout.isZero() || timeout.isNegative())) return BlockingWait.lastLook(fd, o, event.kind);
        return BlockingWait.awaitReported(fd, o, event.kind, timeout == null ? -1 : Math.max(1, IoQueue.nanos(timeout)));
    }

    // ---- fds from elsewhere: a native library, /dev, a child process ----

    /**
     * Whether {@code fd} has {@code O_NONBLOCK}, which the I/O operations of {@link IoOperation}
     * require. Thread-safe.
     *
     * @throws IllegalArgumentException if {@code fd} is negative
     * @throws SyscallException if {@code fcntl} fails (EBADF: not open)
     */
    public static boolean isNonBlocking(int fd) {
        return (statusFlags(fd) & Unistd.O_NONBLOCK) != 0;
    }

    /**
     * Sets or clears {@code O_NONBLOCK} on {@code fd}: a file status flag, so it changes the open
     * file for every fd that shares it (a {@link #dup}, the same file in another process: a
     * terminal, a pipe inherited from a parent). Does nothing if it is already so. Thread-safe; made
     * blocking, the calling thread's queue checks its fds again before their next I/O operation
     * (another queue that uses the fd is not told: do it on that queue's thread).
     *
     * @throws IllegalArgumentException if {@code fd} is negative, or one of the calling thread's queue's own fds
     * @throws SyscallException if {@code fcntl} fails (EBADF: not open)
     */
    public static void setNonBlocking(int fd, boolean nonBlocking) {
        refuseOwn("setNonBlocking", fd); // a queue's own fds stay as the queue made them
        int flags = statusFlags(fd);
        int wanted = nonBlocking ? flags | Unistd.O_NONBLOCK : flags & ~Unistd.O_NONBLOCK;
        if (wanted != flags) {
            int r = Unistd.fcntl(fd, Unistd.F_SETFL, wanted, Native.threadErrno());
            if (r < 0) throw new SyscallException("fcntl(F_SETFL)", fd, -r);
        }
        if (!nonBlocking) { // it may share its open file (and so the flag) with fds checked before
            IoQueue q = IoQueue.currentIfAny();
            if (q != null && !q.isClosed()) q.core.forgetNonBlocking();
            NonBlocking.cleared();
        }
    }

    /**
     * Whether {@code fd} is closed when this process executes another program. Thread-safe.
     *
     * @throws IllegalArgumentException if {@code fd} is negative
     * @throws SyscallException if {@code fcntl} fails (EBADF: not open)
     */
    public static boolean isCloseOnExec(int fd) {
        checkFd("fcntl(F_GETFD)", fd);
        int r = Unistd.fcntl(fd, Unistd.F_GETFD, Native.threadErrno());
        if (r < 0) throw new SyscallException("fcntl(F_GETFD)", fd, -r);
        return (r & Unistd.FD_CLOEXEC) != 0;
    }

    /**
     * Sets or clears close-on-exec ({@code FD_CLOEXEC}) on this fd only. Every fd this library makes
     * has it; a foreign fd should too, unless a child process is meant to inherit it. Thread-safe.
     *
     * @throws IllegalArgumentException if {@code fd} is negative
     * @throws SyscallException if {@code fcntl} fails (EBADF: not open)
     */
    public static void setCloseOnExec(int fd, boolean closeOnExec) {
        checkFd("fcntl(F_SETFD)", fd);
        int r = Unistd.fcntl(fd, Unistd.F_SETFD, closeOnExec ? Unistd.FD_CLOEXEC : 0, Native.threadErrno());
        if (r < 0) throw new SyscallException("fcntl(F_SETFD)", fd, -r);
    }

    /**
     * A new fd for the same open file, close-on-exec ({@code F_DUPFD_CLOEXEC}): take one of an fd a
     * native library keeps owning, and close yours when done. The two share the file's status
     * flags ({@code O_NONBLOCK}) and its epoll registrations are per fd. Thread-safe.
     *
     * @throws IllegalArgumentException if {@code fd} is negative
     * @throws SyscallException if {@code fcntl} fails (EBADF: not open; EMFILE: no fd left)
     */
    public static int dup(int fd) {
        checkFd("fcntl(F_DUPFD_CLOEXEC)", fd);
        int r = Unistd.fcntl(fd, Unistd.F_DUPFD_CLOEXEC, 0, Native.threadErrno());
        if (r < 0) throw new SyscallException("fcntl(F_DUPFD_CLOEXEC)", fd, -r);
        return r;
    }

    private static int statusFlags(int fd) {
        checkFd("fcntl(F_GETFL)", fd);
        int flags = Unistd.fcntl(fd, Unistd.F_GETFL, Native.threadErrno());
        if (flags < 0) throw new SyscallException("fcntl(F_GETFL)", fd, -flags);
        return flags;
    }

    private static void checkFd(String call, int fd) {
        if (fd < 0) throw new IllegalArgumentException(call + ": fd " + fd + " is negative");
    }

    /**
     * Reads into {@code dst} (up to its size): the count, {@link #EOF} or {@link #WOULD_BLOCK}.
     * Native and heap segments both work (a heap one through the per-thread buffer, at most 64 KiB
     * a call).
     *
     * @throws IllegalArgumentException if {@code dst} is read-only (before any byte is consumed)
     * @throws IllegalStateException if {@code dst}'s arena is closed, or it belongs to another
     *     thread's confined arena
     */
    public static int read(int fd, MemorySegment dst) {
        return FdIo.read(fd, dst);
    }

    /**
     * Reads into {@code dst} from its position, advancing it.
     *
     * @throws java.nio.ReadOnlyBufferException if {@code dst} is read-only (before any byte is
     *     consumed)
     */
    public static int read(int fd, ByteBuffer dst) {
        return FdIo.read(fd, dst);
    }

    /** Reads into {@code dst[off, off + len)}. */
    public static int read(int fd, byte[] dst, int off, int len) {
        Objects.checkFromIndexSize(off, len, dst.length);
        return read(fd, MemorySegment.ofArray(dst).asSlice(off, len));
    }

    /**
     * Writes {@code src} (all of it, or what fits): the count or {@link #WOULD_BLOCK}. Native and
     * heap segments both work (a heap one through the per-thread buffer, at most 64 KiB a call).
     *
     * @throws IllegalStateException if {@code src}'s arena is closed, or it belongs to another
     *     thread's confined arena
     */
    public static int write(int fd, MemorySegment src) {
        return FdIo.write(fd, src);
    }

    /** Writes from {@code src}'s position, advancing it. */
    public static int write(int fd, ByteBuffer src) {
        return FdIo.write(fd, src);
    }

    /** Writes {@code src[off, off + len)}. */
    public static int write(int fd, byte[] src, int off, int len) {
        Objects.checkFromIndexSize(off, len, src.length);
        return write(fd, MemorySegment.ofArray(src).asSlice(off, len));
    }

    /**
     * Closes the plain fd {@code fd}, unregistering it from the calling thread's queue first (its
     * waiters there are told {@code onDropped}), and waking the threads blocked on it in
     * {@link BlockingIo} or {@link #awaitReady} (they throw {@link WaitDroppedException}): those
     * parked at that moment. A call between its syscall and its park then is not woken: it waits
     * on, and may read or write, whatever file the kernel gives the number next (mio's rule: close a
     * plain fd only once no call is under way on it; a {@link Handle} has no such window). Close an
     * fd through the queue that uses it, on its thread (mio's rule): another thread's queue (the
     * shared one of futures and Kotlin off a loop, too) is not told, and finds out only where the
     * kernel tells it. The fd is closed even if a dropped waiter's {@code onDropped} throws; that throwable
     * then propagates, with a failure of {@code close(2)} suppressed onto it. Nothing may wait on the
     * fd from those {@code onDropped}s, nor take it up again (an await, submit, persist, close or
     * {@link Handle#of(int)} of it there throws {@link IllegalStateException}): it would outlive the
     * number, or close whatever file takes it next. During the queue's own close, which tells every
     * waiter in turn, a waiter of an fd closed from an earlier one's {@code onDropped} is told later
     * in that close, after {@code close} returned.
     *
     * @throws IllegalArgumentException if {@code fd} is negative, one of the calling thread's
     *     queue's own fds (close the queue instead), or the fd of a {@link Handle} bound to that
     *     queue (close the handle instead)
     * @throws SyscallException if {@code close(2)} fails (EBADF: not open). EINTR is not an error:
     *     Linux has released the fd.
     */
    public static void close(int fd) {
        if (fd < 0) throw new IllegalArgumentException("close: fd " + fd + " is negative");
        refuseOwn("close", fd);
        IoQueue q = IoQueue.currentIfAny();
        Throwable failure = null;
        if (q != null && !q.isClosed()) {
            if (q.core.hasOwned(fd)) {
                throw new IllegalArgumentException("close: fd " + fd + " belongs to a Handle bound to the queue of thread "
                        + q.owner().getName() + ": close the Handle instead");
            }
            q.core.refuseClosing("close", fd); // from a waiter's onDropped inside this fd's own close: it would close the number twice
            try {
                q.core.releaseBeforeClose(fd);
            } catch (Throwable t) {
                failure = t;
            }
        }
        BlockingCalls.closingPlain(fd); // before the number can be reused: threads blocked on it in BlockingIo wake
        int r = Unistd.close(fd, Native.threadErrno());
        NonBlocking.closed(fd, r); // after the close: a verdict on the number taken before it, on any thread, goes
        if (r < 0 && r != -EINTR) failure = Failures.add(failure, new SyscallException("close", fd, -r));
        Failures.rethrow(failure);
    }

    /**
     * Refuses one of a queue's own fds (the calling thread's, or any other open queue's: the shared
     * queue's, a group loop's), or of the blocking pollers', which only the library may use or close.
     */
    static void refuseOwn(String call, int fd) {
        IoQueue q = IoQueue.currentIfAny();
        if (q != null && !q.isClosed() && q.core.ownsFd(fd)) {
            throw new IllegalArgumentException(call + ": fd " + fd + " is one of the queue's own fds (thread "
                    + q.owner().getName() + "), which only the queue may use or close");
        }
        BlockingCalls.refuseOwn(call, fd);
    }

    private static void closeBoth(int a, int b) {
        Throwable failure = null;
        try {
            close(a);
        } catch (Throwable t) {
            failure = t;
        }
        try {
            close(b);
        } catch (Throwable t) {
            failure = Failures.add(failure, t);
        }
        Failures.rethrow(failure);
    }
}
