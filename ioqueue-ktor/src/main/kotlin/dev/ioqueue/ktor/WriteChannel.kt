package dev.ioqueue.ktor

import dev.ioqueue.Handle
import dev.ioqueue.kotlin.writeFully
import io.ktor.utils.io.ByteWriteChannel
import io.ktor.utils.io.ClosedWriteChannelException
import io.ktor.utils.io.InternalAPI
import java.io.IOException
import java.nio.ByteBuffer
import java.util.concurrent.atomic.AtomicReference
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Job
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.ensureActive
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.io.Buffer
import kotlinx.io.Sink
import kotlinx.io.readAtMostTo

/**
 * A ktor [ByteWriteChannel] that writes to this handle's stream (a TCP or Unix socket, a pipe):
 * every ktor write function works on it (`writeFully`, `writeStringUtf8`, `writeInt`,
 * `copyAndClose`...). The handle stays yours: close it (or the [HandleSocket] that owns it) when done.
 *
 * Writes go into the channel's buffer; [ByteWriteChannel.flush] sends it with the handle's
 * suspending `writeFully` and returns once the kernel has taken every byte (so a flushed byte is
 * sent even if the handle is closed right after). With [autoFlush] every ktor write function
 * flushes; without it they flush by themselves only past 1 MiB buffered, as ktor's own channels
 * do. There is no coroutine of its own behind it, unlike ktor-network's socket channels.
 *
 * Closing: [ByteWriteChannel.flushAndClose] sends what is buffered, then half-closes the socket
 * (`shutdown(SHUT_WR)`: the peer reads end-of-file; this side can still read). [ByteWriteChannel.cancel]
 * drops what is not sent and half-closes at once, and ends a flush waiting for room in another
 * coroutine (with the cancel's cause; what the kernel took is sent). A pipe has no half-close: its
 * reader gets end-of-file only when the handle (the write end) is closed. Bytes written into the channel after it closed, as a [HandleSocket]'s close
 * from another thread or coroutine closes it, fail their flush with ktor's
 * [ClosedWriteChannelException] (caused by the failed write). A ktor write function that a close
 * interrupts may throw [ClosedWriteChannelException] after its bytes went into the buffer (it looks
 * at the channel again after writing, to flush if needed): those bytes are then sent with the rest.
 * The peer always gets an in-order prefix of what was written; what it got past the last write that
 * returned normally, only the peer can tell.
 *
 * Errors: a failed write (ECONNRESET, EPIPE: the peer is gone) closes the channel with the
 * [dev.ioqueue.SyscallSocketException] as its cause and throws ktor's
 * [io.ktor.utils.io.ClosedByteChannelException] around it: `dev.ioqueue.SyscallFailure.of(e)` finds
 * the errno.
 *
 * Cancellation: a cancelled flush loses nothing: the bytes not yet taken by the kernel stay for
 * the next flush, in order. A cancelled [ByteWriteChannel.flushAndClose] (or a [HandleSocket]'s
 * close cut off by its queue's close) has closed the channel: it drops what was not sent, keeps the
 * cancellation as [ByteWriteChannel.closedCause], and does not half-close; the peer still reads
 * end-of-file when the handle is closed (as after ktor's own cut-off writers), so a peer that must
 * tell a cut stream from a whole one needs the protocol's own framing.
 *
 * Threading: a single writer, as every ktor channel: one coroutine writes at a time. It may run on
 * any dispatcher; on the handle's own loop each write is made in place, elsewhere it is posted to
 * the handle's queue. [ByteWriteChannel.flush] and [ByteWriteChannel.flushAndClose] may also be
 * called by another coroutine while the writer is not writing (flushes take turns);
 * [ByteWriteChannel.cancel], [ByteWriteChannel.closedCause] and [ByteWriteChannel.isClosedForWrite]
 * from any thread. Open one write channel per handle.
 */
public fun Handle.openWriteChannel(autoFlush: Boolean = false): ByteWriteChannel = HandleWriteChannel(this, autoFlush)

internal class HandleWriteChannel(private val handle: Handle, override val autoFlush: Boolean) : ByteWriteChannel {
    private val buffer = Buffer()

    /** Bytes taken from [buffer] and not yet written, between its position and limit. */
    private var chunk: ByteBuffer? = null
    private val flushing = Mutex()

    /**
     * Null while open; [CLOSING] from [flushAndClose]'s start (new writes refused) until it has sent
     * what was buffered, then [CLOSED]; the cause after a cancellation or a failed write.
     */
    private val origin = AtomicReference<Any?>()

    override val isClosedForWrite: Boolean
        get() = origin.get() != null

    override val closedCause: Throwable?
        get() = wrapCause(origin.get() as? Throwable)

    @InternalAPI
    override val writeBuffer: Sink
        get() {
            val closed = origin.get() ?: return buffer
            throw wrapCause(closed as? Throwable, ::ClosedWriteChannelException) ?: ClosedWriteChannelException()
        }

    override suspend fun flush() {
        rethrowIfFailed()
        if (buffer.exhausted() && chunk?.hasRemaining() != true) return
        flushing.withLock { send() }
    }

    private suspend fun send() {
        val chunk = chunk ?: ByteBuffer.allocateDirect(CHUNK_SIZE).limit(0).also { chunk = it }
        while (true) {
            if (!chunk.hasRemaining()) {
                if (buffer.exhausted()) return
                chunk.clear()
                buffer.readAtMostTo(chunk)
                chunk.flip()
            }
            try {
                writeCancellably(chunk)
            } catch (e: IOException) {
                origin.compareAndSet(null, e)
                endIfCancelled(e)
                // Closed by flushAndClose meanwhile (the socket's close() from another coroutine or
                // thread found nothing to send yet): these bytes can no longer go. Without this the
                // loop retried them for good (a closed channel keeps no cause to throw).
                val now = origin.get()
                if (now === CLOSED || now === CLOSING) throw ClosedWriteChannelException(e)
            }
            rethrowIfFailed()
        }
    }

    /**
     * The write of a flush, in a scope of its own that [cancel] cancels from any thread: a flush
     * waiting for room ends at once whatever the fd (a pipe has no half-close to wake it, and a
     * full Unix socket reports no room after one). As any cancelled write, it loses nothing: what
     * the kernel did not take stays in [chunk]. Ended so, it returns, and the caller's next look at
     * [origin] throws the channel's cause.
     */
    private suspend fun writeCancellably(chunk: ByteBuffer) {
        // Each write has a job of its own; the loop's cooperative budget (a yield every 128 calls
        // that did not suspend) counts the loop's calls, whatever their job.
        try {
            coroutineScope {
                val scope = coroutineContext[Job]!!
                sending.set(scope)
                if (origin.get() is Throwable) scope.cancel() // cancel() came before it could see this write
                handle.writeFully(chunk)
            }
        } catch (e: CancellationException) {
            currentCoroutineContext().ensureActive() // the caller's own cancellation comes first
            if (origin.get() !is Throwable) throw e
        } finally {
            sending.set(null)
        }
    }

    /** The scope of the write under way, for [cancel] to end it. */
    private val sending = AtomicReference<Job?>()

    private fun rethrowIfFailed() {
        (origin.get() as? Throwable)?.let { throw wrapCause(it)!! }
    }

    override suspend fun flushAndClose() {
        if (beginClose()) finishClose()
    }

    /**
     * The first half of [flushAndClose]: closed for new writes at once (a socket's close() returns
     * with its write channel closed); whether this call closed it. Any thread.
     */
    internal fun beginClose(): Boolean = origin.compareAndSet(null, CLOSING)

    /** Complete once the [finishClose] of whoever closed the channel has ended (sent, failed or cancelled). */
    private val closeEnded = CompletableDeferred<Unit>()

    /**
     * Waits for a [flushAndClose] another caller began to end: a socket's close must not close the
     * handle under the bytes that close is still sending. At once if no close is under way.
     */
    internal suspend fun awaitCloseEnded() {
        if (origin.get() === CLOSING) closeEnded.await()
    }

    /** The second half, after [beginClose] returned true: sends what was buffered, then half-closes. */
    internal suspend fun finishClose() {
        try {
            flushing.withLock { send() }
        } catch (e: IOException) {
            // closed by the failure, kept as the cause: nothing more can be sent (ktor's own channels also close quietly)
            origin.compareAndSet(CLOSING, (e as? ClosedWriteChannelException)?.cause ?: e)
        } catch (e: CancellationException) {
            // Cut off: what was not sent is dropped. The channel says so (closedCause), and makes no
            // half-close that would tell the peer the stream ended as written.
            origin.compareAndSet(CLOSING, e)
            throw e
        } finally {
            if (origin.compareAndSet(CLOSING, CLOSED)) handle.shutdownOutputQuietly()
            closeEnded.complete(Unit)
        }
    }

    override fun cancel(cause: Throwable?) {
        val failure = cause ?: IOException("Channel was cancelled: $handle")
        while (true) { // also while flushAndClose sends: it ends that send
            val now = origin.get()
            if (now != null && now !== CLOSING) return
            if (origin.compareAndSet(now, failure)) break
        }
        sending.get()?.cancel() // a flush waiting for room ends now, with the cause above
        handle.shutdownOutputQuietly()
    }

    override fun toString(): String = "ByteWriteChannel[$handle]"

    private companion object {
        val CLOSING = Any()
        val CLOSED = Any()
    }
}
