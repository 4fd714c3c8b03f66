package dev.ioqueue.ktor

import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoQueueGroup
import dev.ioqueue.Sockets
import dev.ioqueue.kotlin.connect
import dev.ioqueue.kotlin.nextDispatcher
import dev.ioqueue.kotlin.serve
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.collections.shouldContain
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.ktor.network.selector.SelectorManager
import io.ktor.network.sockets.aSocket
import io.ktor.network.sockets.openReadChannel
import io.ktor.network.sockets.openWriteChannel
import io.ktor.network.sockets.port
import io.ktor.utils.io.ClosedByteChannelException
import io.ktor.utils.io.copyAndClose
import io.ktor.utils.io.readAvailable
import io.ktor.utils.io.readFully
import io.ktor.utils.io.readLine
import io.ktor.utils.io.readUTF8Line
import io.ktor.utils.io.writeFully
import io.ktor.utils.io.writeStringUtf8
import java.io.BufferedReader
import java.io.IOException
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.time.Duration
import java.util.Collections
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import kotlin.random.Random
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineExceptionHandler
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout

/** [HandleSocket]: ktor-network's socket lifecycle on an owned handle, against real peers: JDK sockets, and ktor-network's own. */
class HandleSocketSpec : FunSpec({
    afterSpec { println("HandleSocketSpec ran on $loopBackends loops") }

    test("close() sends what was written and never flushed, half-closes, closes the handle, completes socketContext") {
        val (handle, peer) = tcpPair()
        val bytes = Random(7).nextBytes(512 * 1024) // under ktor's 1 MiB: writeFully does not flush by itself
        peer.use {
            val received = CompletableFuture.supplyAsync({ peer.getInputStream().readAllBytes() }, { Thread.ofPlatform().start(it) })
            onLoop {
                val socket = handle.asSocket(coroutineContext)
                socket.openWriteChannel().writeFully(bytes)
                socket.close()
                socket.awaitClosed()
                socket.isClosed shouldBe true
                handle.isOpen shouldBe false
            }
            received.get(30, TimeUnit.SECONDS).contentEquals(bytes) shouldBe true // every byte, then end-of-file
        }
    }

    // guards (outside round 29): close() returned with the write channel still open while it sent what
    // was buffered; writes made meanwhile were accepted and sent after the close (753 KB in one run)
    test("close() closes the write channel for new writes before it returns, then sends what was buffered") {
        val (handle, peer) = tcpPair()
        val bytes = Random(11).nextBytes(512 * 1024) // more than the socket takes at once: the close's send waits for the peer
        peer.use {
            onLoop {
                val socket = handle.asSocket(Job())
                val channel = socket.openWriteChannel()
                channel.writeFully(bytes)
                socket.close()
                channel.isClosedForWrite shouldBe true
                shouldThrow<io.ktor.utils.io.ClosedWriteChannelException> { channel.writeFully(ByteArray(100)) }
                val received = withContext(Dispatchers.IO) { peer.getInputStream().readAllBytes() }
                received.contentEquals(bytes) shouldBe true // what was buffered, then end-of-file: nothing after the close
                socket.awaitClosed()
            }
        }
    }

    // guards (outside round 29): close() from another thread sent the write channel's buffer from that
    // thread while a writer on the loop was writing into it: bytes duplicated or reordered at the peer,
    // NullPointerException and ArrayIndexOutOfBoundsException in the writer and the close (~1-3 % of races)
    test("close() from another thread racing a writer on the loop: the peer gets an in-order prefix, the writer ends or is refused") {
        val chunk = ByteArray(500) { (it % 251).toByte() }
        repeat(150) { i ->
            var accepted = 0 // chunks the channel took before close() refused it
            val (handle, peer) = tcpPair()
            peer.use {
                val received = CompletableFuture.supplyAsync({ peer.getInputStream().readAllBytes() }, { Thread.ofPlatform().start(it) })
                onLoop {
                    handle.bind(dev.ioqueue.IoQueue.current()) // the writer's loop is the handle's
                    val socket = handle.asSocket(Job())
                    val channel = socket.openWriteChannel()
                    val closer = Thread.ofPlatform().unstarted { Thread.sleep(0, (i % 20) * 20_000); socket.close() }
                    closer.start()
                    try {
                        repeat(200) { k ->
                            channel.writeFully(chunk)
                            accepted = k + 1
                            if (k % 20 == 19) channel.flush()
                        }
                        channel.flush()
                    } catch (_: io.ktor.utils.io.ClosedWriteChannelException) {
                        // refused once close() began: what was buffered before still goes
                    }
                    socket.awaitClosed()
                    closer.join()
                }
                val got = received.get(30, TimeUnit.SECONDS)
                withClue("iteration $i: ${got.size} bytes, $accepted chunks accepted") {
                    (got.size % 500) shouldBe 0 // whole chunks: no write was cut
                    // Nothing past the write refused: ktor's writeFully puts its bytes in, then looks at the
                    // buffer again (flushIfNeeded), so the write close() refused may have put its chunk in first.
                    (got.size <= (accepted + 1) * 500) shouldBe true
                    got.indices.all { got[it] == chunk[it % 500] } shouldBe true
                }
            }
        }
    }

    // guards (cold review of round 29's fix): close() while the writer's own flushAndClose was still
    // sending ended the socket at once, closing the handle under that send: the peer got a truncated
    // stream, and flushAndClose returned normally
    test("close() while the writer's flushAndClose still sends waits for it: the peer gets every byte") {
        val (handle, peer) = tcpPair()
        val bytes = Random(13).nextBytes(8 * 1024 * 1024) // far more than the socket buffers take: the send waits for the peer
        peer.use {
            val received = CompletableFuture.supplyAsync({ Thread.sleep(200); peer.getInputStream().readAllBytes() }, { Thread.ofPlatform().start(it) })
            onLoop {
                handle.bind(dev.ioqueue.IoQueue.current())
                val socket = handle.asSocket(Job())
                val channel = socket.openWriteChannel()
                val writer = launch {
                    @OptIn(io.ktor.utils.io.InternalAPI::class)
                    channel.writeBuffer.write(bytes) // buffered without a flush (ktor's writeFully would flush past 1 MiB)
                    channel.flushAndClose()
                }
                while (!channel.isClosedForWrite) kotlinx.coroutines.yield() // its flushAndClose is under way
                withContext(Dispatchers.IO) { socket.close() } // from another thread
                socket.awaitClosed()
                writer.join()
            }
            received.get(60, TimeUnit.SECONDS).contentEquals(bytes) shouldBe true
        }
    }

    // guards (outside round 28): close() from another thread, finding nothing to send yet, closed the
    // write channel while an autoFlush writer was putting bytes into it; the writer's flush then
    // retried the closed handle for good (100% CPU; on the handle's loop, the loop held). Replayed
    // deterministically here: the writer's sink taken before close(), written after it; the flush
    // made on the loop and off it.
    test("bytes written as close() closes the write channel fail their flush with ClosedWriteChannelException, never spin") {
        for (flushOnLoop in listOf(false, true)) {
            val (handle, peer) = tcpPair()
            peer.use {
                onLoop {
                    val socket = handle.asSocket(Job())
                    val channel = socket.openWriteChannel(autoFlush = true)
                    @OptIn(io.ktor.utils.io.InternalAPI::class)
                    val sink = channel.writeBuffer // as a ktor write function takes it before it writes
                    socket.close() // nothing buffered yet: closed at once, the handle too
                    socket.awaitClosed()
                    sink.write(ByteArray(1000)) // the writer's bytes, after close() looked
                    val failed = withTimeout(10_000) {
                        if (flushOnLoop) shouldThrow<io.ktor.utils.io.ClosedWriteChannelException> { channel.flush() }
                        else withContext(Dispatchers.Default) { shouldThrow<io.ktor.utils.io.ClosedWriteChannelException> { channel.flush() } }
                    }
                    failed.cause.shouldBeInstanceOf<IOException>()
                    handle.isOpen shouldBe false
                }
            }
        }
    }

    // guards (cold review, 2026-12-07): close() waited for its send before the handle closed, and only
    // that ended a read waiting in another coroutine: with a peer that does not read, never
    test("close() ends a waiting read at once even while its send waits for a peer that does not read") {
        val (handle, peer) = tcpPair()
        peer.use {
            onLoop {
                val socket = handle.asSocket(Job())
                val input = socket.openReadChannel()
                val output = socket.openWriteChannel()
                val reader = launch { shouldThrow<IOException> { input.readLine() } }
                @OptIn(io.ktor.utils.io.InternalAPI::class)
                output.writeBuffer.write(ByteArray(8 shl 20)) // more than the socket holds: the close's send waits
                delay(50)
                socket.close()
                withTimeout(10_000) { reader.join() } // would wait for ever
                socket.isClosed shouldBe false // still sending
                socket.socketContext.cancel() // the way to end it in bounded time: drops what is unsent
                socket.socketContext.join()
                handle.isOpen shouldBe false
            }
        }
    }

    // guards (second cold review, 2026-12-07): close() shut the receiving side down even with no read
    // waiting; on a Unix socket that also ends the peer's sending (EPIPE) while the close still sends
    test("close() with no read waiting leaves a Unix peer able to send while its send goes on") {
        val pair = Fds.socketPair()
        val peer = pair.second()
        try {
            onLoop {
                val handle = Handle.of(pair.first())
                val socket = handle.asSocket(Job())
                socket.openReadChannel() // opened, but nothing reads
                @OptIn(io.ktor.utils.io.InternalAPI::class)
                socket.openWriteChannel().writeBuffer.write(ByteArray(8 shl 20)) // the close's send waits for the peer
                socket.close()
                delay(20)
                socket.isClosed shouldBe false
                Fds.write(peer, java.nio.ByteBuffer.wrap(byteArrayOf(1))) shouldBe 1 // not EPIPE
                socket.socketContext.cancel()
                socket.socketContext.join()
            }
        } finally {
            Fds.close(peer)
        }
    }

    // guards (cold review, 2026-12-07): a cancelled flushAndClose marked the channel closed as if all was
    // sent (closedCause null) and half-closed: the peer read a clean end after a cut-off stream
    test("a flushAndClose cut off by its cancellation keeps the cancellation as the channel's cause") {
        val (handle, peer) = tcpPair()
        peer.use {
            onLoop {
                val channel = handle.openWriteChannel()
                @OptIn(io.ktor.utils.io.InternalAPI::class)
                channel.writeBuffer.write(ByteArray(8 shl 20)) // the peer does not read: the send waits
                kotlinx.coroutines.withTimeoutOrNull(100) { channel.flushAndClose() } shouldBe null
                channel.isClosedForWrite shouldBe true
                channel.closedCause.shouldBeInstanceOf<CancellationException>()
                handle.close()
            }
        }
    }

    // guards (cold review, 2026-12-07): serve() closed a connection's handle when its body returned,
    // under the socket's close still sending: the peer got a truncated stream and a clean end
    test("a serve() body that closes its socket and returns: the close still sends every byte") {
        val group = IoQueueGroup.start(1, "ktor-serve-close")
        val listener = Handle.of(Sockets.listenTcp(loopback, 0, 8))
        val bytes = Random(17).nextBytes(8 shl 20) // far more than the socket takes at once
        val scope = CoroutineScope(Job())
        try {
            scope.serve(listener, group) { connection ->
                val socket = connection.asSocket(coroutineContext)
                @OptIn(io.ktor.utils.io.InternalAPI::class)
                socket.openWriteChannel().writeBuffer.write(bytes)
                socket.close() // and return: no awaitClosed
            }
            Socket(loopback, Sockets.localPort(listener.fd())).use { client ->
                client.soTimeout = 30_000
                Thread.sleep(200) // the body has returned by now, with most bytes unsent
                client.getInputStream().readAllBytes().contentEquals(bytes) shouldBe true
            }
        } finally {
            runBlocking { withTimeout(10_000) { scope.coroutineContext[Job]!!.cancelAndJoin() } }
            group.shutdown(Duration.ofSeconds(10))
        }
    }

    for (elsewhere in listOf(false, true)) {
        val from = if (elsewhere) "another thread" else "the loop"
        test("close() from $from ends a read waiting in another coroutine with an IOException, and the handle is closed") {
            val steps = Steps()
            val (handle, peer) = tcpPair()
            val fd = handle.fd()
            peer.use {
                onLoop {
                    val socket = handle.asSocket(coroutineContext)
                    val input = socket.openReadChannel()
                    val reader = launch {
                        steps.expect(1)
                        val failure = shouldThrow<IOException> { input.readLine() }
                        steps.expect(3)
                        failure.shouldBeInstanceOf<ClosedByteChannelException>()
                        failure.cause?.message shouldBe "Socket closed: Handle[fd $fd]" // as it was when the close began
                    }
                    delay(50)
                    steps.expect(2)
                    if (elsewhere) withContext(Dispatchers.IO) { socket.close() } else socket.close()
                    reader.join()
                    socket.awaitClosed()
                    steps.finish(4)
                    handle.isOpen shouldBe false
                }
                peer.getInputStream().read() shouldBe -1
            }
        }
    }

    test("close() closes the fd exactly once: its socket is gone, and a file that takes its number stays open through every later close") {
        val (handle, peer) = tcpPair()
        peer.use {
            onLoop {
                val socket = handle.asSocket(coroutineContext)
                val fd = handle.fd()
                socket.openWriteChannel().writeStringUtf8("bye\n")
                socket.openReadChannel()
                val before = openFds()
                val entry = "$fd -> ${socketInode(fd)}"
                socket.close()
                socket.awaitClosed()
                before - openFds() shouldContain entry
                openFds() - before shouldBe emptySet()
                socketInode(fd) shouldBe null
                val successor = occupyNumber(fd) // what a second close(2) of the number would close
                try {
                    socket.close()
                    handle.close()
                    socket.socketContext.cancel()
                    withContext(Dispatchers.IO) { socket.close() }
                    delay(20) // anything posted to the loop has run
                    Fds.isCloseOnExec(successor) // throws if the number was closed again (EBADF)
                    openFds() - before shouldBe setOf("$fd -> anon_inode:[eventfd]") // the successor, and nothing else
                } finally {
                    Fds.close(successor)
                }
            }
            BufferedReader(peer.getInputStream().reader()).readLines() shouldBe listOf("bye")
        }
    }

    test("each channel opens once; a closed socket refuses to open one with an IOException") {
        val (handle, peer) = tcpPair()
        peer.use {
            onLoop {
                val socket = handle.asSocket(coroutineContext)
                socket.openReadChannel()
                socket.openWriteChannel()
                shouldThrow<IllegalStateException> { socket.openReadChannel() }
                shouldThrow<IllegalStateException> { socket.openWriteChannel() }
                socket.close()
                socket.awaitClosed()
            }
            val (handle2, peer2) = tcpPair()
            peer2.use {
                val socket = handle2.asSocket()
                socket.close()
                shouldThrow<IOException> { socket.openReadChannel() }
                shouldThrow<IOException> { socket.openWriteChannel() }
                handle2.isOpen shouldBe false // nothing to send: closed before close() returned
            }
        }
    }

    // guards (outside round 49): the group's shutdown closed the socket's handle, but the socket never
    // knew: isClosed stayed false and awaitClosed waited until a close() of its own
    test("a socket whose handle its group's shutdown closed is closed too: isClosed, awaitClosed, socketContext") {
        val group = IoQueueGroup.start(1, "ktor-shutdown")
        val pair = Fds.socketPair()
        val handle = Handle.of(pair.first())
        handle.bind(group.next())
        val socket = handle.asSocket(Dispatchers.Default)
        val input = socket.openReadChannel()
        val read = CoroutineScope(Dispatchers.Default).async { runCatching { input.readAvailable(ByteArray(8), 0, 8) } }
        delay(100)
        group.close()
        withTimeout(5_000) { socket.awaitClosed() }
        socket.isClosed shouldBe true
        socket.socketContext.isCompleted shouldBe true
        handle.isOpen shouldBe false
        withTimeout(5_000) { read.await() }.isFailure shouldBe true
        Fds.close(pair.second())
    }

    test("cancelling the scope closes every socket at once, with reads and flushes waiting: none of their fds is left open") {
        val sockets = 16
        ServerSocket(0, sockets, loopback).use { server ->
            val peers = Collections.synchronizedList(ArrayList<Socket>())
            val acceptor = Thread.ofPlatform().start { repeat(sockets) { peers += server.accept() } } // they never read
            val ours = Collections.synchronizedList(ArrayList<String>())
            val handles = Collections.synchronizedList(ArrayList<Handle>())
            onLoop {
                val scope = CoroutineScope(coroutineContext + Job(coroutineContext[Job]))
                val unsendable = ByteArray(8 shl 20) // more than a socket holds while its peer does not read: the flush waits
                val ends = Collections.synchronizedList(ArrayList<Throwable?>())
                repeat(sockets) {
                    val handle = connect(InetSocketAddress(loopback, server.localPort))
                    handles += handle
                    ours += socketInode(handle.fd())!!
                    val socket = handle.asSocket(scope.coroutineContext)
                    val input = socket.openReadChannel()
                    val output = socket.openWriteChannel()
                    scope.launch { input.readLine() }.invokeOnCompletion { ends += it }
                    scope.launch { output.writeFully(unsendable) }.invokeOnCompletion { ends += it }
                }
                delay(200)
                withTimeout(10_000) { scope.coroutineContext[Job]!!.cancelAndJoin() }
                // Each ended as cancelled, none failed with the IOException of its socket's close.
                ends.size shouldBe 2 * sockets
                ends.filter { it !is CancellationException }.shouldBeEmpty()
            }
            acceptor.join()
            handles.filter { it.isOpen }.shouldBeEmpty()
            eventually { openSocketInodes().intersect(ours.toSet()).isEmpty() } shouldBe true
            ours.size shouldBe sockets
            peers.forEach { it.close() }
        }
    }

    // guards (outside round 30): cancelling the scope given to asSocket from another thread closed the
    // handle (the socket is the scope's first child) before the cancel reached the scope's other
    // children: a read or flush waiting in one ended with the close's IOException, the child failed
    // and the scope's CoroutineExceptionHandler got it (61-175 of 200 per backend and dispatcher)
    test("cancelling the socket's scope from another thread ends its coroutines as cancelled, never with the close's IOException") {
        val group = IoQueueGroup.start(1, "ktor-scope-cancel")
        try {
            for (onLoop in listOf(true, false)) {
                val dispatcher = if (onLoop) group.nextDispatcher() else Dispatchers.Default
                val ends = Collections.synchronizedList(ArrayList<Throwable?>())
                val handled = Collections.synchronizedList(ArrayList<Throwable>())
                repeat(100) { i ->
                    val (handle, peer) = tcpPair()
                    peer.use {
                        handle.bind(group.queues()[0])
                        val scopeJob = Job()
                        val socket = handle.asSocket(scopeJob)
                        val input = socket.openReadChannel()
                        val output = socket.openWriteChannel()
                        val scope = CoroutineScope(scopeJob + dispatcher + CoroutineExceptionHandler { _, e -> handled += e })
                        val waiting = CompletableFuture<Unit>()
                        val child = scope.launch {
                            waiting.complete(Unit)
                            if (i % 2 == 0) input.readAvailable(ByteArray(100))
                            else output.writeFully(ByteArray(8 shl 20)) // more than the socket takes: the flush waits
                        }
                        child.invokeOnCompletion { ends += it }
                        waiting.get(10, TimeUnit.SECONDS)
                        Thread.sleep(2)
                        scopeJob.cancel()
                        runBlocking { withTimeout(10_000) { scopeJob.join() } }
                        handle.isOpen shouldBe false
                    }
                }
                withClue(if (onLoop) "on the handle's loop" else "on Dispatchers.Default") {
                    handled.shouldBeEmpty()
                    ends.filter { it !is CancellationException }.shouldBeEmpty()
                    ends.size shouldBe 100
                }
            }
        } finally {
            group.shutdown(Duration.ofSeconds(10))
        }
    }

    test("a socket cancelled from a plain thread is never seen closed (isClosed, awaitClosed) while its handle is still open") {
        val group = IoQueueGroup.start(1, "ktor-closed-order")
        try {
            var seenOpen = 0
            repeat(200) {
                val pair = Fds.socketPair()
                val handle = Handle.of(pair.first(), group.queues()[0])
                val parent = Job()
                val socket = handle.asSocket(Dispatchers.Default + parent)
                val spinning = java.util.concurrent.CountDownLatch(1)
                val watcher = CompletableFuture.supplyAsync({
                    spinning.countDown()
                    while (!socket.isClosed) Thread.onSpinWait()
                    val openWhenClosed = handle.isOpen
                    val ended = runBlocking { runCatching { socket.awaitClosed() } }
                    openWhenClosed || handle.isOpen || ended.exceptionOrNull() !is CancellationException
                }, { Thread.ofPlatform().start(it) })
                spinning.await()
                parent.cancel() // this thread runs no loop: the close waits for the handle's loop
                if (watcher.get(10, TimeUnit.SECONDS)) seenOpen++
                Fds.close(pair.second())
            }
            seenOpen shouldBe 0
        } finally {
            group.shutdown(Duration.ofSeconds(10))
        }
    }

    test("talks to ktor-network: a client HandleSocket against a ktor-network echo server, 1 MiB and lines, both directions closed") {
        val selector = SelectorManager(Dispatchers.IO)
        val server = aSocket(selector).tcp().bind(loopback.hostAddress, 0)
        val served = CoroutineScope(Dispatchers.IO).launch {
            server.accept().use { peer -> // ktor-network's own socket: its channels copy everything back, then it closes
                peer.openReadChannel().copyAndClose(peer.openWriteChannel())
            }
        }
        try {
            val data = Random(9).nextBytes(1 shl 20)
            onLoop {
                val socket = connect(InetSocketAddress(loopback, server.port)).asSocket(coroutineContext)
                val input = socket.openReadChannel()
                val output = socket.openWriteChannel()
                launch {
                    output.writeStringUtf8("first line\n")
                    output.writeFully(data)
                    output.writeStringUtf8("\nlast line\n")
                    output.flushAndClose()
                }
                input.readLine() shouldBe "first line"
                val back = ByteArray(data.size)
                input.readFully(back)
                back.contentEquals(data) shouldBe true
                input.readLine() shouldBe ""
                input.readLine() shouldBe "last line"
                input.readLine() shouldBe null // ktor-network closed its side
                socket.close()
                socket.awaitClosed()
                socket.handle.isOpen shouldBe false
            }
            runBlocking { withTimeout(10_000) { served.join() } }
        } finally {
            server.close()
            selector.close()
        }
    }

    test("a ktor-network line server runs on ioqueue's serve() with only its socket's origin changed") {
        val group = IoQueueGroup.start(2, "ktor-serve")
        val listener = Handle.of(Sockets.listenTcp(loopback, 0, 64))
        val port = Sockets.localPort(listener.fd())
        val scope = CoroutineScope(Job())
        try {
            scope.serve(listener, group) { connection ->
                // From here on, the code a ktor-network server has after `val socket = server.accept()`.
                val socket = connection.asSocket(coroutineContext)
                val input = socket.openReadChannel()
                val output = socket.openWriteChannel(autoFlush = true)
                while (true) {
                    @Suppress("DEPRECATION")
                    val line = input.readUTF8Line() ?: break
                    output.writeStringUtf8(line.uppercase() + "\n")
                }
                socket.close()
                socket.awaitClosed()
            }
            val clients = (1..20).map { Socket(loopback, port).apply { soTimeout = 30_000 } }
            for ((i, c) in clients.withIndex()) c.getOutputStream().write("hello $i\nbye $i\n".toByteArray())
            for ((i, c) in clients.withIndex()) {
                c.shutdownOutput()
                BufferedReader(c.getInputStream().reader()).readLines() shouldBe listOf("HELLO $i", "BYE $i")
                c.close()
            }
        } finally {
            runBlocking { withTimeout(10_000) { scope.coroutineContext[Job]!!.cancelAndJoin() } }
            group.shutdown(Duration.ofSeconds(10))
        }
    }
})
