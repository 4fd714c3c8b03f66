package dev.ioqueue.kotlin

import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoCompletion
import dev.ioqueue.IoOperation
import dev.ioqueue.IoQueue
import dev.ioqueue.ReadyEvent
import kotlin.coroutines.ContinuationInterceptor
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.suspendCancellableCoroutine

/**
 * Runs [attempt] on [fd] until it does not return [Fds.WOULD_BLOCK], waiting for [event] between
 * tries, and returns its result (as tokio's `AsyncFd::async_io`). The rules are
 * [IoOperation]'s: a spurious wake-up only means another try; if the fd reports HANGUP or ERROR and
 * [attempt] still would block, a READ or PRIORITY_READ ends with [Fds.EOF] and a WRITE fails with
 * EPIPE, instead of spinning; a blocking fd is refused with [IllegalArgumentException].
 *
 * On a coroutine running on an [IoQueueDispatcher] (its own thread), [attempt] runs at once when the
 * fd may be ready, so a ready fd costs no suspension at all; the first try is skipped only when the
 * queue has seen the fd drained since the OS last reported it ready. On any other dispatcher it runs
 * on the shared background queue (thread `ioqueue-background`), and the coroutine resumes on its own
 * dispatcher; [attempt] must then not touch memory confined to the calling thread.
 *
 * Cancellation withdraws the wait, from any thread; what an attempt already did stays done (bytes
 * already read into a buffer stay there). If the fd is unregistered or closed, or the queue
 * closed, while it waits, it fails with [AwaitClosedException].
 */
public suspend fun awaitIo(fd: Int, event: ReadyEvent, attempt: (fd: Int) -> Long): Long {
    require(fd >= 0) { "fd $fd is negative" }
    return perform(fd) { done -> Attempting(event, attempt, done) }
}

/** [awaitIo] on the handle's fd. */
public suspend fun awaitIo(handle: Handle, event: ReadyEvent, attempt: (fd: Int) -> Long): Long =
    awaitIo(handle.fd(), event, attempt)

/** An [IoOperation] around a lambda. */
private class Attempting(event: ReadyEvent, private val attempt: (Int) -> Long, private val done: IoCompletion) :
    IoOperation(event) {
    override fun attempt(fd: Int): Long = attempt.invoke(fd)
    override fun completed(fd: Int, result: Long) = done.completed(fd, result)
    override fun failed(fd: Int, failure: java.io.IOException) = done.failed(fd, failure)
    override fun dropped(fd: Int) = done.dropped(fd)
}

/**
 * Submits the operation [make] builds, on the caller's loop or on the background queue, and
 * suspends until it completes (unless it completes at once).
 */
internal suspend fun perform(fd: Int, make: (IoCompletion) -> IoOperation): Long {
    val interceptor = currentCoroutineContext()[ContinuationInterceptor]
    if (interceptor is IoQueueDispatcher && interceptor.queue.isOwnerThread) {
        return performOnLoop(interceptor.queue, interceptor, fd, make)
    }
    return performInBackground(fd, make)
}

private const val PENDING = Long.MIN_VALUE

/** Resumes the coroutine from the loop, in place; until it suspends, keeps what happened at once. */
private class LoopResumer(private val queue: IoQueue, private val dispatcher: CoroutineDispatcher) :
    IoCompletion, (Throwable?) -> Unit {
    lateinit var operation: IoOperation
    var continuation: CancellableContinuation<Long>? = null
    var result = PENDING
    var failure: Throwable? = null

    @OptIn(ExperimentalCoroutinesApi::class)
    override fun completed(fd: Int, result: Long) {
        val c = continuation
        if (c == null) this.result = result else with(c) { dispatcher.resumeUndispatched(result) }
    }

    override fun failed(fd: Int, failure: java.io.IOException) = fail(failure)

    override fun dropped(fd: Int) = fail(AwaitClosedException(fd))

    private fun fail(t: Throwable) {
        val c = continuation
        if (c == null) failure = t else c.resumeWithException(t)
    }

    override fun invoke(cause: Throwable?) {
        queue.runOnOwner { operation.cancel() }
    }
}

private suspend fun performOnLoop(queue: IoQueue, dispatcher: CoroutineDispatcher, fd: Int, make: (IoCompletion) -> IoOperation): Long {
    val resumer = LoopResumer(queue, dispatcher)
    val operation = make(resumer)
    resumer.operation = operation
    queue.submit(fd, operation)
    resumer.failure?.let { throw it }
    if (resumer.result != PENDING) return resumer.result
    return suspendCancellableCoroutine { continuation ->
        resumer.continuation = continuation
        continuation.invokeOnCancellation(resumer)
    }
}

/** Resumes the coroutine through its own dispatcher, from the background queue. */
private class ForeignResumer(private val continuation: CancellableContinuation<Long>) : IoCompletion {
    override fun completed(fd: Int, result: Long) = continuation.resume(result)
    override fun failed(fd: Int, failure: java.io.IOException) = continuation.resumeWithException(failure)
    override fun dropped(fd: Int) = continuation.resumeWithException(AwaitClosedException(fd))
}

private suspend fun performInBackground(fd: Int, make: (IoCompletion) -> IoOperation): Long =
    suspendCancellableCoroutine { continuation ->
        val queue = IoQueue.shared()
        val operation = make(ForeignResumer(continuation))
        // A close of the fd on any thread, before or after the operation starts, drops it.
        queue.submitAnywhere(fd, operation)
        // Posted after the submission, so it always finds it (FIFO inbox).
        continuation.invokeOnCancellation { queue.runOnOwner { operation.cancel() } }
    }
