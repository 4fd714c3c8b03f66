package dev.ioqueue.benchmarks

import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoQueue
import dev.ioqueue.IoQueueGroup
import dev.ioqueue.Sockets
import dev.ioqueue.kotlin.accept
import dev.ioqueue.kotlin.dispatcher
import dev.ioqueue.kotlin.read
import dev.ioqueue.kotlin.writeFully
import java.io.IOException
import java.net.InetAddress
import java.nio.ByteBuffer
import java.time.Duration
import java.util.ArrayDeque
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch

/**
 * The echo server in Kotlin coroutines: one coroutine per connection, `read` then `writeFully` on
 * the loop's dispatcher, on [loops] loops of an [IoQueueGroup]. The first loop accepts and launches
 * each connection's coroutine on the group's next dispatcher, where the connection stays; with
 * [reusePort] each loop accepts on its own SO_REUSEPORT listener instead. Each loop keeps the
 * buffers of closed connections for new ones, as the Java server does.
 *
 * The server owns its fds: each listener and each connection is a [Handle] bound to the loop that
 * uses it (on io_uring, the ring's to read and write), so [close] leaves none of them open.
 */
class KotlinCoroutineEcho(loops: Int, reusePort: Boolean) : AutoCloseable {
    private val group = IoQueueGroup.start(loops, "kotlin-echo")

    /** The queues of the server's loops. */
    val queues: List<IoQueue> get() = group.queues()
    private val listeners = ArrayList<Handle>()
    val port: Int
    private val scope = CoroutineScope(SupervisorJob())

    init {
        val loopback = InetAddress.getLoopbackAddress()
        val queues = group.queues()
        listeners += Handle.of(Sockets.listenTcp(loopback, 0, 1024, reusePort), queues[0])
        port = Sockets.localPort(listeners[0].fd())
        if (reusePort) {
            for (i in 1 until loops) listeners += Handle.of(Sockets.listenTcp(loopback, port, 1024, true), queues[i])
            for ((queue, listener) in queues.zip(listeners)) {
                scope.launch(queue.dispatcher) {
                    while (true) {
                        val c = listener.accept() // bound to this loop at its first use
                        launch { echo(c) }
                    }
                }
            }
        } else {
            scope.launch(queues[0].dispatcher) {
                while (true) {
                    val c = listeners[0].accept()
                    val target = group.next()
                    try {
                        c.bind(target) // that loop's from now on: its close closes it, even before the coroutine runs
                    } catch (_: IllegalStateException) {
                        c.close() // that loop is closed
                        continue
                    }
                    scope.launch(target.dispatcher) { echo(c) }
                }
            }
        }
    }

    private suspend fun echo(connection: Handle) {
        val free = FREE.get() // this loop's: the coroutine never leaves the loop's thread
        val buffer = free.poll() ?: ByteBuffer.allocateDirect(16 * 1024)
        try {
            while (true) {
                buffer.clear()
                if (connection.read(buffer) == Fds.EOF) break
                buffer.flip()
                connection.writeFully(buffer)
            }
        } catch (_: IOException) {
            // the client went away (ECONNRESET, EPIPE), or the loop closed the connection
        } finally {
            connection.close()
            free.push(buffer)
        }
    }

    private companion object {
        val FREE: ThreadLocal<ArrayDeque<ByteBuffer>> = ThreadLocal.withInitial { ArrayDeque() }
    }

    /** Cancels the coroutines (each closes its connection), then stops the loops, whose queues close what is left. */
    override fun close() {
        scope.cancel()
        group.shutdown(Duration.ofSeconds(10))
    }
}
