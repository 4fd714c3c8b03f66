package dev.ioqueue.benchmarks

import dev.ioqueue.Handle
import dev.ioqueue.IoQueue
import dev.ioqueue.IoQueueGroup
import dev.ioqueue.Sockets
import dev.ioqueue.kotlin.serve
import dev.ioqueue.ktor.HandleSocket
import dev.ioqueue.ktor.asSocket
import java.net.InetAddress
import java.time.Duration
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel

/**
 * ktor's echo on ioqueue: [KtorEcho]'s per-connection code, unchanged but for where the socket
 * comes from (ioqueue-ktor's [HandleSocket] over each connection [serve] accepts, instead of
 * ktor-network's `server.accept()`), on [loops] loops of an [IoQueueGroup]. What the row beside
 * ktor's measures is the adapter and the loops under the same ktor channel calls.
 */
class KtorAdapterEcho(loops: Int) : AutoCloseable {
    private val group = IoQueueGroup.start(loops, "ktor-adapter-echo")

    /** The queues of the server's loops. */
    val queues: List<IoQueue> get() = group.queues()
    val port: Int
    private val scope = CoroutineScope(SupervisorJob())

    init {
        val listener = Handle.of(Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 1024))
        port = Sockets.localPort(listener.fd())
        scope.serve(listener, group) { connection -> echo(connection.asSocket(coroutineContext)) }
    }

    private suspend fun echo(socket: HandleSocket) =
        echoChannels(socket.openReadChannel(), socket.openWriteChannel(autoFlush = false)) { socket.close() }

    /** Cancels the connections (each socket closes its handle), then stops the loops. */
    override fun close() {
        scope.cancel()
        group.shutdown(Duration.ofSeconds(10))
    }
}
