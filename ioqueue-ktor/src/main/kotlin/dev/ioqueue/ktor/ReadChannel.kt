package dev.ioqueue.ktor

import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.kotlin.read
import io.ktor.utils.io.ByteReadChannel
import io.ktor.utils.io.ClosedReadChannelException
import io.ktor.utils.io.ConcurrentIOException
import io.ktor.utils.io.InternalAPI
import java.io.IOException
import java.nio.ByteBuffer
import java.util.concurrent.atomic.AtomicReference
import kotlinx.coroutines.Job
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.io.Buffer
import kotlinx.io.Source
import kotlinx.io.transferFrom

/**
 * A ktor [ByteReadChannel] that reads this handle's stream (a TCP or Unix socket, a pipe): every
 * ktor read function works on it (`readAvailable`, `readUTF8Line`, `readFully`, `readInt`,
 * `copyTo`...). The handle stays yours: close it (or the [HandleSocket] that owns it) when done.
 *
 * There is no coroutine of its own behind it, unlike ktor-network's socket channels: the coroutine
 * that reads makes the read, with the handle's suspending [read] (on its own loop, in place), so
 * nothing is read ahead of what is asked for beyond one 16 KiB read. End-of-file closes the
 * channel for reading once its bytes are taken (`readUTF8Line` returns null, `readAvailable` -1,
 * `readFully` throws [kotlinx.io.EOFException]).
 *
 * Errors: a failed read (a peer reset, ECONNRESET) closes the channel with the
 * [dev.ioqueue.SyscallSocketException] as its cause and throws ktor's
 * [io.ktor.utils.io.ClosedByteChannelException] around it, as ktor-network's channels do:
 * `dev.ioqueue.SyscallFailure.of(e)` finds the errno. A close of the handle while a read waits ends
 * it the same way (the cause is an [dev.ioqueue.kotlin.AwaitClosedException]).
 *
 * Cancellation: a cancelled read loses nothing (what the kernel gave is kept for the next read),
 * and the channel stays open. [ByteReadChannel.cancel] closes the channel for reading at once; a
 * read waiting in another coroutine sees it when it returns (bytes, end-of-file) or when the
 * handle is closed: to end a waiting read at once, close the handle or the socket.
 *
 * Threading: a single reader, as every ktor channel: one coroutine reads at a time (a second
 * whose read would wait while the first's does gets ktor's `ConcurrentIOException`; a read made
 * while a cancelled one ends waits for it). It may run on
 * any dispatcher; on the handle's own loop (`IoQueue.dispatcher`) every read is made in place,
 * elsewhere it is posted to the handle's queue. [ByteReadChannel.cancel], [ByteReadChannel.closedCause]
 * and [ByteReadChannel.isClosedForRead] may be called from any thread. Open one read channel per
 * handle, and read the handle through it only: bytes it has buffered are not seen by other reads.
 */
public fun Handle.openReadChannel(): ByteReadChannel = HandleReadChannel(this)

internal class HandleReadChannel(private val handle: Handle) : ByteReadChannel {
    private val buffer = Buffer()
    private var chunk: ByteBuffer? = null

    @Volatile
    private var endOfInput = false

    /** What closed the channel other than end-of-file: a cancellation or a failed read. */
    private val origin = AtomicReference<Throwable?>()

    override val closedCause: Throwable?
        get() = wrapCause(origin.get())

    override val isClosedForRead: Boolean
        get() = origin.get() != null || (endOfInput && buffer.exhausted())

    @InternalAPI
    override val readBuffer: Source
        get() {
            origin.get()?.let { throw wrapCause(it, ::ClosedReadChannelException)!! }
            return buffer
        }

    override suspend fun awaitContent(min: Int): Boolean {
        rethrowIfClosed()
        while (buffer.size < min && !endOfInput) fill()
        return buffer.size >= min
    }

    /**
     * A read of the handle is under way, or about to be: a socket's close wakes it (shutting the
     * receiving side down) only then. Set before the read looks at [origin], which the close sets
     * before it looks here, so one of the two sees the other.
     */
    @Volatile
    var reading: Boolean = false
        private set

    /**
     * One read at a time into [chunk]: a read cancelled by code on the loop frees the fd at once but
     * moves its chunk into [buffer] a task later, so a read asked for meanwhile waits for it.
     */
    private val filling = Mutex()

    /** The job of the coroutine whose read is under way: a cancelled one's end is waited for, a live one's is not. */
    @Volatile
    private var readerJob: Job? = null

    /**
     * One read of the handle into [buffer]; end-of-file noted. A cancelled read keeps what it moved.
     *
     * @throws ConcurrentIOException if another coroutine's read is under way and not cancelled
     *     (one reader at a time, as ktor's own channels refuse a second)
     */
    private suspend fun fill() {
        val other = readerJob
        if (filling.isLocked && other != null && other.isActive) {
            throw ConcurrentIOException("$handle: a read is already under way in another coroutine (one reader at a time)")
        }
        filling.withLock {
            readerJob = currentCoroutineContext()[Job]
            try {
                fillOnce()
            } finally {
                readerJob = null
            }
        }
    }

    private suspend fun fillOnce() {
        val chunk = chunk ?: ByteBuffer.allocateDirect(CHUNK_SIZE).also { chunk = it }
        chunk.clear()
        reading = true
        val count = try {
            if (origin.get() != null) -2 else handle.read(chunk) // closed meanwhile: no read to wait in
        } catch (e: IOException) {
            origin.compareAndSet(null, e)
            endIfCancelled(e)
            -2
        } finally {
            reading = false
            chunk.flip()
            buffer.transferFrom(chunk)
        }
        if (count == Fds.EOF) endOfInput = true
        rethrowIfClosed()
    }

    private fun rethrowIfClosed() {
        origin.get()?.let { throw wrapCause(it)!! }
    }

    override fun cancel(cause: Throwable?) {
        origin.compareAndSet(null, cause ?: IOException("Channel was cancelled: $handle"))
    }

    override fun toString(): String = "ByteReadChannel[$handle]"
}
