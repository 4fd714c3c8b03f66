package dev.ioqueue.ktor

import dev.ioqueue.Handle
import dev.ioqueue.Sockets
import dev.ioqueue.kotlin.IoQueueDispatcher
import dev.ioqueue.kotlin.dispatcher
import io.ktor.utils.io.ByteReadChannel
import io.ktor.utils.io.ByteWriteChannel
import java.io.IOException
import java.net.InetSocketAddress
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicReference
import kotlin.coroutines.ContinuationInterceptor
import kotlin.coroutines.CoroutineContext
import kotlin.coroutines.EmptyCoroutineContext
import kotlinx.coroutines.CompletableJob
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.DelicateCoroutinesApi
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.InternalCoroutinesApi
import kotlinx.coroutines.Job
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.launch

/**
 * A connected socket shaped like ktor-network's `Socket`: [openReadChannel], [openWriteChannel],
 * [close], [socketContext], [isClosed], [awaitClosed], [remoteAddress], [localAddress], so code
 * written for ktor-network runs on an ioqueue [handle] by changing where the socket comes from:
 *
 * ```
 * serve(listener, group) { connection ->
 *     val socket = connection.asSocket(coroutineContext)
 *     val input = socket.openReadChannel()
 *     val output = socket.openWriteChannel(autoFlush = true)
 *     while (true) output.writeStringUtf8((input.readUTF8Line() ?: break) + "\n")
 *     socket.close()
 * }
 * ```
 *
 * It owns [handle]: the handle is closed when the socket is, and only then; if the handle is
 * closed by its queue (the queue's or a group's close), the socket is closed with it.
 * - [close] closes the read channel (a read waiting then ends at once with an IOException: the
 *   socket's receiving side is shut down), sends what the write channel holds unsent and
 *   half-closes it (as `flushAndClose`), then closes the handle and completes [socketContext]. It
 *   returns at once; [awaitClosed] waits for the end, which waits for the peer to take the unsent
 *   bytes: to end a socket in bounded time whatever the peer does, cancel [socketContext] (or the
 *   parent job), which drops them.
 * - Cancelling the parent job given to [asSocket] (the scope the socket was made in) closes the
 *   handle at once, unsent bytes dropped: no fd is left behind. A read or write waiting on it ends
 *   with an IOException in a coroutine that was not cancelled, with its cancellation in one that was
 *   (a coroutine of the cancelled scope ends as cancelled, not failed).
 * - The channels are the handle's: see [Handle.openReadChannel] and [Handle.openWriteChannel] for
 *   their reads, writes, errors and cancellation.
 *
 * Threading: every member may be called from any thread ([close] with its one caveat). The
 * channels follow ktor's rule of one reader and one writer at a time; they are fastest on a
 * coroutine of the handle's own loop.
 */
public class HandleSocket internal constructor(
    /** The connection's fd; owned by this socket, which closes it: do not close it yourself. Any thread. */
    public val handle: Handle,
    parent: CoroutineContext,
) : AutoCloseable {
    private val job: CompletableJob = Job(parent[Job])
    private val scope = CoroutineScope(parent + job)
    private val closing = AtomicBoolean()
    private val input = AtomicReference<HandleReadChannel?>()
    private val output = AtomicReference<HandleWriteChannel?>()

    /**
     * A child of [job] that closes the handle as it ends, in the thread that ends it (Unconfined):
     * [job] completes only after its children, so never before the handle's close was made (a
     * completion handler runs after the job's state is final: `isClosed` and `join` would see the
     * socket closed with its fd still open).
     */
    private val closer: Job = CoroutineScope(job + Dispatchers.Unconfined).launch(start = CoroutineStart.UNDISPATCHED) {
        try {
            awaitCancellation()
        } finally {
            closeQuietly(handle)
        }
    }

    init {
        // Its handle closed by someone else (the close of the queue it is bound to, a group's
        // shutdown, that queue's thread's end): the socket ends with it, as a close of its own would
        // end it, so isClosed, awaitClosed and socketContext see it (they waited for a close() before).
        // Its channels' calls end by themselves (the handle's close drops their waits). A close that
        // a cancellation of the socket's scope made is that cancellation's: nothing to do here.
        handle.whenClosed().whenComplete { _, _ ->
            if (job.isActive && closing.compareAndSet(false, true)) {
                closer.cancel()
                job.complete()
            }
        }
    }

    /**
     * The socket's lifetime, as ktor's `ASocket.socketContext`: it completes once the handle's close
     * was made (see [Handle.close]: from another loop's thread that close is posted to the handle's
     * loop). Cancelling it closes the socket at once, unsent bytes dropped. Any thread.
     */
    public val socketContext: Job get() = job

    /** Whether the socket is closed: [socketContext] is complete (the handle is closed too). Any thread. */
    public val isClosed: Boolean get() = job.isCompleted

    /**
     * The read channel, opened once (see [Handle.openReadChannel]). Any thread.
     *
     * @throws IllegalStateException if it was opened before
     * @throws IOException if the socket is closed (or closing)
     */
    public fun openReadChannel(): ByteReadChannel {
        val channel = HandleReadChannel(handle)
        attach(input, channel, "reading")
        return channel
    }

    /**
     * The write channel, opened once (see [Handle.openWriteChannel]); with [autoFlush] every write
     * function flushes. Any thread.
     *
     * @throws IllegalStateException if it was opened before
     * @throws IOException if the socket is closed (or closing)
     */
    public fun openWriteChannel(autoFlush: Boolean = false): ByteWriteChannel {
        val channel = HandleWriteChannel(handle, autoFlush)
        attach(output, channel, "writing")
        return channel
    }

    private fun <C> attach(slot: AtomicReference<C?>, channel: C, name: String) {
        if (closing.get()) throw closed()
        check(slot.compareAndSet(null, channel)) { "$name channel has already been set" }
        if (closing.get()) throw closed() // closed meanwhile: close() may not have seen it
    }

    private fun closed() = IOException("Socket closed: $handle")

    /**
     * Who is at the other end (an [InetSocketAddress]), or null for a Unix socket. One syscall. Any thread, while open.
     *
     * The handle is held open for the syscall (a close from another thread waits for it), so the
     * answer is never that of a connection that took the fd's number since.
     *
     * @throws IllegalStateException once the handle is closed
     */
    public val remoteAddress: InetSocketAddress? get() = Sockets.remoteAddress(handle)

    /** The local address and port, or null for a Unix socket; as [remoteAddress]. Any thread, while open. */
    public val localAddress: InetSocketAddress? get() = Sockets.localAddress(handle)

    /**
     * Closes the socket: the read channel at once (a read waiting in it is woken by shutting the
     * socket's receiving side down, and ends with an IOException), the write channel after sending
     * what it holds (then a half-close), then the handle. The write channel refuses new writes from
     * this call on (`ClosedWriteChannelException`). Returns at once: the sending goes on in a
     * coroutine of [socketContext] which ends when the handle is closed, once the peer has taken
     * the bytes: on the handle's loop if it has one and this is another thread (a writer on that
     * loop is then never in the middle of a write), else started in place (on the parent's
     * dispatcher); with nothing to send and no loop in between, the handle is closed before [close]
     * returns. Later calls do nothing. Any thread; but as the close sends the writer's buffer, it is
     * ktor's second writer: while a coroutine may be writing anywhere but on the loop the handle is
     * bound to (by its first I/O there, `bind`, or [asSocket]), close from that writer (or after
     * it), or cancel the socket's parent job, which drops what is unsent.
     */
    @OptIn(DelicateCoroutinesApi::class) // CoroutineStart.ATOMIC
    override fun close() {
        if (!closing.compareAndSet(false, true)) return
        input.get()?.let {
            it.cancel(closed())
            // A read waiting in another coroutine returns now (SHUT_RD) and finds the channel closed,
            // not once the send below has ended: that waits for the peer to take the bytes. Only
            // then: a Unix socket's SHUT_RD also ends its peer's sending.
            if (it.reading) handle.shutdownInputQuietly()
        }
        val output = output.get()
        val sending = output != null && output.beginClose() // no new write from here on
        // What the writer buffered is sent on the handle's loop, if it has one and this is not it: a
        // writer on that loop is then never in the middle of a write (one coroutine runs at a time
        // there), where sending it from this thread would read its buffer as it writes. ATOMIC: the
        // body runs even if the parent is cancelled first, so the socket still ends.
        val queue = handle.queue()
        if (sending && queue != null && !queue.isOwnerThread) {
            scope.launch(queue.dispatcher, CoroutineStart.ATOMIC) { finishClose(output, sending = true) }
        } else {
            scope.launch(start = CoroutineStart.UNDISPATCHED) { finishClose(output, sending) }
        }
    }

    /** Sends what [output] holds (if this close began its closing), or waits for the flushAndClose that did; then ends the socket. */
    private suspend fun finishClose(output: HandleWriteChannel?, sending: Boolean) {
        try {
            if (sending) output!!.finishClose() else output?.awaitCloseEnded()
        } finally {
            closer.cancel() // closes the handle, here
            job.complete()
        }
    }

    /**
     * Suspends until the socket is closed ([socketContext] complete), as ktor's `awaitClosed`
     * (ktor-network 3.5): then, if [socketContext] was cancelled (by its parent, or directly), throws
     * its cancellation. From any coroutine, on any dispatcher.
     *
     * @throws kotlinx.coroutines.CancellationException if the socket ended by a cancellation
     */
    @OptIn(InternalCoroutinesApi::class) // Job.getCancellationException, as ktor's own awaitClosed
    public suspend fun awaitClosed() {
        job.join()
        if (job.isCancelled) throw job.getCancellationException()
    }

    /** The handle, and whether the socket is closed. */
    override fun toString(): String = "HandleSocket[$handle${if (isClosed) ", closed" else ""}]"
}

/**
 * A ktor-network-shaped socket over this connected handle (see [HandleSocket]), which owns the
 * handle from now on. Its lifetime is a child of [parent]'s job, if any: pass the scope's
 * `coroutineContext` so cancelling the scope closes the socket. If [parent]'s dispatcher is a
 * loop's ([IoQueueDispatcher]: a coroutine of `serve`, `runIoQueue`, a group) and the handle is
 * unbound, the handle is bound to that loop now, so a [HandleSocket.close] from another thread
 * sends the writer's buffer there, between its writes. The close's sending coroutine runs on the
 * handle's loop when the close comes from another thread, else it starts in place and goes on on
 * [parent]'s dispatcher (`Dispatchers.Default` without one). Any thread.
 */
public fun Handle.asSocket(parent: CoroutineContext = EmptyCoroutineContext): HandleSocket {
    val loop = (parent[ContinuationInterceptor] as? IoQueueDispatcher)?.queue
    if (loop != null && queue() == null) {
        try {
            bind(loop)
        } catch (_: IllegalStateException) {
            // the handle or the loop is closed: the socket finds it so at its first use
        }
    }
    return HandleSocket(this, parent)
}

private fun closeQuietly(handle: Handle) {
    try {
        handle.close()
    } catch (_: RuntimeException) {
        // EBADF from close(2): the fd was closed behind the handle's back; nothing is left to release
    }
}
