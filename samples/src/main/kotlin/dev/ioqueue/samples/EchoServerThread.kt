package dev.ioqueue.samples

import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoQueue
import dev.ioqueue.IoQueueGroup
import dev.ioqueue.Sockets
import dev.ioqueue.kotlin.dispatcher
import java.net.Inet6Address
import java.net.InetAddress
import java.net.InetSocketAddress
import java.nio.file.Files
import java.nio.file.Path
import java.time.Duration
import java.util.IdentityHashMap
import java.util.concurrent.CompletableFuture
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineExceptionHandler
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch

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

    /** A listening, non-blocking socket here, with SO_REUSEPORT if [reusePort] (TCP only). Thread-safe. */
    fun listen(backlog: Int = 1024, reusePort: Boolean = false): Int = when (this) {
        is Tcp -> Sockets.listenTcp(ip, port, backlog, reusePort)
        is Unix -> {
            require(!reusePort) { "SO_REUSEPORT spreads TCP connections only, not $this" }
            Sockets.listenUnix(path, backlog)
        }
    }

    companion object {
        /** 127.0.0.1 on a free port: the demo's default. */
        val LOOPBACK: EchoAddress = Tcp(InetAddress.getLoopbackAddress(), 0)
    }
}

/** How an [EchoServerThread] of several loops spreads connections over them. */
enum class LoopStrategy {
    /**
     * One listener; the first loop accepts and hands each connection to the group's next loop
     * (round-robin, itself included), which serves it from then on: every loop gets its exact share.
     */
    ACCEPTOR,

    /**
     * One SO_REUSEPORT listener per loop, all on the same port, each loop accepting its own: the
     * kernel picks the listener by a hash of the client's address and port, so the shares are only
     * even on average. TCP only.
     */
    REUSEPORT;

    companion object {
        /**
         * What `--loops N` uses: ACCEPTOR. With a fixed set of connections the two ways measured the
         * same in `./bench --only echo` (2 loops, 64 and 256 connections: 0.95 to 1.02 of each
         * other), and the acceptor splits them exactly and works on any listener, a Unix socket
         * too. SO_REUSEPORT saves only each new connection's hand-off: 5% of a new connection's
         * server CPU in the benchmark's churn table, at the same connections per second.
         */
        val DEFAULT = ACCEPTOR
    }
}

/**
 * A mixed echo server ([MixedEchoServer]) on [loops] loop threads of its own (an
 * [IoQueueGroup]), listening at [address] (by default 127.0.0.1 on a free port). One loop, the
 * default, is one thread named [threadName]; more are named `threadName-0`, `threadName-1`...
 * and share the connections as [strategy] says. Each listener and each connection is a [Handle]
 * bound to the loop that uses it, so the group's shutdown leaves no fd of the server open. [stop]
 * cancels the server from the calling thread, which closes every connection, and waits; a Unix
 * socket file it made is then deleted.
 */
class EchoServerThread(
    val address: EchoAddress = EchoAddress.LOOPBACK,
    threadName: String = "echo-loop",
    val loops: Int = 1,
    val strategy: LoopStrategy = LoopStrategy.DEFAULT,
) : AutoCloseable {
    /** 127.0.0.1:[port] ([port] 0 picks one). */
    constructor(port: Int, threadName: String = "echo-loop") : this(EchoAddress.Tcp(InetAddress.getLoopbackAddress(), port), threadName)

    init {
        require(loops >= 1) { "an echo server needs at least one loop, not $loops" }
        require(loops == 1 || strategy == LoopStrategy.ACCEPTOR || address is EchoAddress.Tcp) { "SO_REUSEPORT spreads TCP connections only, not $address" }
    }

    private val reusePort = loops > 1 && strategy == LoopStrategy.REUSEPORT
    private val listenFds: List<Int> = listenAll()
    /** The IP address and port it listens on, or null on a Unix domain socket. */
    val inetAddress: InetSocketAddress? = Sockets.localAddress(listenFds[0])
    /** The TCP port it listens on. */
    val port: Int get() = inetAddress?.port ?: error("$address has no port")
    /** What the server did so far. */
    val stats = EchoStats()
    private val failure = AtomicReference<Throwable?>()
    /** The loop threads' names, in order. (Kept: kotlinx's debug mode renames a thread while a coroutine runs.) */
    val threadNames: List<String> = if (loops == 1) listOf(threadName) else List(loops) { "$threadName-$it" }
    private val group = startLoops()
    /** Each listener, bound to the loop that accepts on it: the group's shutdown closes it, if [stop] has not. */
    private val listeners: List<Handle> = group.queues().zip(listenFds).map { (queue, fd) -> Handle.of(fd, queue) }
    /** The backend its loops run on ([IoQueue.backend]), as the demo reports it: "epoll" or "io_uring". */
    val backend: String = group.queues().map { it.backend().name.lowercase() }.distinct().joinToString("+")
    private val stopped = AtomicBoolean()
    private val root = SupervisorJob()
    private val scope = CoroutineScope(root + CoroutineExceptionHandler { _, t -> failed(t) })

    init {
        val queues = group.queues()
        val ids = AtomicInteger()
        if (loops == 1 || reusePort) {
            for ((queue, listener) in queues.zip(listeners)) scope.launch(queue.dispatcher) { MixedEchoServer(listener, stats, ids).serve() }
        } else {
            val started = queues.map { CompletableFuture<EchoLoop>() }
            for ((queue, loop) in queues.zip(started)) scope.launch(queue.dispatcher) { EchoLoop.serveHandedOver(stats) { loop.complete(it) } }
            val byQueue = IdentityHashMap<IoQueue, EchoLoop>().apply { queues.zip(started).forEach { (q, loop) -> put(q, loop.join()) } }
            scope.launch(queues[0].dispatcher) { MixedEchoServer(listeners[0], stats, ids).acceptFor { byQueue.getValue(group.next()) } }
        }
    }

    /** One listener, or with SO_REUSEPORT one per loop on the port the first one got. */
    private fun listenAll(): List<Int> {
        if (!reusePort) return listOf(address.listen())
        val fds = ArrayList<Int>()
        try {
            fds += address.listen(reusePort = true)
            val bound = EchoAddress.Tcp((address as EchoAddress.Tcp).ip, Sockets.localPort(fds[0]))
            repeat(loops - 1) { fds += bound.listen(reusePort = true) }
            return fds
        } catch (t: Throwable) {
            fds.forEach(Fds::close)
            throw t
        }
    }

    /** The loops; if they cannot start, the listeners are closed (nothing owns them yet). */
    private fun startLoops(): IoQueueGroup = try {
        val next = AtomicInteger()
        IoQueueGroup.start(loops, { r -> Thread(r, threadNames[next.getAndIncrement()]) }) { _, t -> failed(t) }
    } catch (t: Throwable) {
        listenFds.forEach(Fds::close)
        throw t
    }

    private fun failed(t: Throwable) {
        if (t !is CancellationException) failure.compareAndSet(null, t)
    }

    /** Waits until the server has seen every accepted connection end. */
    fun awaitAllClosed() {
        while (stats.openConnections() > 0) Thread.sleep(5)
    }

    /** Stops the server; rethrows what made it fail, if anything did. Not from one of its loops. */
    fun stop() {
        if (stopped.compareAndSet(false, true)) {
            val done = CompletableFuture<Unit>()
            root.cancel()
            root.invokeOnCompletion { done.complete(Unit) }
            done.join() // every connection closed, on its own loop
            listeners.forEach(Handle::close) // from here: each close runs on its loop, and returns once the fd is closed
            check(group.shutdown(Duration.ofSeconds(30))) { "the echo server's loops did not end within 30 s" }
            if (address is EchoAddress.Unix) Files.deleteIfExists(address.path)
        }
        failure.get()?.let { throw it }
    }

    override fun close() = stop()
}
