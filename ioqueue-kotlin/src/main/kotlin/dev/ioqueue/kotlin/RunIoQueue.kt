package dev.ioqueue.kotlin

import dev.ioqueue.IoQueue
import java.nio.channels.spi.AbstractInterruptibleChannel
import java.util.concurrent.RejectedExecutionException
import kotlin.coroutines.CoroutineContext
import kotlin.coroutines.EmptyCoroutineContext
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.async

/**
 * Runs [block] as a coroutine on the CURRENT thread's [IoQueue] and serves the queue until the
 * block completes: Java callbacks registered on this thread run in the same loop, interleaved with
 * the coroutines. Returns the block's result or throws its exception, as `runBlocking` does.
 *
 * If a Java callback, timer or task throws out of the loop, the block is cancelled, the loop runs
 * until it has finished cancelling, and that exception is thrown.
 *
 * If the thread is interrupted while it runs (even asleep in the loop's wait), the block is
 * cancelled, the loop runs until it has finished cancelling, and an [InterruptedException] is
 * thrown, as `runBlocking` does; the interrupt status is then clear.
 *
 * Threading: call it on a thread that is not already running its queue: it is not re-entrant, and
 * throws [IllegalStateException] at once when called from inside the loop (from a coroutine,
 * callback or task the loop runs).
 * Never call `runBlocking` on a loop thread: it would block every coroutine and callback the loop
 * serves; suspend instead.
 */
@OptIn(ExperimentalCoroutinesApi::class)
public fun <T> runIoQueue(context: CoroutineContext = EmptyCoroutineContext, block: suspend CoroutineScope.() -> T): T {
    val queue = IoQueue.current()
    check(!queue.isInLoop) {
        "runIoQueue called from inside the loop of thread ${queue.owner().name} (from a coroutine, callback or task " +
            "it runs): it is not re-entrant; suspend instead (e.g. coroutineScope { }, or launch and join)"
    }
    val hold = queue.hold()
    val deferred = CoroutineScope(context + queue.dispatcher).async { block() }
    deferred.invokeOnCompletion { hold.cancel() }
    var loopFailure: Throwable? = null
    var interrupted: InterruptedException? = null
    var wake = InterruptWake(queue)
    while (!deferred.isCompleted) {
        try {
            wake.sleepingRound { queue.runOnce(null) }
        } catch (t: Throwable) {
            val first = loopFailure
            if (first == null) {
                loopFailure = t
                deferred.cancel(CancellationException("a callback on the ioqueue loop failed", t))
            } else if (first.suppressed.size < MAX_SUPPRESSED) {
                first.addSuppressed(t) // bounded: a callback failing every round must not grow it forever
            }
        }
        if (Thread.interrupted()) {
            if (interrupted == null) {
                interrupted = InterruptedException("runIoQueue on thread ${Thread.currentThread().name} was interrupted")
                deferred.cancel(CancellationException("the thread running runIoQueue was interrupted", interrupted))
            }
            wake = InterruptWake(queue) // an interrupt closes the one it woke through
        }
    }
    loopFailure?.let { throw it }
    interrupted?.let { if (deferred.isCancelled) throw it }
    if (interrupted != null) Thread.currentThread().interrupt() // it came as the block ended: its status stays, not lost
    return deferred.getCompleted()
}

private const val MAX_SUPPRESSED = 64

/**
 * Lets [Thread.interrupt] wake the loop's wait, as it wakes a JDK channel's blocking call: a round
 * runs between the channel's `begin` and `end`, so an interrupt "closes" this channel, which posts
 * an empty task to the queue (waking it). One per thread until an interrupt uses it up. Owner
 * thread only, except [implCloseChannel] (the interrupting thread).
 */
private class InterruptWake(private val queue: IoQueue) : AbstractInterruptibleChannel() {
    inline fun sleepingRound(round: () -> Unit) {
        begin()
        try {
            round()
        } finally {
            try {
                end(true)
            } catch (_: java.nio.channels.ClosedByInterruptException) {
                // the interrupt status stays set: the caller sees it
            }
        }
    }

    override fun implCloseChannel() {
        try {
            queue.execute(NOTHING)
        } catch (_: RejectedExecutionException) {
            // closed: no wait to wake
        }
    }

    private companion object {
        val NOTHING = Runnable { }
    }
}
