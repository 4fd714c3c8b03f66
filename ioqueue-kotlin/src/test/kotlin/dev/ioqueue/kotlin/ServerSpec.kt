package dev.ioqueue.kotlin

import dev.ioqueue.Handle
import dev.ioqueue.IoQueueGroup
import dev.ioqueue.Sockets
import dev.ioqueue.internal.os.Faults
import dev.ioqueue.internal.os.Syscall
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.net.ConnectException
import java.net.InetAddress
import java.net.Socket
import java.nio.ByteBuffer
import java.time.Duration
import java.util.Collections
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CoroutineExceptionHandler
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

/** The structured server ([serve]): real TCP clients on the loopback, real fds counted in /proc/self/fd. */
class ServerSpec : FunSpec({
    val group = IoQueueGroup.start(2, "serve")
    afterSpec { group.shutdown(Duration.ofSeconds(10)) }
    // The JDK opens an fd of its own on its first socket: open it before any count of fds.
    Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 1).let { l ->
        Socket(InetAddress.getLoopbackAddress(), Sockets.localPort(l)).close()
        dev.ioqueue.Fds.close(l)
    }

    test("1,000 connections, then the scope cancelled: every fd closed, every connection coroutine finished, the listener gone") {
        val fdsBefore = openFds()
        val listener = Handle.of(Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 1024))
        val port = Sockets.localPort(listener.fd())
        val started = AtomicInteger()
        val finished = AtomicInteger()
        val loops = Collections.synchronizedSet(HashSet<String>())
        val scope = CoroutineScope(Job())
        val server = scope.serve(listener, group) { connection ->
            started.incrementAndGet()
            loops += Thread.currentThread().name.substringBefore(" @")
            try {
                echo(connection)
            } finally {
                finished.incrementAndGet()
            }
        }
        val clients = (1..1000).map { Socket(InetAddress.getLoopbackAddress(), port) }
        for ((i, c) in clients.withIndex()) {
            c.getOutputStream().write(byteArrayOf(i.toByte()))
            c.soTimeout = 10_000
            c.getInputStream().read() shouldBe (i and 0xFF) // served
        }
        started.get() shouldBe 1000
        loops shouldBe setOf("serve-0", "serve-1")
        (openFds() - fdsBefore).size shouldBe 1 + 2 * 1000 // the listener, each connection on both sides

        runBlocking { withTimeout(30_000) { scope.coroutineContext[Job]!!.cancelAndJoin() } }
        server.isCancelled shouldBe true
        finished.get() shouldBe 1000
        (openFds() - fdsBefore).size shouldBe 1000 // only the clients' sockets are left
        for (c in clients) c.getInputStream().read() shouldBe -1 // each connection closed by the server
        clients.forEach { it.close() }
        openFds() - fdsBefore shouldBe emptySet()
        listener.isOpen shouldBe false
        shouldThrow<ConnectException> { Socket(InetAddress.getLoopbackAddress(), port) }
    }

    // Outside round 22: the listener was closed by the server coroutine's body, which never runs if
    // the job is cancelled before it starts (serve on a cancelled scope; cancel at once): the
    // socket stayed listening, its clients sat in the backlog (139 of 200 at once on epoll).
    test("a server cancelled before its coroutine starts (or on a cancelled scope) still closes its listener") {
        repeat(200) { round ->
            val listener = Handle.of(Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 8))
            val scope = CoroutineScope(Job())
            if (round % 2 == 0) scope.coroutineContext[Job]!!.cancel()
            val server = scope.serve(listener, group) { it.read(ByteBuffer.allocate(1)) }
            server.cancel()
            runBlocking { withTimeout(10_000) { server.join() } }
            listener.isOpen shouldBe false
        }
        // A group already shut down rejects the dispatch: the body runs on Dispatchers.IO on a
        // cancelled job, accepts nothing, binds nothing, closes the listener and fails no one.
        val gone = IoQueueGroup.start(1, "serve-gone")
        gone.shutdown(Duration.ofSeconds(10)) shouldBe true
        val listener = Handle.of(Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 8))
        val scope = CoroutineScope(Job())
        val server = scope.serve(listener, gone) { it.read(ByteBuffer.allocate(1)) }
        runBlocking { withTimeout(10_000) { server.join() } }
        server.isCancelled shouldBe true
        listener.isOpen shouldBe false
        listener.queue() shouldBe null
        scope.coroutineContext[Job]!!.isActive shouldBe true
    }

    test("transient accept failures (ENOBUFS) are retried with a back-off: the server goes on serving; a group shut down under it cancels it, failing no one") {
        val own = IoQueueGroup.start(1, "serve-transient")
        val listener = Handle.of(Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 8))
        val loop = own.queues()[0]
        listener.bind(loop)
        val armed = java.util.concurrent.CompletableFuture<Unit>()
        loop.execute { // faults are per thread: the accept loop's
            runCatching { Faults.failNth(Syscall.ACCEPT, 1, dev.ioqueue.Errno.ENOBUFS.number(), 5) }
                .onSuccess { armed.complete(Unit) }.onFailure { armed.completeExceptionally(it) }
        }
        armed.get(10, java.util.concurrent.TimeUnit.SECONDS) // fails (with the cause) where the JVM runs without the fault seam
        val failures = Collections.synchronizedList(ArrayList<Throwable>())
        val scope = CoroutineScope(Job() + CoroutineExceptionHandler { _, e -> failures += e })
        val server = scope.serve(listener, own) { it.write(ByteBuffer.wrap(byteArrayOf(42))) }
        Socket(InetAddress.getLoopbackAddress(), Sockets.localPort(listener.fd())).use { client ->
            client.soTimeout = 10_000
            client.getInputStream().read() shouldBe 42 // served after the 5 refused accepts
        }
        server.isActive shouldBe true
        own.shutdown(Duration.ofSeconds(10)) shouldBe true
        runBlocking { withTimeout(10_000) { server.join() } }
        server.isCancelled shouldBe true
        failures shouldBe emptyList()
        scope.coroutineContext[Job]!!.isActive shouldBe true // not failed by its child
        listener.isOpen shouldBe false
    }

    // guards (outside round 50): the connections waiting in a read when their group shut down failed,
    // with AwaitClosedException, each reaching the scope's handler
    test("a group shut down under a server's connections cancels them, failing none") {
        val own = IoQueueGroup.start(2, "serve-shutdown")
        val listener = Handle.of(Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 64))
        val failures = Collections.synchronizedList(ArrayList<Throwable>())
        val scope = CoroutineScope(Job() + CoroutineExceptionHandler { _, e -> failures += e })
        val waiting = AtomicInteger()
        val ended = Collections.synchronizedList(ArrayList<String>())
        val server = scope.serve(listener, own) { connection ->
            try {
                connection.writeFully(ByteBuffer.wrap(byteArrayOf(1)))
                waiting.incrementAndGet()
                connection.read(ByteBuffer.allocate(1)) // the client never writes
            } catch (e: Throwable) {
                ended += e.javaClass.simpleName
                throw e
            }
        }
        val clients = (1..20).map {
            Socket(InetAddress.getLoopbackAddress(), Sockets.localPort(listener.fd())).apply {
                soTimeout = 10_000
                getInputStream().read() shouldBe 1
            }
        }
        while (waiting.get() < 20) Thread.sleep(5)
        own.shutdown(Duration.ofSeconds(10)) shouldBe true
        runBlocking { withTimeout(10_000) { server.join() } }
        server.isCancelled shouldBe true
        failures shouldBe emptyList()
        ended.size shouldBe 20
        for (c in clients) {
            c.getInputStream().read() shouldBe -1 // closed
            c.close()
        }
        scope.coroutineContext[Job]!!.isActive shouldBe true
    }

    test("a connection that throws fails alone: its handler sees it, its socket closes, the others go on serving") {
        val listener = Handle.of(Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 64))
        val port = Sockets.localPort(listener.fd())
        val failures = Collections.synchronizedList(ArrayList<Throwable>())
        val scope = CoroutineScope(Job() + CoroutineExceptionHandler { _, e -> failures += e })
        scope.serve(listener, group) { connection ->
            val buf = ByteBuffer.allocate(1)
            while (connection.read(buf.clear()) > 0) {
                if (buf.get(0) == 'X'.code.toByte()) throw IllegalStateException("a bad request")
                connection.writeFully(buf.flip())
            }
        }
        val clients = (1..10).map { Socket(InetAddress.getLoopbackAddress(), port).apply { soTimeout = 10_000 } }
        fun roundTrip(c: Socket, b: Int) = c.getOutputStream().write(b).let { c.getInputStream().read() }
        for (c in clients) roundTrip(c, 1) shouldBe 1
        clients[3].getOutputStream().write('X'.code)
        clients[3].getInputStream().read() shouldBe -1
        for (c in clients.filterIndexed { i, _ -> i != 3 }) roundTrip(c, 2) shouldBe 2
        val late = Socket(InetAddress.getLoopbackAddress(), port).apply { soTimeout = 10_000 }
        roundTrip(late, 3) shouldBe 3 // still accepting
        failures.map { it.message } shouldBe listOf("a bad request")
        runBlocking { withTimeout(30_000) { scope.coroutineContext[Job]!!.cancelAndJoin() } }
        (clients + late).forEach { it.close() }
        listener.isOpen shouldBe false
    }

    // guards (cold review, 2026-12-07): a connection's handle was closed when its body returned, under
    // the coroutines the body had launched (a writer; a ktor socket's close still sending)
    test("a connection's handle stays open until the coroutines its body launched have finished") {
        val listener = Handle.of(Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 8))
        val failures = Collections.synchronizedList(ArrayList<Throwable>())
        val scope = CoroutineScope(Job() + CoroutineExceptionHandler { _, e -> failures += e })
        val handles = Collections.synchronizedList(ArrayList<Handle>())
        scope.serve(listener, group) { connection ->
            handles += connection
            launch {
                delay(100)
                connection.writeFully(ByteBuffer.wrap("late\n".toByteArray()))
            }
        } // the body returns at once
        Socket(InetAddress.getLoopbackAddress(), Sockets.localPort(listener.fd())).use { c ->
            c.soTimeout = 10_000
            c.getInputStream().readAllBytes().decodeToString() shouldBe "late\n" // then end-of-file: closed after the child
        }
        failures shouldBe emptyList()
        handles.single().isOpen shouldBe false
        runBlocking { withTimeout(10_000) { scope.coroutineContext[Job]!!.cancelAndJoin() } }
    }
})

/** Echoes until the peer closes. */
private suspend fun echo(connection: Handle) {
    val buf = ByteBuffer.allocate(64)
    while (true) {
        buf.clear()
        if (connection.read(buf) < 0) return
        buf.flip()
        connection.writeFully(buf)
    }
}
