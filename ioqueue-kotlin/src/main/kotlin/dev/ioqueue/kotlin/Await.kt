package dev.ioqueue.kotlin

import dev.ioqueue.Event
import dev.ioqueue.Handle
import dev.ioqueue.ReadyEvent

/**
 * Suspends until [fd] is ready for [event], and returns what the OS reported (ERROR and HANGUP
 * wake the waiter too). The core's rules hold: one waiter per (fd, event) per thread, and a
 * wake-up may be spurious, so retry the syscall and await again on EAGAIN.
 *
 * Threading: from any coroutine.
 * - On a coroutine running on an [IoQueueDispatcher], the waiter lives in that thread's queue and
 *   the loop resumes the coroutine in place: no dispatch, no thread hop, and nothing allocated per
 *   suspension once the coroutine has waited once.
 * - On any other dispatcher, the waiter lives in the shared background queue (a daemon thread named
 *   `ioqueue-background`) and the coroutine resumes on its own dispatcher. There mio's rule holds:
 *   close the fd only once the await has returned (an owned fd, [Handle.awaitReady], has no such rule).
 *
 * Cancellation removes exactly this waiter and consumes nothing; the coroutine is never resumed
 * twice, and the fd can be awaited again at once: by the canceller on the loop's own thread (its queue open), as
 * soon as `cancel()` returned (the cancelled coroutine resumes in a later task); from another
 * thread, once the cancelled coroutine has ended (`join`), as its cancellation reaches it there.
 *
 * If the fd is unregistered, or closed through `Fds.close` on the queue's thread, or its queue is
 * closed, while the coroutine waits, the await fails with [AwaitClosedException] instead of waiting
 * forever (as a JDK channel read fails with `AsynchronousCloseException`).
 *
 * @throws IllegalArgumentException for a negative fd
 * @throws IllegalStateException if another waiter already waits on [fd] for [event] in that queue
 * @throws dev.ioqueue.SyscallException if epoll refuses the fd (EBADF, EPERM...)
 */
public suspend fun awaitReady(fd: Int, event: ReadyEvent): Set<Event> {
    requireFd(fd)
    return perform(null, fd, AWAIT, null, 0, 0, event)
}

/** [awaitReady] for [ReadyEvent.READ]. */
public suspend fun awaitRead(fd: Int): Set<Event> = awaitReady(fd, ReadyEvent.READ)

/** [awaitReady] for [ReadyEvent.WRITE]. */
public suspend fun awaitWrite(fd: Int): Set<Event> = awaitReady(fd, ReadyEvent.WRITE)

/** [awaitReady] for [ReadyEvent.PRIORITY_READ] (e.g. TCP urgent data). */
public suspend fun awaitPriorityRead(fd: Int): Set<Event> = awaitReady(fd, ReadyEvent.PRIORITY_READ)

/**
 * Suspends until this owned fd is ready for [event], and returns what the OS reported. The wait
 * lives in the handle's queue: on a coroutine of that loop (or of any loop, for a handle not yet
 * bound, which that loop then owns) in place; from anywhere else through a future of that queue
 * (the shared background queue for an unbound handle, which then owns it). Thread-safe.
 * Cancellation withdraws the wait and consumes nothing; closing the handle meanwhile ends it with
 * [AwaitClosedException].
 *
 * @throws java.nio.channels.ClosedChannelException if the handle is closed
 */
public suspend fun Handle.awaitReady(event: ReadyEvent): Set<Event> {
    return perform(this, openFd(this), AWAIT, null, 0, 0, event)
}

/** [Handle.awaitReady] for [ReadyEvent.READ]. */
public suspend fun Handle.awaitReadable(): Set<Event> = awaitReady(ReadyEvent.READ)

/** [Handle.awaitReady] for [ReadyEvent.WRITE]. */
public suspend fun Handle.awaitWritable(): Set<Event> = awaitReady(ReadyEvent.WRITE)

/** [Handle.awaitReady] for [ReadyEvent.PRIORITY_READ] (e.g. TCP urgent data). */
public suspend fun Handle.awaitPriorityReadable(): Set<Event> = awaitReady(ReadyEvent.PRIORITY_READ)
