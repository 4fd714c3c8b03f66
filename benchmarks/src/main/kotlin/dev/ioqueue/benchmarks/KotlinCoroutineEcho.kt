package dev.ioqueue.benchmarks

import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoQueue
import dev.ioqueue.IoQueueGroup
import dev.ioqueue.Sockets
import dev.ioqueue.SyscallException
import dev.ioqueue.kotlin.accept
import dev.ioqueue.kotlin.dispatcher
import dev.ioqueue.kotlin.nextDispatcher
import dev.ioqueue.kotlin.read
import dev.ioqueue.kotlin.writeFully
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
 * each connection's coroutine on the group's next dispatcher, where the fd stays; with [reusePort]
 * each loop accepts on its own SO_REUSEPORT listener instead. Each loop keeps the buffers of closed
 * connections for new ones, as the Java server does.
 */
class KotlinCoroutineEcho(loops: Int, reusePort: Boolean) : AutoCloseable {
    private val group = IoQueueGroup.start(loops, "kotlin-echo")

    /** The queues of the server's loops. */
    val queues: List<IoQueue> get() = group.queues()
    private val listenFds = ArrayList<Int>()
    val port: Int
    private val scope = CoroutineScope(SupervisorJob())

    init {
        val loopback = InetAddress.getLoopbackAddress()
        listenFds += Sockets.listenTcp(loopback, 0, 1024, reusePort)
        port = Sockets.localPort(listenFds[0])
        if (reusePort) {
            repeat(loops - 1) { listenFds += Sockets.listenTcp(loopback, port, 1024, true) }
            for ((queue, fd) in group.queues().zip(listenFds)) {
                scope.launch(queue.dispatcher) { while (true) { val c = accept(fd); launch { echo(c) } } }
            }
        } else {
            scope.launch(group.queues()[0].dispatcher) {
                while (true) {
                    val c = accept(listenFds[0])
                    scope.launch(group.nextDispatcher()) { echo(c) } // the fd is that loop's from now on
                }
            }
        }
    }

    private suspend fun echo(fd: Int) {
        val handle = Handle.of(fd) // owned by a Handle: an io_uring loop uses it as a fixed file
        val free = FREE.get() // this loop's: the coroutine never leaves the loop's thread
        val buffer = free.poll() ?: ByteBuffer.allocateDirect(16 * 1024)
        try {
            while (true) {
                buffer.clear()
                if (read(fd, buffer) == Fds.EOF) break
                buffer.flip()
                writeFully(fd, buffer)
            }
        } catch (_: SyscallException) {
            // the client went away (ECONNRESET, EPIPE)
        } finally {
            handle.close()
            free.push(buffer)
        }
    }

    private companion object {
        val FREE: ThreadLocal<ArrayDeque<ByteBuffer>> = ThreadLocal.withInitial { ArrayDeque() }
    }

    override fun close() {
        scope.cancel()
        listenFds.forEachIndexed { i, fd -> group.queues()[i].execute { Fds.close(fd) } }
        group.shutdown(Duration.ofSeconds(10))
    }
}
