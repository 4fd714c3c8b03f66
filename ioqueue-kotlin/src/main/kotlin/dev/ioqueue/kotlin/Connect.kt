package dev.ioqueue.kotlin

import dev.ioqueue.Connect
import dev.ioqueue.Handle
import dev.ioqueue.IoQueue
import java.io.IOException
import java.net.InetSocketAddress
import java.net.SocketAddress
import kotlin.coroutines.ContinuationInterceptor
import kotlin.coroutines.resumeWithException
import kotlin.time.Duration
import kotlin.time.toJavaDuration
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.future.await
import kotlinx.coroutines.suspendCancellableCoroutine

/**
 * Connects a stream socket to [address] and returns the connection: TCP to an
 * [InetSocketAddress] (an unresolved one is resolved off the loop, on a virtual thread, and its
 * addresses tried as Happy Eyeballs does), or a Unix socket to a [java.net.UnixDomainSocketAddress];
 * see [Connect] for the rules. [timeout] null means no limit.
 *
 * On an [IoQueueDispatcher] the connect runs on that loop and the handle is bound to it; on any
 * other dispatcher it runs on the shared queue and the handle is unbound (the first queue that
 * uses it gets it). Cancellation cancels the connect and closes its sockets; a connection that
 * arrives as the coroutine is cancelled is closed, never leaked.
 *
 * @throws java.net.ConnectException if refused (ECONNREFUSED)
 * @throws java.net.SocketTimeoutException after [timeout] (ETIMEDOUT, the socket closed)
 * @throws java.net.UnknownHostException if the name does not resolve
 */
public suspend fun connect(address: SocketAddress, timeout: Duration? = null): Handle {
    val limit = timeout?.toJavaDuration()
    val interceptor = currentCoroutineContext()[ContinuationInterceptor]
    if (interceptor is IoQueueDispatcher && interceptor.queue.isOwnerThread) {
        val queue = interceptor.queue
        return suspendCancellableCoroutine { cont ->
            val pending = Connect.start(queue, address, limit, object : Connect.Completion {
                override fun connected(connection: Handle) {
                    cont.resume(connection) { _, handle, _ -> handle.close() }
                }

                override fun failed(failure: IOException) {
                    cont.resumeWithException(failure)
                }
            })
            cont.invokeOnCancellation { pending.cancel() }
        }
    }
    val connecting = Connect.future(sharedQueue(), address, limit)
    try {
        return connecting.await()
    } catch (e: CancellationException) {
        // Connected as the coroutine was cancelled (await's cancel of the future came too late, and
        // the connection it brought was dropped): closed, never leaked.
        connecting.thenAccept(::closeQuietly)
        throw e
    }
}

/** [connect] to [host]'s addresses at [port], the name resolved off the loop. */
public suspend fun connect(host: String, port: Int, timeout: Duration? = null): Handle {
    require(port in 1..65535) { "connect: port $port is outside 1..65535" }
    return connect(InetSocketAddress.createUnresolved(host, port), timeout)
}
