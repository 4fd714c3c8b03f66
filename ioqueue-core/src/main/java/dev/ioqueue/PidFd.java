package dev.ioqueue;

import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.io.FdWatch;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.PidFdCalls;
import dev.ioqueue.internal.os.PollCalls;
import java.time.Duration;
import java.util.Objects;

/**
 * A process as an fd that becomes readable when the process exits: pidfd_open(2) (Linux 5.3),
 * close-on-exec and, from Linux 5.10, non-blocking. It waits for a process's exit on a queue
 * without a thread blocked in {@code waitpid}, and never reaps: a child of this JVM is still
 * reaped by the JDK, whose {@link Process#exitValue()} gives the exit code.
 *
 * <pre>{@code
 * Process child = new ProcessBuilder("sh", "-c", "exit 3").start();
 * PidFd pidFd = PidFd.of(child);
 * pidFd.onExit(IoQueue.current(), () -> {
 *     System.out.println("exit code " + child.exitValue());
 *     pidFd.close();
 * });
 * }</pre>
 *
 * <p><b>Threading.</b> Thread-safe. Closing: {@link #close()} runs from any thread, as {@link
 * Handle#close()}: its watches and waits are dropped (each told once) on the queue that serves it,
 * and the fd is closed once, there. {@link #onExit} is owner-thread only, like {@link
 * IoQueue#await}.
 */
public final class PidFd implements AutoCloseable {
    /** How often {@link #onExit} looks again while the JDK has not yet recorded an exit. */
    private static final Duration RECORDED_RECHECK = Duration.ofMillis(1);

    private final TypedFd owned;
    private final long pid;
    /** The child this is of, when made by {@link #of(Process)}; else null. */
    private final Process process;

    private PidFd(int fd, long pid, Process process) {
        owned = new TypedFd("PidFd(pid " + pid + ")", fd);
        this.pid = pid;
        this.process = process;
    }

    /**
     * The process {@code pid}, any process this user may see. Its exit is seen, but not its exit
     * code. Beware that a pid names whatever process has it now: for a child of this JVM, use
     * {@link #of(Process)}.
     *
     * @throws IllegalArgumentException if {@code pid} is not positive or above 2^31-1
     * @throws SyscallException if {@code pidfd_open} fails (ESRCH: no such process; ENOSYS: Linux
     *     before 5.3; EMFILE)
     */
    public static PidFd open(long pid) {
        if (pid <= 0 || pid > Integer.MAX_VALUE) throw new IllegalArgumentException("pidfd_open: pid " + pid + " is out of range");
        int fd = openFd(pid);
        if (fd < 0) throw new SyscallException("pidfd_open", -fd, "pid " + pid);
        return new PidFd(fd, pid, null);
    }

    /**
     * The child {@code process}, started by this JVM. In {@link #onExit}'s action
     * {@code process.exitValue()} gives its exit code; once {@link #hasExited()}, as soon as the JDK
     * has recorded the exit (a moment later, see there). A child that has
     * already exited, and been reaped by the JDK (whether or not {@link Process#isAlive()} says so
     * yet), has no pid to open any more (it may name another process by now): its PidFd then
     * stands on an fd that is readable at once, so
     * {@link #hasExited()}, {@link #onExit} and Kotlin's {@code awaitExit} work the same.
     *
     * @throws SyscallException if {@code pidfd_open} fails otherwise (ENOSYS, EMFILE)
     */
    public static PidFd of(Process process) {
        Objects.requireNonNull(process, "process");
        long pid = process.pid();
        if (!process.isAlive()) return exited(process);
        int fd = openFd(pid);
        // The JDK reaps a child only after it exits, and records the exit a moment after the reap:
        // isAlive() false after the open means the fd may be of another process by now; ESRCH
        // means reaped, even while isAlive() still says true (outside round 11). Left open: a pid
        // reaped and taken by a new process inside that moment, before the open (a wrap of the
        // whole pid space within microseconds), would give that process's fd.
        if (fd == -Errno.ESRCH || !process.isAlive()) {
            if (fd >= 0) Fds.close(fd); // might be another process's by now
            return exited(process);
        }
        if (fd < 0) throw new SyscallException("pidfd_open", -fd, "pid " + pid);
        return new PidFd(fd, pid, process);
    }

    /** A reaped child's stand-in: an eventfd with a count of 1, readable until closed. */
    private static PidFd exited(Process process) {
        int flags = dev.ioqueue.internal.os.EventFdCalls.EFD_NONBLOCK | dev.ioqueue.internal.os.EventFdCalls.EFD_CLOEXEC;
        int fd = dev.ioqueue.internal.os.EventFdCalls.create(1, flags, Native.threadErrno());
        if (fd < 0) throw new SyscallException("eventfd", -fd, "a stand-in for exited pid " + process.pid());
        return new PidFd(fd, process.pid(), process);
    }

    /** pidfd_open with PIDFD_NONBLOCK, or without it on Linux before 5.10 (EINVAL). */
    private static int openFd(long pid) {
        int fd = PidFdCalls.open((int) pid, PidFdCalls.PIDFD_NONBLOCK, Native.threadErrno());
        if (fd == -Errno.EINVAL) fd = PidFdCalls.open((int) pid, 0, Native.threadErrno());
        return fd;
    }

    /** The process id. */
    public long pid() {
        return pid;
    }

    /**
     * Whether the process has exited, without blocking (a zero-timeout poll of the fd). It does not
     * reap: for a child of this JVM the JDK records the exit a moment later, and until then
     * {@link Process#isAlive()} may still say true.
     *
     * @throws IllegalStateException once closed
     * @throws SyscallException if {@code poll} fails
     */
    public boolean hasExited() {
        int fd = owned.acquire(); // a close from another thread waits: the number stays this pidfd's
        try {
            while (true) {
                int r = PollCalls.readyNow(fd, PollCalls.POLLIN, Native.threadErrno());
                if (r == -Errno.EINTR) continue;
                if (r < 0) throw new SyscallException("poll", fd, -r);
                if ((r & PollCalls.POLLNVAL) != 0) throw new SyscallException("poll", fd, Errno.EBADF, "closed behind " + this + "'s back");
                return (r & PollCalls.POLLIN) != 0;
            }
        } finally {
            owned.release();
        }
    }

    /**
     * Runs {@code action} once on {@code queue}'s thread when the process has exited, unless the
     * returned handle is cancelled first. For a PidFd {@linkplain #of(Process) of a Process}, the
     * action waits until the JDK has recorded the exit (polling every millisecond on the queue's
     * timers), so {@code process.exitValue()} works in it. Owner thread only. Closing the PidFd
     * before the exit drops the wait.
     *
     * @throws IllegalStateException off the owner thread, after the queue's close, if the fd
     *     already has a READ waiter in {@code queue}, or once closed
     */
    public Cancellable onExit(IoQueue queue, Runnable action) {
        return onExit(queue, action, null);
    }

    /**
     * {@link #onExit(IoQueue, Runnable)}, and if the queue drops the wait (the PidFd closed, its fd
     * unregistered, the queue closed), {@code ifDropped} runs on the owner thread instead.
     */
    public Cancellable onExit(IoQueue queue, Runnable action, Runnable ifDropped) {
        Objects.requireNonNull(action, "action");
        return TypedFd.started(new FdWatch(owned.watchQueue(queue), owned.owned(), false, ifDropped) {
            @Override
            protected boolean take() {
                return hasExited();
            }

            @Override
            protected void deliver() {
                if (process != null && process.isAlive()) {
                    queue.schedule(RECORDED_RECHECK, this::deliverIfOn, this::dropped);
                } else if (end()) {
                    action.run();
                }
            }

            private void deliverIfOn() {
                if (isOn()) deliver();
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
     * The fd, to wait on with {@link IoQueue#await} or Kotlin's {@code awaitRead} (readable once
     * the process has exited); do not close it directly.
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
     * Closes it, from any thread, as {@link Handle#close()} (a pending {@link #onExit} is dropped,
     * on the queue it waits on); later calls do nothing (or wait for the first). The process is not
     * affected.
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
