package dev.ioqueue.kotlin

import dev.ioqueue.IoQueue
import java.util.IdentityHashMap
import kotlin.coroutines.CoroutineContext
import kotlinx.coroutines.Job
import kotlinx.coroutines.ThreadContextElement
import kotlinx.coroutines.ensureActive

/**
 * The [CoroutineIo]s of the coroutines doing I/O on one queue's loop, by job, shared by the
 * queue's dispatchers. An entry goes when its job is cancelled or completes. Loop thread only.
 */
internal class LoopCoroutines(val queue: IoQueue) {
    private val byJob = IdentityHashMap<Job, CoroutineIo>()
    private var lastJob: Job? = null
    private var lastIo: CoroutineIo? = null
    /**
     * I/O calls in a row on this loop that ended without suspending, whichever coroutine or job made
     * them; a suspension starts the count again ([CoroutineIo.mustYield]).
     */
    var unsuspended = 0

    /**
     * The I/O object for a call of the coroutine whose context is [context], on the loop thread.
     *
     * @throws kotlinx.coroutines.CancellationException if its job is no longer active (no call starts then)
     */
    fun ioFor(context: CoroutineContext): CoroutineIo {
        val job = context[Job] ?: return CoroutineIo(this, null, inPlace(context), transient = true)
        job.ensureActive()
        if (job === lastJob) {
            val io = lastIo!!
            if (io.isIdle) return io
        }
        var io = byJob[job]
        if (io == null) {
            io = CoroutineIo(this, job, inPlace(context), transient = false)
            byJob[job] = io
            io.register()
        } else if (!io.isIdle) {
            // Two coroutines sharing one job (hand-made continuations): this call gets its own.
            return CoroutineIo(this, job, inPlace(context), transient = true).also { it.register() }
        }
        lastJob = job
        lastIo = io
        return io
    }

    fun forget(job: Job, io: CoroutineIo) {
        if (byJob[job] === io) byJob.remove(job)
        if (lastJob === job) {
            lastJob = null
            lastIo = null
        }
    }

    /** How many coroutines' I/O objects it keeps (tests). */
    val size: Int get() = byJob.size

    private fun inPlace(context: CoroutineContext): Boolean = context.fold(true) { ok, e -> ok && e !is ThreadContextElement<*> }
}
