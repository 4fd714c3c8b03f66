package dev.ioqueue.benchmarks

import io.ktor.network.selector.SelectorManager
import io.ktor.network.sockets.Socket
import io.ktor.network.sockets.aSocket
import io.ktor.network.sockets.openReadChannel
import io.ktor.network.sockets.openWriteChannel
import io.ktor.network.sockets.port
import io.ktor.utils.io.ByteReadChannel
import io.ktor.utils.io.ByteWriteChannel
import io.ktor.utils.io.readAvailable
import io.ktor.utils.io.writeFully
import java.util.concurrent.Executors
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking

/**
 * The ktor peer: ktor-network's raw TCP sockets, one coroutine per connection reading what is
 * available into a 16 KiB array, writing it back and flushing. ktor's selector and every
 * connection's coroutine run on a dispatcher of [loops] threads (ktor has one selector per
 * `SelectorManager`; its coroutines spread over the dispatcher's threads).
 */
class KtorEcho(loops: Int) : AutoCloseable {
    private val threads = Executors.newFixedThreadPool(loops) { r -> Thread(r, "ktor-echo") }
    private val dispatcher = threads.asCoroutineDispatcher()
    private val selector = SelectorManager(dispatcher)
    private val server = runBlocking { aSocket(selector).tcp().bind("127.0.0.1", 0) }
    val port: Int = server.port
    private val scope = CoroutineScope(SupervisorJob() + dispatcher)

    init {
        scope.launch {
            while (true) {
                val socket = server.accept()
                launch { echo(socket) }
            }
        }
    }

    private suspend fun echo(socket: Socket) =
        echoChannels(socket.openReadChannel(), socket.openWriteChannel(autoFlush = false)) { socket.close() }

    override fun close() {
        scope.cancel()
        server.close()
        selector.close()
        threads.shutdownNow()
    }
}

/**
 * The ktor servers' echo of one connection (ktor-network's and ioqueue-ktor's run the same code):
 * what [input] brings goes back through [output], flushed per read, until end-of-file or an error
 * (the client went away); then [close].
 */
internal suspend fun echoChannels(input: ByteReadChannel, output: ByteWriteChannel, close: () -> Unit) {
    val buffer = ByteArray(16 * 1024)
    try {
        while (true) {
            val n = input.readAvailable(buffer, 0, buffer.size)
            if (n < 0) break
            output.writeFully(buffer, 0, n)
            output.flush()
        }
    } catch (_: Exception) {
        // the client went away
    } finally {
        close()
    }
}
