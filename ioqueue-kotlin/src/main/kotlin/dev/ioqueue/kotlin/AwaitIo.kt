package dev.ioqueue.kotlin

import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoOperation
import dev.ioqueue.ReadyEvent
import java.nio.channels.ClosedChannelException
import kotlin.coroutines.Continuation
import kotlin.coroutines.ContinuationInterceptor
import kotlin.coroutines.coroutineContext
import kotlin.coroutines.intrinsics.suspendCoroutineUninterceptedOrReturn
import kotlinx.coroutines.yield

/**
 * Runs [attempt] on [fd] until it does not return [Fds.WOULD_BLOCK], waiting for [event] between
 * tries, and returns its result (as tokio's `AsyncFd::async_io`). The rules are
 * [IoOperation]'s: a spurious wake-up only means another try; if the fd reports HANGUP or ERROR and
 * [attempt] still would block, a READ or PRIORITY_READ ends with [Fds.EOF] and a WRITE fails with
 * EPIPE, instead of spinning; a blocking fd is refused with [IllegalArgumentException]. An
 * [java.io.UncheckedIOException] thrown by [attempt] fails the call with its cause.
 *
 * Threading: on a coroutine running on an [IoQueueDispatcher] (its own thread), [attempt] runs on
 * that loop, at once when the fd may be ready, so a ready fd costs no suspension at all. On any
 * other dispatcher, [attempt] runs in the calling coroutine and only the wait for readiness goes to
 * the shared background queue (thread `ioqueue-background`).
 *
 * Cancellation withdraws the wait, from any thread; what an attempt already did stays done. If the
 * fd is unregistered or closed through the queue, or the queue closed, while it waits, it fails
 * with [AwaitClosedException].
 */
public suspend fun awaitIo(fd: Int, event: ReadyEvent, attempt: (fd: Int) -> Long): Long {
    requireFd(fd)
    return perform(null, fd, ATTEMPT, attempt, 0, 0, event)
}

/**
 * [awaitIo] on an owned fd. On a coroutine of the handle's own loop (or of any loop, for a handle
 * not yet bound, which that loop then owns) [attempt] runs there; otherwise it is posted to the
 * handle's queue ([IoQueue.shared][dev.ioqueue.IoQueue.shared] for an unbound handle, which it then
 * owns) and runs on that queue's thread, so it must not touch memory confined to the caller's
 * thread. Cancellation there waits for that queue's answer: the attempt either never ran again,
 * or what it returned is dropped. On a handle bound to an io_uring queue, a READ [attempt] does not
 * see the bytes the ring read ahead for the handle's library reads: if the ring keeps some when
 * [attempt] would block, the call fails with an [java.io.IOException] saying so rather than wait
 * for a readiness the OS will not report (read such a handle through the library; see
 * backends.md).
 *
 * @throws ClosedChannelException if the handle is closed
 */
public suspend fun Handle.awaitIo(event: ReadyEvent, attempt: (fd: Int) -> Long): Long =
    perform(this, openFd(this), ATTEMPT, attempt, 0, 0, event)

/**
 * Where every suspending call goes: to the caller's own loop, when the coroutine runs on an
 * [IoQueueDispatcher] on its thread and the fd is a plain one or a handle bound there (or still
 * unbound); else to the handle's queue; else (a plain fd off any loop) syscalls in the coroutine
 * with readiness waits in the shared queue. Every branch is a tail call: no frame of its own.
 */
@Suppress("UNCHECKED_CAST")
internal suspend fun <T> perform(handle: Handle?, fd: Int, kind: Int, target: Any?, offset: Int, length: Int, event: ReadyEvent?): T {
    val context = coroutineContext
    val dispatcher = context[ContinuationInterceptor]
    if (dispatcher is IoQueueDispatcher) {
        val queue = dispatcher.queue
        if (queue.isOwnerThread) {
            val home = handle?.queue()
            if (home == null || home === queue) {
                val io = dispatcher.coroutines.ioFor(context)
                if (io.mustYield()) return yieldThenPerform(handle, fd, kind, target, offset, length, event)
                return suspendCoroutineUninterceptedOrReturn { c -> io.start(c as Continuation<Any?>, handle, fd, kind, target, offset, length, event) }
            }
        }
    }
    if (handle == null) return onPlainFd(fd, kind, target, offset, length, event) as T
    return onHomeQueue(handle, fd, handle.queue() ?: sharedQueue(), kind, target, offset, length, event) as T
}

/**
 * A coroutine that never suspends would hold the loop: its turn ends here, and the call starts
 * over once it runs again (on this loop, or cancelled if the queue closed meanwhile). A function of
 * its own so that [perform]'s every branch stays a tail call, with no continuation object per call.
 */
private suspend fun <T> yieldThenPerform(handle: Handle?, fd: Int, kind: Int, target: Any?, offset: Int, length: Int, event: ReadyEvent?): T {
    yield()
    return perform(handle, fd, kind, target, offset, length, event)
}

internal fun requireFd(fd: Int) = require(fd >= 0) { "fd $fd is negative" }

/** The handle's fd, or a [ClosedChannelException] (as `BlockingIo` throws) if it is closed. */
internal fun openFd(handle: Handle): Int =
    try {
        handle.fd()
    } catch (closed: IllegalStateException) { // closed, maybe by another thread a moment ago
        throw ClosedChannelException().apply { initCause(closed) }
    }
