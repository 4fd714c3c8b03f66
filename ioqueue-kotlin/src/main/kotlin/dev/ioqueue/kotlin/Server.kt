package dev.ioqueue.kotlin

import dev.ioqueue.Errno
import dev.ioqueue.Handle
import dev.ioqueue.IoQueueGroup
import dev.ioqueue.SyscallFailure
import java.io.IOException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.DelicateCoroutinesApi
import kotlinx.coroutines.Job
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.ensureActive
import kotlinx.coroutines.launch
import kotlinx.coroutines.supervisorScope

/** How long the accept loop first waits before trying again after a transient failure; doubled each time in a row. */
private const val FIRST_BACKOFF_MILLIS = 5L
/** The longest it waits (Go's `http.Server` too). */
private const val MAX_BACKOFF_MILLIS = 1_000L

/**
 * Whether an accept failure means the listener itself is gone or was never one (closed, a group's
 * shutdown, EBADF, EINVAL: not listening, ENOTSOCK; EOPNOTSUPP before any accept succeeded: not a
 * stream socket), so that trying again is useless.
 */
private fun listenerGone(e: IOException, acceptedAny: Boolean): Boolean {
    if (e is AwaitClosedException || e is java.nio.channels.ClosedChannelException) return true
    val errno = SyscallFailure.of(e)?.errno() ?: return true
    return errno == Errno.EBADF || errno == Errno.EINVAL || errno == Errno.ENOTSOCK || errno == Errno.EOPNOTSUPP && !acceptedAny
}

/**
 * The network errors Linux's accept passes on from a pending connection (accept(2): "treat them
 * like EAGAIN by retrying"): that connection is gone, the next may be fine, so the loop retries at
 * once. Other failures (out of fds or memory, EPERM) back off.
 */
private val PENDING_CONNECTION_ERRORS = setOf(
    Errno.ENETDOWN, Errno.EPROTO, Errno.ENOPROTOOPT, Errno.EHOSTDOWN, Errno.ENONET,
    Errno.EHOSTUNREACH, Errno.EOPNOTSUPP, Errno.ENETUNREACH,
)

/**
 * Serves [listener], a listening socket (`Handle.of(Sockets.listenTcp(address, port, backlog))`,
 * or any listening socket this library can accept on), as a child of this scope: accepts each
 * connection and launches one coroutine for it, [connection], on the [group]'s loops in turn
 * (round robin), where its [Handle] is bound by its first call.
 *
 * Each connection's handle is closed once its body and the coroutines it launched have ended (a
 * writer, a socket's close still sending): a body that returns while a child still works on the
 * handle does not cut it off. So a child that never ends (or a socket's close that waits for a peer
 * that never reads) keeps its connection's fd until the server is cancelled: bound such waits with
 * a timeout, as a server facing peers it does not trust must anyway.
 *
 * Structured like the scope it runs in:
 * - Cancelling the returned job (or this scope), even before the server started, closes the
 *   listener (before the job completes), cancels every connection's
 *   coroutine, closes every connection's handle (also one accepted but never started), and the job
 *   completes once all of them have finished.
 * - A connection whose coroutine fails fails alone (supervisor semantics, as a server expects):
 *   its handle is closed and its exception goes to the scope's `CoroutineExceptionHandler` (or,
 *   without one, to the thread's uncaught-exception handler, as any failed `launch`'s does); the
 *   others go on serving.
 * - The accept loop runs on the listener's queue (bound to the group's next loop if unbound). A
 *   network error of a pending connection (ENETDOWN, EPROTO, EHOSTUNREACH...: accept(2)) is
 *   retried at once; another transient failure (EMFILE, ENFILE, ENOBUFS, ENOMEM, EPERM) after
 *   5 ms, doubled for each failure in a row up to a second; a failure that says the listener is
 *   unusable (EBADF, EINVAL, ENOTSOCK, EOPNOTSUPP before any accept succeeded, or closed) fails
 *   the job (and so, as for any child, the scope), after closing everything as a cancellation
 *   does. If the listener's queue closed (its group shut down), the job ends as cancelled, not failed;
 *   so does a connection's coroutine that fails because its loop closed (the [AwaitClosedException]
 *   or [java.nio.channels.ClosedChannelException] its waits and calls throw then is not reported
 *   as its failure).
 * - The listener is closed as soon as the accept loop ends, before the connections have finished.
 *
 * The server owns [listener] from now on: it closes it when it ends. Threading: call it from any
 * thread; [connection] runs on its connection's loop.
 */
@OptIn(DelicateCoroutinesApi::class) // CoroutineStart.ATOMIC
public fun CoroutineScope.serve(
    listener: Handle,
    group: IoQueueGroup,
    connection: suspend CoroutineScope.(Handle) -> Unit,
): Job {
    val acceptLoop = listener.queue() ?: group.next()
    // ATOMIC: the body starts even if the job is cancelled before it is dispatched (a cancelled
    // scope, a cancel at once, a rejected dispatch, which runs it on Dispatchers.IO), so its
    // finally closes the listener before the job completes; it accepts nothing then.
    return launch(acceptLoop.dispatcher, CoroutineStart.ATOMIC) {
        try {
            ensureActive()
            supervisorScope {
                try {
                    acceptConnections(listener, acceptLoop, group, connection)
                } finally {
                    closeQuietly(listener) // now, not once every connection has ended: no backlog fills unaccepted
                }
            }
        } finally {
            closeQuietly(listener)
        }
    }
}

/** The accept loop of [serve], in its supervisor scope: one coroutine per connection. Ends only by a throw. */
private suspend fun CoroutineScope.acceptConnections(
    listener: Handle,
    acceptLoop: dev.ioqueue.IoQueue,
    group: IoQueueGroup,
    connection: suspend CoroutineScope.(Handle) -> Unit,
) {
    var backoff = FIRST_BACKOFF_MILLIS
    var acceptedAny = false
    while (true) {
        val client = try {
            listener.accept()
        } catch (e: IOException) {
            if (acceptLoop.isClosed) throw CancellationException("the queue of the server's listener closed", e)
            if (listenerGone(e, acceptedAny)) throw e
            if (SyscallFailure.of(e)?.errno() in PENDING_CONNECTION_ERRORS) continue
            delay(backoff)
            backoff = minOf(backoff * 2, MAX_BACKOFF_MILLIS)
            continue
        }
        backoff = FIRST_BACKOFF_MILLIS
        acceptedAny = true
        val loop = group.next()
        val job = launch(loop.dispatcher) {
            // Closed once the body and the coroutines it launched (a writer, a socket's close still
            // sending) have ended, not when the body returns; on the connection's loop, before the
            // coroutine completes (so before the server does).
            try {
                coroutineScope { connection(client) }
            } catch (e: IOException) {
                // Its loop closed under it (the group shut down: its waits end with AwaitClosedException,
                // its calls with ClosedChannelException): cancelled with the server, not failed. Any
                // other failure (a reset, the body's own) is the connection's, and is reported.
                val closedUnder = e is AwaitClosedException || e is java.nio.channels.ClosedChannelException
                if (closedUnder && loop.isClosed) throw CancellationException("the queue of the connection closed", e)
                throw e
            } finally {
                closeQuietly(client)
            }
        }
        // A coroutine cancelled before it started never runs its body: its handle is closed here.
        job.invokeOnCompletion { closeQuietly(client) }
    }
}

/** Closes [handle], ignoring EBADF (closed behind its back): for closes nobody can be told of. Any thread. */
internal fun closeQuietly(handle: Handle) {
    try {
        handle.close()
    } catch (_: RuntimeException) {
        // EBADF from close(2): the fd was closed behind its back; nothing is left to release
    }
}
