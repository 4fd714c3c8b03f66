package dev.ioqueue.kotlin

import dev.ioqueue.Event
import dev.ioqueue.Handle
import dev.ioqueue.IoQueue
import dev.ioqueue.ReadyCallback
import dev.ioqueue.ReadyEvent
import dev.ioqueue.WaitDroppedException
import kotlin.coroutines.ContinuationInterceptor
import kotlin.coroutines.resumeWithException
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.future.await
import kotlinx.coroutines.suspendCancellableCoroutine

/**
 * Suspends until [fd] is ready for [event], and returns what the OS reported (ERROR and HANGUP
 * wake the waiter too). The core's rules hold: one waiter per (fd, event) per thread, and a
 * wake-up may be spurious, so retry the syscall and await again on EAGAIN.
 *
 * Where it waits:
 * - On a coroutine running on an [IoQueueDispatcher], the waiter lives in that thread's queue and
 *   the loop resumes the coroutine in place: no dispatch, no thread hop.
 * - On any other dispatcher, the waiter lives in a shared background queue (a daemon thread named
 *   `ioqueue-background`) and the coroutine resumes on its own dispatcher.
 *
 * Cancellation removes exactly this waiter, from any thread, and releases the OS interest; the
 * coroutine is never resumed twice. From the loop's thread the fd can be awaited again at once;
 * from another thread the removal reaches the loop before the cancelled coroutine resumes.
 *
 * If the fd is unregistered, or closed through `Fds.close`/`Handle.close` on the queue's thread,
 * or its queue is closed, while the coroutine waits, the await fails with [AwaitClosedException]
 * instead of waiting forever (as a JDK channel read fails with `AsynchronousCloseException`).
 *
 * @throws IllegalArgumentException for a negative fd
 * @throws IllegalStateException if another waiter already waits on [fd] for [event] in that queue
 * @throws dev.ioqueue.SyscallException if epoll refuses the fd (EBADF, EPERM...)
 */
public suspend fun awaitReady(fd: Int, event: ReadyEvent): Set<Event> {
    require(fd >= 0) { "fd $fd is negative" }
    val interceptor = currentCoroutineContext()[ContinuationInterceptor]
    if (interceptor is IoQueueDispatcher && interceptor.queue.isOwnerThread) {
        return awaitOnLoop(interceptor.queue, interceptor, fd, event)
    }
    return awaitInBackground(fd, event)
}

/** [awaitReady] for [ReadyEvent.READ]. */
public suspend fun awaitRead(fd: Int): Set<Event> = awaitReady(fd, ReadyEvent.READ)

/** [awaitReady] for [ReadyEvent.WRITE]. */
public suspend fun awaitWrite(fd: Int): Set<Event> = awaitReady(fd, ReadyEvent.WRITE)

/** [awaitReady] for [ReadyEvent.PRIORITY_READ] (e.g. TCP urgent data). */
public suspend fun awaitPriorityRead(fd: Int): Set<Event> = awaitReady(fd, ReadyEvent.PRIORITY_READ)

/** [awaitReady] on the handle's fd. */
public suspend fun awaitReady(handle: Handle, event: ReadyEvent): Set<Event> = awaitReady(handle.fd(), event)

/** [awaitRead] on the handle's fd. */
public suspend fun awaitRead(handle: Handle): Set<Event> = awaitReady(handle.fd(), ReadyEvent.READ)

/** [awaitWrite] on the handle's fd. */
public suspend fun awaitWrite(handle: Handle): Set<Event> = awaitReady(handle.fd(), ReadyEvent.WRITE)

/** [awaitPriorityRead] on the handle's fd. */
public suspend fun awaitPriorityRead(handle: Handle): Set<Event> = awaitReady(handle.fd(), ReadyEvent.PRIORITY_READ)

/**
 * The loop resumes the coroutine itself, in place, with the dispatcher instance it runs on. It is
 * also the cancellation handler, so one await allocates one object besides kotlinx's own.
 */
private class LoopWaiter(
    private val continuation: CancellableContinuation<Set<Event>>,
    private val dispatcher: CoroutineDispatcher,
    private val queue: IoQueue,
    private val event: ReadyEvent,
) : ReadyCallback, (Throwable?) -> Unit {
    var fd = -1

    @OptIn(ExperimentalCoroutinesApi::class)
    override fun onReady(fd: Int, events: Set<Event>) {
        with(continuation) { dispatcher.resumeUndispatched(events) }
    }

    override fun onDropped(fd: Int) = continuation.resumeWithException(AwaitClosedException(fd))

    override fun invoke(cause: Throwable?) = withdraw(queue, fd, event, this)
}

private suspend fun awaitOnLoop(queue: IoQueue, dispatcher: CoroutineDispatcher, fd: Int, event: ReadyEvent): Set<Event> =
    suspendCancellableCoroutine { continuation ->
        val waiter = LoopWaiter(continuation, dispatcher, queue, event)
        waiter.fd = fd
        queue.await(fd, event, waiter)
        continuation.invokeOnCancellation(waiter)
    }

/**
 * A future of the shared background queue, awaited: its single completion decides every race, the
 * coroutine's cancellation cancels it (which withdraws the waiter), and a close of the fd on any
 * thread drops it.
 */
private suspend fun awaitInBackground(fd: Int, event: ReadyEvent): Set<Event> =
    try {
        IoQueue.shared().whenReady(fd, event).await()
    } catch (dropped: WaitDroppedException) {
        throw AwaitClosedException(fd)
    }

/** On the loop, now or posted; a closed queue holds no waiters, so a refusal is fine. */
private fun withdraw(queue: IoQueue, fd: Int, event: ReadyEvent, waiter: ReadyCallback) {
    queue.runOnOwner { queue.cancel(fd, event, waiter) }
}
