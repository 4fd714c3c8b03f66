package dev.ioqueue.kotlin

import dev.ioqueue.IoQueue
import java.lang.ref.WeakReference
import java.time.Duration
import java.util.WeakHashMap
import java.util.concurrent.RejectedExecutionException
import kotlin.coroutines.CoroutineContext
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Delay
import kotlinx.coroutines.DisposableHandle
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.InternalCoroutinesApi
import kotlinx.coroutines.cancel

/**
 * Runs coroutines on an [IoQueue]'s owner thread, inside its loop: the same `run()` that serves
 * Java [dev.ioqueue.ReadyCallback]s. Get one with [IoQueue.dispatcher]; [runIoQueue] drives it.
 *
 * - [dispatch] is thread-safe and never runs the block in place: on the owner thread it queues the
 *   block, from any other thread it also wakes the loop.
 * - `delay` and `withTimeout` use the queue's own timers: no `DefaultExecutor` thread, no hop.
 * - After the queue is closed, a dispatch cancels the coroutine's job and runs the block on
 *   [Dispatchers.IO] so it can finish there, as Android's `HandlerContext` does. A coroutine
 *   suspended in `delay` or `withTimeout` when the queue closes is cancelled the same way: its
 *   `finally` blocks run, `join` returns. A queue whose thread ends without closing it (and
 *   without running its loop again) runs nothing more: a coroutine dispatched to it before then
 *   never resumes, so end a loop's thread by closing its queue (groups do; [runIoQueue] leaves the
 *   thread's queue open for later use: close `IoQueue.current()` before such a thread ends).
 *
 * Two dispatchers of the same queue and kind are equal.
 */
@OptIn(InternalCoroutinesApi::class)
public class IoQueueDispatcher private constructor(
    /** The queue whose owner thread runs the coroutines. */
    public val queue: IoQueue,
    private val isImmediate: Boolean,
    private val name: String?,
    /** The I/O state of the coroutines on this queue's loop, shared by all its dispatchers. */
    internal val coroutines: LoopCoroutines,
    twin: IoQueueDispatcher?,
) : CoroutineDispatcher(), Delay {

    internal constructor(queue: IoQueue) : this(queue, false, null, LoopCoroutines(queue), null)

    /**
     * The twin that resumes in place when already on the queue's thread (as
     * `Dispatchers.Main.immediate` does) and dispatches otherwise. Nested resumptions are queued
     * by kotlinx's event loop, so deep chains cannot overflow the stack. Made once, with this one.
     */
    public val immediate: IoQueueDispatcher =
        if (isImmediate) this else twin ?: IoQueueDispatcher(queue, true, name, coroutines, this)

    /**
     * Always true for the plain dispatcher; for [immediate], true off the queue's thread, or once
     * the queue is closed (a resumption during its close must not run inside it).
     */
    override fun isDispatchNeeded(context: CoroutineContext): Boolean = !isImmediate || !queue.isOwnerThread || queue.isClosed

    /** Queues [block] on the queue's thread. Thread-safe. */
    override fun dispatch(context: CoroutineContext, block: Runnable) {
        try {
            queue.execute(block)
        } catch (e: RejectedExecutionException) {
            cancelOnRejection(context, e)
            Dispatchers.IO.dispatch(context, block)
        }
    }

    /**
     * One thread: every parallelism limit is this dispatcher itself, or, given a [name], a
     * dispatcher of the same loop whose `toString` is that name (as kotlinx's own dispatchers name
     * theirs); it is equal to this one, and its [immediate] is named too. Thread-safe.
     */
    override fun limitedParallelism(parallelism: Int, name: String?): CoroutineDispatcher {
        require(parallelism >= 1) { "Expected positive parallelism level, but got $parallelism" }
        if (name == null || name == this.name) return this
        return IoQueueDispatcher(queue, isImmediate, name, coroutines, null)
    }

    /**
     * Resumes [continuation] from the queue's timer, in place on the loop; cancelling removes the
     * timer. If the queue closes first, the coroutine is cancelled, as a dispatch after close is.
     */
    @OptIn(ExperimentalCoroutinesApi::class)
    override fun scheduleResumeAfterDelay(timeMillis: Long, continuation: CancellableContinuation<Unit>) {
        val resume = Runnable { with(continuation) { resumeUndispatched(Unit) } }
        val dropped = Runnable { cancelOnClose(continuation.context, continuation) }
        val timer = try {
            queue.schedule(Duration.ofMillis(timeMillis.coerceAtLeast(0)), resume, dropped)
        } catch (e: RejectedExecutionException) {
            cancelOnRejection(continuation.context, e)
            return
        }
        continuation.invokeOnCancellation { timer.cancel() }
    }

    /**
     * Runs [block] on the loop after [timeMillis] (used by `withTimeout`); disposing cancels the
     * timer. If the queue closes first, the coroutine is cancelled instead of waiting forever.
     */
    override fun invokeOnTimeout(timeMillis: Long, block: Runnable, context: CoroutineContext): DisposableHandle {
        val timer = try {
            queue.schedule(Duration.ofMillis(timeMillis.coerceAtLeast(0)), block) { cancelOnClose(context, null) }
        } catch (e: RejectedExecutionException) {
            cancelOnRejection(context, e)
            return DisposableHandle { }
        }
        return DisposableHandle { timer.cancel() }
    }

    /** A timer of a coroutine was dropped by the queue's close: cancel the coroutine (and its suspension). */
    private fun cancelOnClose(context: CoroutineContext, continuation: CancellableContinuation<*>?) {
        val cause = CancellationException("The ioqueue of thread ${queue.owner().name} was closed while a timer of this coroutine was pending")
        context.cancel(cause)
        continuation?.cancel(cause)
    }

    private fun cancelOnRejection(context: CoroutineContext, cause: RejectedExecutionException) {
        val what = if (!queue.isClosed && !queue.owner().isAlive) "The thread ${queue.owner().name} of this ioqueue ended without closing it"
        else "The ioqueue of thread ${queue.owner().name} is closed"
        context.cancel(CancellationException(what, cause))
    }

    override fun equals(other: Any?): Boolean =
        other is IoQueueDispatcher && other.queue === queue && other.isImmediate == isImmediate

    override fun hashCode(): Int = System.identityHashCode(queue) * 31 + if (isImmediate) 1 else 0

    /** Its name if it has one (see [limitedParallelism]), else `IoQueueDispatcher[thread]`, `.immediate` for the twin. */
    override fun toString(): String =
        name ?: ("IoQueueDispatcher[${queue.owner().name}]" + if (isImmediate) ".immediate" else "")
}

/** Each queue's dispatcher, made once; held weakly both ways (the dispatcher refers to its queue). */
private val dispatchers = WeakHashMap<IoQueue, WeakReference<IoQueueDispatcher>>()

/**
 * The dispatcher that runs coroutines on this queue's thread: one per queue, the same instance on
 * every access while anything refers to it (and always an equal one). Thread-safe.
 */
public val IoQueue.dispatcher: IoQueueDispatcher
    get() = synchronized(dispatchers) {
        dispatchers[this]?.get() ?: IoQueueDispatcher(this).also { dispatchers[this] = WeakReference(it) }
    }

/** Same as [dispatcher], named as kotlinx names such adapters. */
public fun IoQueue.asCoroutineDispatcher(): IoQueueDispatcher = dispatcher
