package dev.ioqueue;

import dev.ioqueue.internal.core.OwnedFd;

/**
 * Owns one fd: bound to one queue, which runs its waits, its operations and its close; closed
 * exactly once. The queue is the first that waits on it or does I/O with it
 * ({@link IoQueue#await(Handle, ReadyEvent, ReadyCallback)},
 * {@link IoQueue#submit(Handle, IoOperation)}, a Kotlin suspend call), or the one named by
 * {@link #of(int, IoQueue)}; {@link IoQueue#close()} closes the handles bound to it. A blocking call
 * ({@link BlockingIo}, {@link Fds#awaitReady(Handle, ReadyEvent, java.time.Duration)}) binds it to
 * no queue: it makes its syscalls on the calling thread and waits in the blocking pollers.
 *
 * <p><b>Threading.</b> Thread-safe. {@link #close()} from any thread withdraws its waits and
 * operations on its queue (each told {@code dropped} once, on its queue's thread; a queue whose
 * thread ended without closing it tells its waiters and operations nothing, and fails its futures,
 * see threading.md; a thread blocked on it gets
 * {@link WaitDroppedException}), waits until the kernel has let go of every io_uring request on
 * it, then closes the fd; until then its number cannot name another file. On io_uring, the bytes
 * the ring read ahead for it belong to it, so every library read of it sees them once and in order.
 *
 * <p>Do not close {@link #fd()} yourself: that is a close behind its queue's back.
 */
public final class Handle implements AutoCloseable {
    final OwnedFd owned;

    private Handle(OwnedFd owned) {
        this.owned = owned;
    }

    /**
     * Takes ownership of {@code fd}, unbound: the first queue that uses it gets it. The caller
     * gives the fd up: it must not close it, nor hand it to {@code of} again while this handle is
     * open (two handles of one number are two closers, and the second close may close a file that
     * took the number since; the library cannot tell a second owner from a new file of the same
     * number, so it does not refuse one, as {@code FileDescriptor} and Rust's {@code OwnedFd} do not).
     *
     * @throws IllegalArgumentException if {@code fd} is negative, or one of the calling thread's
     *     queue's own fds (which only the queue may close)
     * @throws IllegalStateException if the calling thread is closing {@code fd} ({@link Fds#close}
     *     telling its waiters): the handle would outlive the number
     */
    public static Handle of(int fd) {
        Fds.refuseOwn("Handle.of", fd);
        IoQueue q = IoQueue.currentIfAny();
        if (q != null && !q.isClosed()) q.core.refuseClosing("Handle.of", fd); // from a waiter's onDropped inside Fds.close(fd)
        return new Handle(new OwnedFd(fd, "Handle"));
    }

    /**
     * Takes ownership of {@code fd}, bound to {@code queue}. Thread-safe.
     *
     * @throws IllegalArgumentException if {@code fd} is negative, or one of {@code queue}'s own fds
     * @throws IllegalStateException if {@code queue} is closed, or its thread ended without closing
     *     it and the watchdog saw it (the fd is then not taken: close it yourself)
     */
    public static Handle of(int fd, IoQueue queue) {
        Handle h = of(fd);
        queue.core.bind(h.owned);
        return h;
    }

    /**
     * Binds this handle to {@code queue} unless it is bound already, from any thread: hand an
     * accepted connection to the loop that will serve it, so that loop's close closes it even
     * before it first uses it. Returns the queue it is bound to ({@code queue}, or the one it was
     * bound to before).
     *
     * @throws IllegalStateException if the handle is closed, or {@code queue} is closed or its thread ended (the handle
     *     is then still yours, unbound: close it)
     * @throws IllegalArgumentException if its fd is one of {@code queue}'s own
     */
    public IoQueue bind(IoQueue queue) {
        var core = queue.core.bind(owned);
        return core == queue.core ? queue : (IoQueue) core.facade();
    }

    /** A handle of the API's own fd types ({@code TimerFd}, {@code EventFd}...), which name themselves in messages. */
    static Handle owning(int fd, String kind) {
        return new Handle(new OwnedFd(fd, kind));
    }

    /**
     * The fd, for syscalls of your own ({@link Fds#read}, a native library): make them on its
     * queue's thread, or while nothing can close it.
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
     * A stage that completes once the fd is closed, whoever closed it: {@link #close()} from any
     * thread, the close of the queue it is bound to (a group's shutdown), or the end of that queue's
     * thread; exceptionally with {@code close(2)}'s failure (EBADF: closed behind the handle's back).
     * As Netty's {@code closeFuture()}: code that keeps state per connection learns of its end.
     * Thread-safe; its dependent stages run on the thread that closed the fd (at once on the caller's,
     * if already closed), so they should be short and must not block.
     */
    public java.util.concurrent.CompletionStage<Void> whenClosed() {
        return owned.whenClosed();
    }

    /** The queue it is bound to, or null while unbound (or once that queue was collected). */
    public IoQueue queue() {
        var core = owned.queue();
        return core == null ? null : (IoQueue) core.facade();
    }

    /**
     * Closes it, from any thread; later calls do nothing (or wait for the first). From a thread
     * without a running loop, returns once the fd is closed; from inside a loop (its own or
     * another's), the close runs at once on its own queue's thread and is posted from another,
     * so a loop never waits for another loop. The close of a bound handle is carried out by its
     * queue's thread: from another thread without a loop it returns once that thread has run it,
     * so its queue must be running (a group's loops always are); a queue's thread that waits for
     * the closing thread instead of running its loop waits for ever.
     *
     * @throws SyscallException if {@code close(2)} fails (EBADF: someone closed the fd behind its
     *     back), from the call that began the close if the close was done when it returns (it ran
     *     in place, or the call waited for it); a close posted from a loop to another queue's
     *     thread reports it through {@link #whenClosed()} only, and a later call throws nothing
     */
    @Override
    public void close() {
        IoQueue caller = IoQueue.currentIfAny();
        boolean callerOpen = caller != null && !caller.isClosed();
        boolean inLoop = callerOpen && caller.core.ownership.isLooping();
        var home = owned.queue();
        boolean onHome = home != null && home.ownership.isOwner(); // there it runs in place: nothing to wait for
        Throwable failure = null;
        if (home == null && callerOpen && owned.isOpen()) {
            // Unbound: no queue owns its waits, but this thread's queue may wait on its number.
            try {
                caller.core.releaseBeforeClose(owned.fd);
            } catch (Throwable t) {
                failure = t;
            }
        }
        try {
            owned.close(!inLoop && !onHome);
        } catch (Throwable t) {
            failure = dev.ioqueue.internal.base.Failures.add(failure, t);
        }
        dev.ioqueue.internal.base.Failures.rethrow(failure);
    }

    @Override
    public String toString() {
        return owned.toString();
    }
}
