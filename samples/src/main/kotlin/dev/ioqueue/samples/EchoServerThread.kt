package dev.ioqueue.samples

import dev.ioqueue.Fds
import dev.ioqueue.IoQueue
import dev.ioqueue.Sockets
import dev.ioqueue.kotlin.runIoQueue
import java.net.Inet6Address
import java.net.InetAddress
import java.net.InetSocketAddress
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.CompletableFuture
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Job
import kotlinx.coroutines.currentCoroutineContext

/** Where an echo server listens: TCP on an IP address (v4 or v6), or a Unix domain socket file. */
sealed interface EchoAddress {
    /** TCP on [ip]:[port]; port 0 picks a free one. */
    data class Tcp(val ip: InetAddress, val port: Int) : EchoAddress {
        override fun toString() = if (ip is Inet6Address) "[${ip.hostAddress}]:$port" else "${ip.hostAddress}:$port"
    }

    /** A Unix domain socket at [path]: the server makes the file and deletes it when it stops. */
    data class Unix(val path: Path) : EchoAddress {
        override fun toString() = "unix:$path"
    }

    /** A listening, non-blocking socket here. Thread-safe. */
    fun listen(backlog: Int = 1024): Int = when (this) {
        is Tcp -> Sockets.listenTcp(ip, port, backlog)
        is Unix -> Sockets.listenUnix(path, backlog)
    }

    companion object {
        /** 127.0.0.1 on a free port: the demo's default. */
        val LOOPBACK: EchoAddress = Tcp(InetAddress.getLoopbackAddress(), 0)
    }
}

/**
 * A [MixedEchoServer] on its own loop thread, listening at [address] (by default 127.0.0.1 on a
 * free port). [stop] cancels the server from the calling thread, which closes every connection,
 * and waits; a Unix socket file it made is then deleted.
 */
class EchoServerThread(val address: EchoAddress = EchoAddress.LOOPBACK, threadName: String = "echo-loop") : AutoCloseable {
    /** 127.0.0.1:[port] ([port] 0 picks one). */
    constructor(port: Int, threadName: String = "echo-loop") : this(EchoAddress.Tcp(InetAddress.getLoopbackAddress(), port), threadName)

    private val listenFd = address.listen()
    /** The IP address and port it listens on, or null on a Unix domain socket. */
    val inetAddress: InetSocketAddress? = Sockets.localAddress(listenFd)
    /** The TCP port it listens on. */
    val port: Int get() = inetAddress?.port ?: error("$address has no port")
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
            if (address is EchoAddress.Unix) Files.deleteIfExists(address.path)
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
