package dev.ioqueue.kotlin

import dev.ioqueue.Event
import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoCompletion
import dev.ioqueue.IoQueue
import dev.ioqueue.ReadyCallback
import dev.ioqueue.ReadyEvent
import java.io.IOException
import kotlin.coroutines.Continuation
import kotlin.coroutines.intrinsics.COROUTINE_SUSPENDED
import kotlin.coroutines.intrinsics.intercepted
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.DisposableHandle
import kotlinx.coroutines.InternalCoroutinesApi
import kotlinx.coroutines.Job
import kotlinx.coroutines.ensureActive

/**
 * The I/O of one coroutine on its own loop, reused by every suspending call it makes there: the
 * continuation while it is suspended, the operation or wait it is suspended on, and the
 * operations of its last few (kind, buffer) pairs, each submitted again as it is (a coroutine
 * that reads and writes one buffer in a loop allocates nothing per call once they exist).
 *
 * One coroutine runs at a time on a loop, and a coroutine makes one call at a time, so one object
 * per coroutine (per [Job]) suffices; [LoopCoroutines] keeps them, keyed by the job. It resumes
 * the coroutine in place, from the loop's completion, with its raw continuation (no
 * `CancellableContinuation` per suspension); it hears of the job's cancellation through one
 * handler registered with the job when the object is made: a loop task of its own ([invoke])
 * withdraws the pending operation (a cancellation on the loop's thread withdraws it at once) and
 * resumes the coroutine with the cancellation, in place.
 *
 * Cancellation is exact: a withdrawn operation moved nothing more than its buffer's position says;
 * an operation that completed before the withdrawal (or a ring write the kernel is making, which
 * cannot be withdrawn) is accounted for before the coroutine resumes with the cancellation (an
 * accepted fd is closed). Not on a loop whose thread ended without closing its queue: a ring write
 * it could not withdraw is never reported there, so its bytes may have left unaccounted.
 *
 * Loop thread only, except [invoke] (the job's handler, any thread).
 */
internal class CoroutineIo(
    private val loop: LoopCoroutines,
    private val job: Job?,
    /** Whether the context has no [kotlinx.coroutines.ThreadContextElement], so a resumption in place needs no context switch. */
    private val inPlace: Boolean,
    /** Made for one call (a job-less context, or a job already in a call here): registered and disposed with it. */
    private val transient: Boolean,
) : IoCompletion, ReadyCallback, Runnable, (Throwable?) -> Unit, EndedQueueWatch.Watched {
    private val queue: IoQueue = loop.queue
    private var registration: DisposableHandle? = null
    /** The job was cancelled: [EndedQueueWatch] looks at this call until the loop settled it. */
    @Volatile private var watched = false
    /**
     * A cancellation on the loop's thread tried to withdraw the suspended call ([withdrawTried];
     * once: a ring write in flight costs a synchronous cancel) and did ([withdrawn]): the settling
     * task resumes it; else its completion comes.
     */
    private var withdrawTried = false
    private var withdrawn = false

    private var phase = IDLE
    private var continuation: Continuation<Any?>? = null
    private var kind = 0
    private var fd = -1
    private var handle: Handle? = null
    private var event: ReadyEvent? = null
    private var slot: OperationCache.Slot? = null
    /** For READ_FULLY: what was asked, to tell how much came before an end-of-file. */
    private var wanted = 0

    private var immediate = NONE
    private var immediateResult = 0L
    private var immediateEvents: Set<Event>? = null
    private var immediateFailure: Throwable? = null

    private val cache = OperationCache(this)
    /** The last count boxed above Integer's cache: a loop moving equal chunks boxes it once. */
    private var lastBoxed: Int? = null

    val isIdle: Boolean get() = phase == IDLE

    /**
     * Whether the loop ran [BUDGET] calls in a row that ended without suspending (a fast stream
     * whose bytes are always there): this call yields the loop first, so its other fds, timers and
     * coroutines get their turn (tokio's cooperative budget; Netty's `maxMessagesPerRead`). The
     * count then starts again. It is the loop's ([LoopCoroutines.unsuspended]), not the job's: a
     * call in a `withTimeout` or `coroutineScope` of its own has a job of its own each time.
     */
    fun mustYield(): Boolean {
        if (loop.unsuspended < BUDGET) return false
        loop.unsuspended = 0
        return true
    }

    @OptIn(InternalCoroutinesApi::class)
    fun register() {
        // onCancelling: told as soon as the job is cancelled (else at its completion), once.
        if (job != null) registration = job.invokeOnCompletion(onCancelling = true, invokeImmediately = true, handler = this)
    }

    /**
     * Starts a call: submits its operation (or its wait) on the loop and returns the result at once
     * when it completed while submitted, else [COROUTINE_SUSPENDED] with [c] kept to resume.
     */
    fun start(c: Continuation<Any?>, handle: Handle?, fd: Int, kind: Int, target: Any?, offset: Int, length: Int, event: ReadyEvent?): Any? {
        check(phase == IDLE) { "a coroutine's I/O object is already in a call" }
        this.kind = kind
        this.fd = fd
        this.handle = handle
        immediate = NONE
        phase = SUBMITTING
        try {
            if (kind == AWAIT) {
                this.event = event
                if (handle != null) queue.await(handle, event!!, this) else queue.await(fd, event!!, this)
            } else {
                val s = cache.slotFor(kind, target, offset, length, event)
                slot = s
                if (kind == READ_FULLY) wanted = s.buffer!!.remaining()
                if (handle != null) queue.submit(handle, s.operation) else queue.submit(fd, s.operation)
            }
        } catch (t: Throwable) {
            cache.evict(slot)
            end()
            // A close from another thread between the caller's look and the submit: the queue refuses
            // the closed handle (IllegalStateException); a suspending call says so as an IOException.
            if (t is IllegalStateException && handle != null && !handle.isOpen) {
                throw java.nio.channels.ClosedChannelException().apply { initCause(t) }
            }
            throw if (kind != AWAIT) ioFailureOf(t) else t // an I/O call's failure is an IOException, as off the loop
        }
        if (immediate != NONE) loop.unsuspended++ // a failure at once counts too (an accept loop under EMFILE)
        when (immediate) {
            COMPLETED -> return endWith(immediateResult)
            FAILED -> {
                val failure = immediateFailure!!
                end()
                throw failure
            }
            READY -> {
                val events = immediateEvents
                end()
                return events
            }
            DROPPED -> {
                end()
                throw AwaitClosedException(fd)
            }
        }
        if (job != null && !job.isActive) {
            if (withdraw()) {
                end()
                throw cancellation()
            }
            EndedQueueWatch.add(this) // a ring write the kernel is making: its completion comes, and sees the cancellation
        }
        continuation = c
        phase = SUSPENDED
        loop.unsuspended = 0
        return COROUTINE_SUSPENDED
    }

    // ---- what the loop tells ----

    override fun completed(fd: Int, result: Long) {
        when (phase) {
            SUBMITTING -> {
                immediate = COMPLETED
                immediateResult = result
            }
            SUSPENDED -> {
                if (cancelledNow()) {
                    accountAfterCancellation(result)
                    resume(Result.failure(cancellation()), dispatched = false)
                    return
                }
                val value = try {
                    valueOf(result)
                } catch (e: Throwable) {
                    resume(Result.failure(e), dispatched = false)
                    return
                }
                resume(Result.success(value), dispatched = false)
            }
        }
    }

    override fun failed(fd: Int, failure: IOException) {
        cache.evict(slot) // its transfer's counts may be left mid-way
        when (phase) {
            SUBMITTING -> {
                immediate = FAILED
                immediateFailure = failure
            }
            SUSPENDED -> resume(Result.failure(if (cancelledNow()) cancellation() else failure), dispatched = false)
        }
    }

    override fun dropped(fd: Int) = drop(fd)

    override fun onReady(fd: Int, events: Set<Event>) {
        when (phase) {
            SUBMITTING -> {
                immediate = READY
                immediateEvents = events
            }
            SUSPENDED -> resume(if (cancelledNow()) Result.failure(cancellation()) else Result.success(events), dispatched = false)
        }
    }

    override fun onDropped(fd: Int) = drop(fd)

    private fun drop(fd: Int) {
        cache.evict(slot)
        when (phase) {
            SUBMITTING -> immediate = DROPPED
            // Through the dispatcher: a drop comes while the queue closes, which must not run coroutines inside it.
            SUSPENDED -> resume(Result.failure(if (cancelledNow()) cancellation() else AwaitClosedException(fd)), dispatched = true)
        }
    }

    // ---- cancellation ----

    /**
     * The job's handler: it was cancelled (or completed). Any thread: the rest runs on the loop.
     * A cancellation is settled by a loop task of its own, from any thread, the loop's too (not
     * inside whatever cancelled the job): it withdraws the call (already withdrawn if the loop's
     * thread cancelled) and resumes the coroutine there and then, in place, as a completion does. Until that task runs the call stays suspended and
     * watched ([EndedQueueWatch]): if the loop's thread ends without closing its queue first (or
     * before a ring write it could not withdraw completes), the watch ends the coroutine.
     */
    override fun invoke(cause: Throwable?) {
        if (cause == null) { // completed: no call is pending, the loop forgets this object
            queue.runOnOwner(this)
            return
        }
        watched = true
        EndedQueueWatch.add(this) // before it is posted (which publishes [watched]): the loop may run it at once
        val posted = if (queue.owner() !== Thread.currentThread()) queue.runOnOwner(this) else try {
            queue.execute(this) // queued, not run here: a task of its own ([run])
            // On the loop's thread the call is withdrawn now, so its fd can be waited on again at
            // once (the canceller's next call); only the resumption waits for the task. Only once
            // the task is sure to run: a closing queue refuses it, and its close tells the call.
            if (phase == SUSPENDED && !withdrawTried) {
                try {
                    withdrawn = withdraw()
                    withdrawTried = true
                } catch (_: Throwable) {
                    // the task tries again, and its throw leaves the loop as a task's does
                }
            }
            true
        } catch (_: java.util.concurrent.RejectedExecutionException) {
            false
        }
        if (posted) return
        EndedQueueWatch.remove(this)
        // Refused: the queue is closed (its close dropped what was pending, and told it), or its
        // thread ended without closing it, and nothing there will ever run or tell this call.
        resumeIfOwnerEnded()
    }

    /** A loop task of its own, after the job was cancelled or completed: withdraws the pending call, if any, and resumes the coroutine in place. */
    override fun run() {
        try {
            if (!transient) loop.forget(job!!, this)
            if (phase == SUSPENDED && (withdrawn || !withdrawTried && withdraw())) {
                if (inPlace) resume(Result.failure(cancellation()), dispatched = false) else resumeHere(Result.failure(cancellation()))
            }
        } finally {
            if (watched && phase != SUSPENDED) EndedQueueWatch.remove(this) // else a ring write's completion settles it, or the watch
        }
    }

    override fun lookForEndedQueue(): Boolean {
        if (queue.isClosed) return false // its close dropped what was pending, and told it
        if (queue.owner().isAlive) return true
        resumeIfOwnerEnded()
        return false
    }

    /** If the queue's thread ended with the queue open, resumes the suspended call with the cancellation, through its dispatcher (the lock: the handler and the watch never both do). */
    @Synchronized
    private fun resumeIfOwnerEnded() {
        if (!queue.owner().isAlive && !queue.isClosed && phase == SUSPENDED) resume(Result.failure(cancellation()), dispatched = true)
    }

    /** Whether the job was cancelled, on the loop as a call settles: the watch need not look at it any more. */
    private fun cancelledNow(): Boolean {
        if (job == null || job.isActive) return false
        EndedQueueWatch.remove(this)
        return true
    }

    /** Withdraws the pending operation or wait: true if it moved nothing more and will not be told anything. */
    private fun withdraw(): Boolean {
        if (kind == AWAIT) {
            val h = handle
            return if (h != null) queue.cancel(h, event!!, this) else queue.cancel(fd, event!!, this)
        }
        val withdrawn = slot!!.operation.cancel()
        if (withdrawn) cache.evict(slot)
        return withdrawn
    }

    /** What an operation that completed after the cancellation moved, given back: an accepted fd is closed. */
    private fun accountAfterCancellation(result: Long) {
        if ((kind == ACCEPT || kind == ACCEPT_HANDLE) && result >= 0) {
            try {
                Fds.close(result.toInt())
            } catch (_: RuntimeException) {
                // closed anyway (EINTR, or EBADF: nothing to leak)
            }
        }
        // Reads and writes: the ByteBuffer's position says what moved.
    }

    private fun cancellation(): CancellationException {
        try {
            job!!.ensureActive()
        } catch (e: CancellationException) {
            return e
        }
        return CancellationException("the coroutine was cancelled")
    }

    // ---- endings ----

    private fun endWith(result: Long): Any? {
        try {
            return valueOf(result)
        } finally {
            end()
        }
    }

    /** What the caller gets for [result]; READ_FULLY throws at an end-of-file before its buffer is full. */
    private fun valueOf(result: Long): Any? = when (kind) {
        READ, WRITE -> box(result.toInt())
        READ_FULLY -> {
            val b = slot!!.buffer!!
            if (b.hasRemaining()) throw endOfFile(fd, wanted - b.remaining(), wanted)
            Unit
        }
        WRITE_FULLY -> Unit
        ACCEPT -> result.toInt()
        ACCEPT_HANDLE -> Handle.of(result.toInt())
        else -> result
    }

    private fun box(n: Int): Any {
        if (n >= -128 && n <= 127) return n
        val last = lastBoxed
        if (last != null && last == n) return last
        return n.also { lastBoxed = it }
    }

    /** Resumes the coroutine now, on the loop, as its dispatcher would ([resumeWithContextElements]). */
    private fun resumeHere(result: Result<Any?>) {
        val c = continuation!!
        end()
        c.resumeWithContextElements(result)
    }

    private fun resume(result: Result<Any?>, dispatched: Boolean) {
        val c = continuation!!
        end()
        if (inPlace && !dispatched) c.resumeWith(result) else c.intercepted().resumeWith(result)
    }

    private fun end() {
        phase = IDLE
        withdrawTried = false
        withdrawn = false
        continuation = null
        handle = null
        event = null
        slot = null
        immediateEvents = null
        immediateFailure = null
        if (transient) registration?.dispose()
    }

    private companion object {
        /** Calls in a row without a suspension before the loop is yielded (tokio's budget is 128 too). */
        const val BUDGET = 128
        const val IDLE = 0
        const val SUBMITTING = 1
        const val SUSPENDED = 2
        const val NONE = 0
        const val COMPLETED = 1
        const val FAILED = 2
        const val READY = 3
        const val DROPPED = 4
    }
}
