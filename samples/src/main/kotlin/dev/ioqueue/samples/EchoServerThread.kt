package dev.ioqueue.samples

import dev.ioqueue.Fds
import dev.ioqueue.IoQueue
import dev.ioqueue.Sockets
import dev.ioqueue.kotlin.runIoQueue
import java.net.InetAddress
import java.util.concurrent.CompletableFuture
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Job
import kotlinx.coroutines.currentCoroutineContext

/**
 * A [MixedEchoServer] on its own loop thread, listening on 127.0.0.1 ([port] 0 picks one).
 * [stop] cancels the server from the calling thread, which closes every connection, and waits.
 */
class EchoServerThread(port: Int = 0, threadName: String = "echo-loop") : AutoCloseable {
    private val listenFd = Sockets.listenTcp(InetAddress.getLoopbackAddress(), port, 1024)
    /** The port it listens on. */
    val port: Int = Sockets.localPort(listenFd)
    private val server = MixedEchoServer(listenFd)
    /** What the server did so far. */
    val stats: EchoStats get() = server.stats
    private val job = CompletableFuture<Job>()
    private val failure = CompletableFuture<Throwable?>()
    private val thread = Thread({
        try {
            runIoQueue {
                job.complete(currentCoroutineContext()[Job]!!)
                server.serve()
            }
        } catch (_: CancellationException) {
            failure.complete(null)
        } catch (t: Throwable) {
            failure.complete(t)
        } finally {
            job.complete(Job()) // in case serve() failed before publishing its job
            Fds.close(listenFd)
            IoQueue.current().close()
        }
    }, threadName)

    init {
        thread.start()
        job.join()
    }

    /** Waits until the server has seen every accepted connection end. */
    fun awaitAllClosed() {
        while (stats.openConnections() > 0) Thread.sleep(5)
    }

    /** Stops the server; rethrows what made it fail, if anything did. */
    fun stop() {
        job.join().cancel()
        thread.join()
        failure.join()?.let { throw it }
    }

    override fun close() = stop()
}
