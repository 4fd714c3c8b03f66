package dev.ioqueue.kotlin

import dev.ioqueue.Errno
import dev.ioqueue.Event
import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoCompletion
import dev.ioqueue.IoOperation
import dev.ioqueue.IoQueue
import dev.ioqueue.ReadyEvent
import dev.ioqueue.Sockets
import dev.ioqueue.SyscallSocketException
import dev.ioqueue.WaitDroppedException
import java.io.IOException
import java.lang.foreign.MemorySegment
import java.nio.ByteBuffer
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.future.await
import kotlinx.coroutines.withContext

// The two ways a call runs when it cannot run on the caller's own loop.
//
// A plain fd: the syscall is made in the coroutine itself, and only the wait for readiness goes to
// the shared queue (`ioqueue-background`). Cancelling a wait for readiness moves no byte, so the
// cancellation is exact by construction: whatever the coroutine sees is all that happened.
//
// A Handle bound to another queue (another loop, an io_uring loop whose ring keeps its bytes, or
// the shared queue): the operation is posted to that queue, which alone may move its bytes. On
// cancellation the caller asks that queue to withdraw it and waits, not cancellably, for its
// answer: withdrawn (nothing moved but what a ByteBuffer's position says), or completed (an
// accepted fd is closed); only then does it rethrow the cancellation.

/** A call off any loop on a plain fd: syscalls here, readiness waits in the shared queue. */
internal suspend fun onPlainFd(fd: Int, kind: Int, target: Any?, offset: Int, length: Int, event: ReadyEvent?): Any? {
    if (kind == AWAIT) return awaitShared(fd, event!!)
    requireNonBlocking(fd)
    return when (kind) {
        READ_FULLY -> {
            val buffer = fullyBuffer(target, offset, length)
            val wanted = buffer.remaining()
            var events: Set<Event>? = null
            while (buffer.hasRemaining()) {
                when (unchecked { Fds.read(fd, buffer) }) {
                    Fds.EOF -> throw endOfFile(fd, wanted - buffer.remaining(), wanted)
                    Fds.WOULD_BLOCK -> {
                        if (events != null && dead(events)) throw endOfFile(fd, wanted - buffer.remaining(), wanted)
                        events = awaitShared(fd, ReadyEvent.READ)
                    }
                    else -> events = null
                }
            }
            Unit
        }
        WRITE_FULLY -> {
            var events: Set<Event>? = null
            if (target is MemorySegment) {
                var done = 0L
                while (done < target.byteSize()) {
                    val n = unchecked { Fds.write(fd, target.asSlice(done)) }
                    if (n == Fds.WOULD_BLOCK) {
                        if (events != null && dead(events)) throw deadWrite(fd)
                        events = awaitShared(fd, ReadyEvent.WRITE)
                    } else {
                        done += n
                        events = null
                    }
                }
            } else {
                val buffer = fullyBuffer(target, offset, length)
                while (buffer.hasRemaining()) {
                    if (unchecked { Fds.write(fd, buffer) } == Fds.WOULD_BLOCK) {
                        if (events != null && dead(events)) throw deadWrite(fd)
                        events = awaitShared(fd, ReadyEvent.WRITE)
                    } else {
                        events = null
                    }
                }
            }
            Unit
        }
        else -> {
            val waitFor = if (kind == ATTEMPT) event!! else eventOf(kind)
            var events: Set<Event>? = null
            while (true) {
                val r = attemptOnce(fd, kind, target, offset, length)
                if (r != Fds.WOULD_BLOCK.toLong()) return valueOf(kind, r)
                if (events != null && dead(events)) {
                    if (waitFor == ReadyEvent.WRITE) throw deadWrite(fd)
                    return valueOf(kind, Fds.EOF.toLong())
                }
                events = awaitShared(fd, waitFor)
            }
            @Suppress("UNREACHABLE_CODE")
            Unit
        }
    }
}

/** One try of a single-shot transfer (or the user's attempt) on the calling thread. */
@Suppress("UNCHECKED_CAST")
private fun attemptOnce(fd: Int, kind: Int, target: Any?, offset: Int, length: Int): Long = unchecked {
    when (kind) {
        READ -> when (target) {
            is ByteBuffer -> Fds.read(fd, target).toLong()
            is ByteArray -> Fds.read(fd, target, offset, length).toLong()
            else -> Fds.read(fd, target as MemorySegment).toLong()
        }
        WRITE -> when (target) {
            is ByteBuffer -> Fds.write(fd, target).toLong()
            is ByteArray -> Fds.write(fd, target, offset, length).toLong()
            else -> Fds.write(fd, target as MemorySegment).toLong()
        }
        ACCEPT, ACCEPT_HANDLE -> Sockets.accept(fd).toLong()
        else -> (target as (Int) -> Long).invoke(fd)
    }
}

/** What a single-shot call returns for [result]. */
private fun valueOf(kind: Int, result: Long): Any = when (kind) {
    READ, WRITE, ACCEPT -> result.toInt()
    ACCEPT_HANDLE -> Handle.of(result.toInt())
    else -> result
}

private suspend fun awaitShared(fd: Int, event: ReadyEvent): Set<Event> =
    try {
        sharedQueue().whenReady(fd, event).await()
    } catch (dropped: WaitDroppedException) {
        throw AwaitClosedException(fd).apply { initCause(dropped) } // the cause says why (a closed queue, an ended thread)
    }

/** A call on a [handle] bound to [home], a queue other than the caller's loop: posted there. */
internal suspend fun onHomeQueue(handle: Handle, fd: Int, home: IoQueue, kind: Int, target: Any?, offset: Int, length: Int, event: ReadyEvent?): Any? {
    // [fd] was read while the handle was open: asking it again could throw, if another thread closed
    // it since; the queue decides (a close on the way ends the call with AwaitClosedException).
    if (kind == AWAIT) {
        return try {
            home.whenReady(handle, event!!).await()
        } catch (dropped: WaitDroppedException) {
            throw AwaitClosedException(fd).apply { initCause(dropped) } // the cause says why (a closed queue, an ended thread)
        }
    }
    if (target is MemorySegment && !target.isAccessibleBy(home.owner())) {
        throw IllegalArgumentException(
            "$handle is bound to the queue of thread ${home.owner().name}, which cannot access $target (confined to " +
                "another thread): use a shared or global segment, or call from that queue's loop",
        )
    }
    val buffer = if (kind == READ_FULLY || kind == WRITE_FULLY && target !is MemorySegment) fullyBuffer(target, offset, length) else null
    val wanted = buffer?.remaining() ?: 0
    val call = HomeQueueCall(handle, fd, home)
    call.operation = operationFor(kind, buffer ?: target, offset, length, event, call)
    EndedQueueWatch.add(call)
    try {
        call.start()
    } catch (t: Throwable) {
        call.outcome.completeExceptionally(t) // leaves the watch
        throw t
    }
    val result = try {
        call.outcome.await()
    } catch (cancelled: CancellationException) {
        call.withdraw()
        val late = withContext(NonCancellable) { runCatching { call.outcome.await() } }
        val moved = late.getOrNull()
        if (moved != null && (kind == ACCEPT || kind == ACCEPT_HANDLE) && moved >= 0) closeQuietly(moved.toInt())
        throw cancelled
    }
    if (kind == READ_FULLY && buffer!!.hasRemaining()) throw endOfFile(fd, wanted - buffer.remaining(), wanted)
    return if (kind == READ_FULLY || kind == WRITE_FULLY) Unit else valueOf(kind, result)
}

/**
 * One operation posted to a handle's queue, and its single outcome. Submitted and withdrawn on
 * that queue's thread (FIFO, so a withdrawal always finds the submission done); if the handle was
 * still unbound and got bound elsewhere meanwhile, both follow it there.
 */
private class HomeQueueCall(private val handle: Handle, private val fd: Int, private val home: IoQueue) : IoCompletion, EndedQueueWatch.Watched {
    val outcome = CompletableDeferred<Long>()
    lateinit var operation: IoOperation
    @Volatile private var withdrawing = false
    @Volatile private var submittedOn: IoQueue? = null
    @Volatile private var movedTo: IoQueue? = null

    fun start() {
        if (!home.runOnOwner { submitOn(home) }) outcome.completeExceptionally(AwaitClosedException(fd))
    }

    private fun submitOn(q: IoQueue) {
        val bound = handle.queue()
        if (bound != null && bound !== q) {
            movedTo = bound
            if (!bound.runOnOwner { submitOn(bound) }) outcome.completeExceptionally(AwaitClosedException(fd))
            return
        }
        if (withdrawing) {
            outcome.completeExceptionally(Withdrawn)
            return
        }
        try {
            q.submit(handle, operation)
            submittedOn = q
        } catch (e: RuntimeException) {
            // A syscall's failure (EBADF from fcntl...) as the IOException the loop's own calls throw.
            outcome.completeExceptionally(if (!handle.isOpen) AwaitClosedException(fd) else ioFailureOf(e))
        }
    }

    init {
        outcome.invokeOnCompletion { EndedQueueWatch.remove(this) }
    }

    /**
     * [EndedQueueWatch]'s look: a queue whose thread ended without closing it runs nothing more
     * and tells its operations nothing (their completions belong to that thread), yet this caller
     * waits on another dispatcher: the call ends with [AwaitClosedException], its cause saying why.
     */
    override fun lookForEndedQueue(): Boolean {
        val q = submittedOn ?: movedTo ?: home
        if (outcome.isCompleted || q.isClosed || q.owner().isAlive) return !outcome.isCompleted
        // Its thread's writes are visible now: if it handed the call on to another queue meanwhile, that one decides.
        if ((submittedOn ?: movedTo ?: home) !== q) return true
        withdrawing = true
        val why = WaitDroppedException(fd, "the thread ${q.owner().name} of its queue ended without closing it")
        // Completed off this thread: a caller resuming in place (Unconfined) must not hold the watch.
        Thread.ofVirtual().start { outcome.completeExceptionally(AwaitClosedException(fd).apply { initCause(why) }) }
        return true // until its outcome is set, which removes it
    }

    /** Asks the queue to withdraw the operation; [outcome] then tells what happened. Any thread. */
    fun withdraw() {
        withdrawing = true
        withdrawOn(home)
    }

    private fun withdrawOn(q: IoQueue) {
        val posted = q.runOnOwner {
            when {
                submittedOn === q -> if (operation.cancel()) outcome.completeExceptionally(Withdrawn)
                movedTo != null && movedTo !== q -> withdrawOn(movedTo!!)
                // else not submitted (refused, or it saw [withdrawing]): its outcome is set
            }
        }
        // A closed queue drops what it had (told once); a queue whose thread ended runs nothing more.
        if (!posted && q.owner().isAlive.not()) outcome.completeExceptionally(Withdrawn)
    }

    override fun completed(fd: Int, result: Long) {
        outcome.complete(result)
    }

    override fun failed(fd: Int, failure: IOException) {
        outcome.completeExceptionally(failure)
    }

    override fun dropped(fd: Int) {
        outcome.completeExceptionally(AwaitClosedException(fd))
    }
}

/** The outcome of a withdrawn operation: nothing more moved. */
private object Withdrawn : IOException("withdrawn") {
    private fun readResolve(): Any = Withdrawn
    override fun fillInStackTrace(): Throwable = this
}

private fun fullyBuffer(target: Any?, offset: Int, length: Int): ByteBuffer = when (target) {
    is ByteBuffer -> target
    is ByteArray -> wrapRange(target, offset, length)
    else -> (target as MemorySegment).asByteBuffer()
}

private fun dead(events: Set<Event>): Boolean = Event.ERROR in events || Event.HANGUP in events

private fun deadWrite(fd: Int): IOException =
    SyscallSocketException("write", fd, Errno.EPIPE.number(), "the fd reported HANGUP or ERROR but a write would still block")

private fun requireNonBlocking(fd: Int) {
    if (!unchecked { Fds.isNonBlocking(fd) }) {
        throw IllegalArgumentException(
            "fd $fd is blocking: an I/O operation on it would block the coroutine's thread. Make it non-blocking first " +
                "with Fds.setNonBlocking($fd, true), or open it with O_NONBLOCK (SOCK_NONBLOCK, EFD_NONBLOCK...)",
        )
    }
}


private fun closeQuietly(fd: Int) {
    try {
        Fds.close(fd)
    } catch (_: RuntimeException) {
        // closed anyway (EINTR), or not ours to close (EBADF): nothing leaks either way
    }
}
