package dev.ioqueue.ktor

import dev.ioqueue.Handle
import dev.ioqueue.Sockets
import io.ktor.utils.io.ClosedByteChannelException
import java.io.UncheckedIOException
import java.util.concurrent.RejectedExecutionException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.Job
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.ensureActive

/** The bytes one read or write moves at most: the channels' own direct buffer each, made at first use. */
internal const val CHUNK_SIZE: Int = 16 * 1024

/**
 * What a closed channel throws, made from the cause it was closed with, as ktor's own `ByteChannel`
 * makes it: a cancellation stays a cancellation, anything else is wrapped ([ClosedByteChannelException]
 * by default), so `SyscallFailure.of(e)` still finds the errno in the cause chain.
 */
internal inline fun wrapCause(
    origin: Throwable?,
    wrap: (Throwable) -> Throwable = ::ClosedByteChannelException,
): Throwable? = when (origin) {
    null -> null
    is CancellationException -> CancellationException(origin.message, origin)
    else -> wrap(origin)
}

/**
 * Throws a [CancellationException] if the calling coroutine is cancelled, or is about to be: a job
 * above it is cancelling. An I/O failure that comes to such a coroutine (its socket closed by the
 * same cancelled scope: a scope's cancel reaches its children one after another, and the socket,
 * made before them, may close its handle under them first) ends it as cancelled, not failed, so
 * cancelling a scope fails none of its coroutines and reaches no exception handler.
 */
@OptIn(ExperimentalCoroutinesApi::class) // Job.parent
internal suspend fun endIfCancelled(failure: Throwable) {
    val own = currentCoroutineContext()[Job] ?: return
    own.ensureActive()
    var above = own.parent
    while (above != null) {
        if (above.isCancelled) throw CancellationException("the coroutine's scope is cancelled", failure)
        above = above.parent
    }
}

/**
 * Half-closes the socket (SHUT_WR: the peer reads end-of-file) on the handle's own loop, where no
 * close can run under the syscall; at once if this is that loop's thread or the handle is unbound
 * (never used for I/O: nothing of its own queue is pending). Quiet: a closed handle, a closed queue
 * or a failed `shutdown` (ENOTCONN after a reset, ENOTSOCK for a pipe) leave nothing to do.
 * Any thread.
 */
internal fun Handle.shutdownOutputQuietly() = shutdownQuietly(output = true)

/**
 * Shuts the receiving side down (SHUT_RD: a read waiting on the socket returns at once; see
 * `Sockets.shutdownInput` for what the peer sees), where and as quietly as
 * [shutdownOutputQuietly]. Any thread.
 */
internal fun Handle.shutdownInputQuietly() = shutdownQuietly(output = false)

private fun Handle.shutdownQuietly(output: Boolean) {
    val queue = queue()
    if (queue == null || queue.isOwnerThread) {
        shutdownNow(output)
        return
    }
    try {
        queue.execute { shutdownNow(output) }
    } catch (_: RejectedExecutionException) {
        // the queue is closed, and with it the handle
    }
}

private fun Handle.shutdownNow(output: Boolean) {
    try {
        // The handle overloads hold the fd for the syscall: a close from another thread waits, so
        // the shutdown never reaches a file that took the number since.
        if (output) Sockets.shutdownOutput(this) else Sockets.shutdownInput(this)
    } catch (_: IllegalStateException) {
        // closed (or closing): nothing to shut down
    } catch (_: UncheckedIOException) {
        // ENOTCONN (the peer is gone), ENOTSOCK (a pipe): nothing to shut down
    }
}
