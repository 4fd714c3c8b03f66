package dev.ioqueue.kotlin

import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoQueue
import dev.ioqueue.IoQueueGroup
import dev.ioqueue.Sockets
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.net.InetAddress
import java.net.Socket
import java.nio.ByteBuffer
import java.time.Duration
import java.util.Random
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.locks.LockSupport
import kotlin.concurrent.thread
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

/**
 * Issue 20: a suspending call cancelled off the loop is exact. When the cancelled coroutine
 * resumes, the operation either was withdrawn before it moved anything, or what it moved is
 * accounted for (the ByteBuffer's position; an accepted fd closed): nothing moves afterwards.
 *
 * Each case runs on a plain fd (syscalls in the coroutine, readiness in the shared queue) and on a
 * handle bound to a loop of the backend under test (the call posted to that loop), from a
 * coroutine on Dispatchers.Default. The deterministic cases keep the queues that would run the
 * operation busy (a task blocked on a gate) so that the cancellation lands before anything runs;
 * the withTimeout cases stream numbered bytes through the call under random timeouts while other
 * coroutines load the machine, and fail at the first lost, duplicated or leaked item.
 */
/** A lost byte or connection shows as a reader waiting forever: each case fails after this instead. */
private val BOUND = 120.seconds

class CancellationSpec : FunSpec({
    val group = IoQueueGroup.start(1, "cancel-loop")
    val loop = group.queues()[0]
    // The JDK opens an fd of its own on its first socket: open it before any count of fds.
    Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 1).let { l -> Socket(InetAddress.getLoopbackAddress(), Sockets.localPort(l)).close(); Fds.close(l) }
    afterSpec { group.shutdown(Duration.ofSeconds(10)) }

    test("off the loop, withTimeout ends a read of a silent pipe, and the next read gets the byte") {
        Fds.pipe().use { p ->
            runBlocking(Dispatchers.Default) {
                val buf = ByteBuffer.allocate(4)
                val e = runCatching { withTimeout(20) { read(p.readFd(), buf) } }.exceptionOrNull()
                (e is TimeoutCancellationException) shouldBe true
                writeByte(p.writeFd(), 5)
                read(p.readFd(), buf) shouldBe 1
            }
        }
    }

    for (owned in listOf(false, true)) {
        val on = if (owned) "a handle bound to a ${loop.backend()} loop" else "a plain fd"

        test("off the loop, a read cancelled before it ran moves nothing afterwards, on $on").config(timeout = BOUND, blockingTest = true) {
            val p = Fds.pipe()
            val target = Target(p.readFd(), if (owned) Handle.of(p.readFd(), loop) else null)
            val buf = ByteBuffer.allocate(10)
            var seen = -1
            gated(loop) { open ->
                runBlocking(Dispatchers.Default) {
                    val reader = launch(start = CoroutineStart.UNDISPATCHED) {
                        try {
                            target.read(buf)
                        } catch (e: CancellationException) {
                            seen = buf.position()
                            throw e
                        }
                    }
                    reader.cancel()
                    Fds.write(p.writeFd(), ByteArray(10), 0, 10) // there, had the read not been withdrawn
                    open()
                    reader.join()
                }
            }
            settle(loop)
            settle(IoQueue.shared())
            withClue("bytes in the buffer when the cancelled read resumed, and now") { buf.position() shouldBe seen }
            Fds.read(p.readFd(), ByteArray(10), 0, 10).coerceAtLeast(0) shouldBe 10 - seen
            target.close()
            Fds.close(p.writeFd())
        }

        test("off the loop, a readFully cancelled midway keeps its count in the buffer's position, on $on").config(timeout = BOUND, blockingTest = true) {
            val p = Fds.pipe()
            val target = Target(p.readFd(), if (owned) Handle.of(p.readFd(), loop) else null)
            val buf = ByteBuffer.allocate(20)
            var seen = -1
            gated(loop) { open ->
                runBlocking(Dispatchers.Default) {
                    val reader = launch(start = CoroutineStart.UNDISPATCHED) {
                        try {
                            target.readFully(buf)
                        } catch (e: CancellationException) {
                            seen = buf.position()
                            throw e
                        }
                    }
                    reader.cancel()
                    Fds.write(p.writeFd(), ByteArray(10), 0, 10)
                    open()
                    reader.join()
                }
            }
            settle(loop)
            settle(IoQueue.shared())
            buf.position() shouldBe seen
            val rest = Fds.read(p.readFd(), ByteArray(20), 0, 20)
            (if (rest < 0) 0 else rest) shouldBe 10 - seen
            target.close()
            Fds.close(p.writeFd())
        }

        test("off the loop, a writeFully cancelled while the peer is full sends nothing afterwards, on $on").config(timeout = BOUND, blockingTest = true) {
            val s = Fds.socketPair()
            val target = Target(s.first(), if (owned) Handle.of(s.first(), loop) else null)
            val filled = fill(s.first())
            val src = ByteBuffer.wrap(ByteArray(5) { it.toByte() })
            var seen = -1
            gated(loop) { open ->
                runBlocking(Dispatchers.Default) {
                    val writer = launch(start = CoroutineStart.UNDISPATCHED) {
                        try {
                            target.writeFully(src)
                        } catch (e: CancellationException) {
                            seen = src.position()
                            throw e
                        }
                    }
                    writer.cancel()
                    drain(s.second()) shouldBe filled // room again, had the write not been withdrawn
                    open()
                    writer.join()
                }
            }
            settle(loop)
            settle(IoQueue.shared())
            withClue("bytes written when the cancelled writeFully resumed, and now") { src.position() shouldBe seen }
            drain(s.second()) shouldBe seen.toLong()
            target.close()
            Fds.close(s.second())
        }

        test("off the loop, an accept cancelled before it ran leaves the connection queued or closed, no fd leaked, on $on").config(timeout = BOUND, blockingTest = true) {
            val listen = Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 8)
            val target = Target(listen, if (owned) Handle.of(listen, loop) else null)
            val port = Sockets.localPort(listen)
            settle(loop)
            settle(IoQueue.shared())
            val fdsBefore = openFds()
            var client: Socket? = null
            gated(loop) { open ->
                runBlocking(Dispatchers.Default) {
                    val acceptor = launch(start = CoroutineStart.UNDISPATCHED) { target.accept().close() }
                    acceptor.cancel()
                    client = Socket(InetAddress.getLoopbackAddress(), port) // in the backlog at once
                    open()
                    acceptor.join()
                }
            }
            settle(loop)
            settle(IoQueue.shared())
            // Either still queued (withdrawn before it ran), or accepted and closed at once (the client sees EOF).
            val queued = Sockets.accept(listen)
            if (queued >= 0) {
                Fds.close(queued)
            } else {
                val c = client!!
                c.soTimeout = 10_000
                c.getInputStream().read() shouldBe -1
            }
            client?.close()
            openFds() - fdsBefore shouldBe emptySet() // nothing opened meanwhile is left
            target.close()
        }

        test("under withTimeout and load, a stream read off the loop loses no byte, on $on").config(timeout = BOUND, blockingTest = true) {
            val p = Fds.pipe()
            val target = Target(p.readFd(), if (owned) Handle.of(p.readFd(), loop) else null)
            val total = 100_000
            val writer = numberedWriter(p.writeFd(), total)
            val timeouts = withLoad {
                runBlocking(Dispatchers.Default) {
                    var buf = ByteBuffer.allocate(1024) // faster than the writer: the pipe runs dry, the timeouts fire
                    var next = 0
                    var timeouts = 0
                    while (next < total) {
                        buf.clear()
                        var timedOut = false
                        try {
                            withTimeout(1) { target.read(buf) }
                        } catch (_: TimeoutCancellationException) {
                            timeouts++
                            timedOut = true
                        }
                        buf.flip()
                        while (buf.hasRemaining()) {
                            val b = buf.get().toInt() and 0xFF
                            withClue("byte $next (after $timeouts timeouts)") { b shouldBe (next and 0xFF) }
                            next++
                        }
                        // A read that went on after its cancellation would fill the old buffer: its bytes are lost here.
                        if (timedOut) buf = ByteBuffer.allocate(1024)
                    }
                    timeouts
                }
            }
            writer.join()
            println("CancellationSpec: read on $on: $timeouts timeouts")
            target.close()
            Fds.close(p.writeFd())
        }

        test("under withTimeout and load, a stream readFully off the loop loses no byte, on $on").config(timeout = BOUND, blockingTest = true) {
            val p = Fds.pipe()
            val target = Target(p.readFd(), if (owned) Handle.of(p.readFd(), loop) else null)
            val total = 512 * 200
            val writer = numberedWriter(p.writeFd(), total)
            withLoad {
                runBlocking(Dispatchers.Default) {
                    var buf = ByteBuffer.allocate(512)
                    var next = 0
                    while (next < total) {
                        buf.clear()
                        var timedOut = false
                        try {
                            withTimeout(1) { target.readFully(buf) }
                        } catch (_: TimeoutCancellationException) {
                            timedOut = true
                        }
                        buf.flip()
                        while (buf.hasRemaining()) {
                            val b = buf.get().toInt() and 0xFF
                            withClue("byte $next") { b shouldBe (next and 0xFF) }
                            next++
                        }
                        if (timedOut) buf = ByteBuffer.allocate(512)
                    }
                }
            }
            writer.join()
            target.close()
            Fds.close(p.writeFd())
        }

        test("under withTimeout and load, a stream writeFully off the loop neither loses nor repeats a byte, on $on").config(timeout = BOUND, blockingTest = true) {
            val p = Fds.pipe()
            val target = Target(p.writeFd(), if (owned) Handle.of(p.writeFd(), loop) else null)
            val total = 300_000
            val received = numberedReader(p.readFd(), total)
            withLoad {
                runBlocking(Dispatchers.Default) {
                    var sent = 0
                    while (sent < total) {
                        val n = minOf(4096, total - sent)
                        var chunk = ByteBuffer.allocate(n)
                        for (i in 0 until n) chunk.put(((sent + i) and 0xFF).toByte())
                        chunk.flip()
                        while (chunk.hasRemaining()) {
                            try {
                                withTimeout(1) { target.writeFully(chunk) }
                            } catch (_: TimeoutCancellationException) {
                                // The position says what went: the rest goes from a new buffer, and the old one is
                                // spoilt, so a write that went on after its cancellation sends garbage.
                                val rest = ByteBuffer.allocate(chunk.remaining()).put(chunk.duplicate()).flip()
                                while (chunk.hasRemaining()) chunk.put(0xEE.toByte())
                                chunk = rest
                            }
                        }
                        sent += n
                    }
                }
            }
            target.close()
            received.get(60, TimeUnit.SECONDS) shouldBe total.toLong()
            Fds.close(p.readFd())
        }

        test("under withTimeout and load, accepts off the loop lose and leak no connection, on $on").config(timeout = BOUND, blockingTest = true) {
            val listen = Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 512)
            val target = Target(listen, if (owned) Handle.of(listen, loop) else null)
            val port = Sockets.localPort(listen)
            val clients = 300
            settle(loop)
            val fdsBefore = openFds()
            val connected = CountDownLatch(1)
            val sockets = java.util.Collections.synchronizedList(ArrayList<Socket>())
            val connector = thread(name = "connector") {
                val random = Random(3)
                repeat(clients) {
                    sockets += Socket(InetAddress.getLoopbackAddress(), port)
                    if (random.nextInt(4) == 0) LockSupport.parkNanos(random.nextInt(2_000_000).toLong())
                }
                connected.countDown()
            }
            withLoad {
                runBlocking(Dispatchers.Default) {
                    while (true) {
                        val done = connected.count == 0L
                        try {
                            withTimeout(1) { target.acceptAndGreet() }
                        } catch (_: TimeoutCancellationException) {
                            if (done) break // everyone connected, and nothing came for a while
                        }
                    }
                }
            }
            connector.join()
            var fd = Sockets.accept(listen) // what is still queued
            while (fd >= 0) {
                greetAndClose(fd)
                fd = Sockets.accept(listen)
            }
            settle(loop)
            settle(IoQueue.shared())
            // Each client was greeted, or (accepted at a cancellation) closed: none is left open by a leaked fd.
            var greeted = 0
            var closed = 0
            for (s in sockets) {
                s.soTimeout = 5_000
                when (s.getInputStream().read()) {
                    'A'.code -> greeted++
                    -1 -> closed++
                }
                s.close()
            }
            withClue("greeted $greeted, closed at a cancellation $closed, of $clients") { greeted + closed shouldBe clients }
            openFds() - fdsBefore shouldBe emptySet() // nothing opened meanwhile is left
            target.close()
        }
    }
})

private fun greetAndClose(fd: Int) {
    Fds.write(fd, byteArrayOf('A'.code.toByte()), 0, 1)
    Fds.close(fd)
}

/** The call under test on a plain fd, or on a handle owning it. */
private class Target(val fd: Int, val handle: Handle?) {
    suspend fun read(b: ByteBuffer): Int = if (handle != null) handle.read(b) else read(fd, b)
    suspend fun readFully(b: ByteBuffer) = if (handle != null) handle.readFully(b) else readFully(fd, b)
    suspend fun writeFully(b: ByteBuffer) = if (handle != null) handle.writeFully(b) else writeFully(fd, b)
    suspend fun accept(): AutoCloseable =
        if (handle != null) handle.accept() else accept(fd).let { c -> AutoCloseable { Fds.close(c) } }
    suspend fun acceptAndGreet() {
        if (handle != null) {
            handle.accept().use { Fds.write(it.fd(), byteArrayOf('A'.code.toByte()), 0, 1) }
        } else {
            greetAndClose(accept(fd))
        }
    }
    fun close() = if (handle != null) handle.close() else Fds.close(fd)
}

/**
 * Runs [block] while [loop] and the shared queue are each stuck in a task (a slow attempt ahead of
 * anything posted after it); [block] gets the function that lets them go on.
 */
private fun gated(loop: IoQueue, block: (open: () -> Unit) -> Unit) {
    val gate = CountDownLatch(1)
    loop.execute { gate.await() }
    IoQueue.shared().execute { gate.await() }
    try {
        block { gate.countDown() }
    } finally {
        gate.countDown()
    }
}

/** Waits until [queue] has run everything posted to it before. */
internal fun settle(queue: IoQueue) {
    val done = CompletableFuture<Unit>()
    queue.execute { done.complete(Unit) }
    done.get(30, TimeUnit.SECONDS)
}

/** Writes into the non-blocking [fd] until it would block: how much went. */
private fun fill(fd: Int): Long {
    val chunk = ByteArray(65536)
    var total = 0L
    while (true) {
        val n = Fds.write(fd, chunk, 0, chunk.size)
        if (n == Fds.WOULD_BLOCK) return total
        total += n
    }
}

/** Reads the non-blocking [fd] until it would block: how much came. */
private fun drain(fd: Int): Long {
    val chunk = ByteArray(65536)
    var total = 0L
    while (true) {
        val n = Fds.read(fd, chunk, 0, chunk.size)
        if (n < 0) return total
        total += n
    }
}


/** A thread writing bytes numbered 0, 1, 2... (mod 256) into [fd] in random chunks at random moments. */
private fun numberedWriter(fd: Int, total: Int): Thread = thread(name = "numbered-writer") {
    val random = Random(1)
    var next = 0
    val chunk = ByteArray(512)
    while (next < total) {
        val n = minOf(1 + random.nextInt(chunk.size), total - next)
        for (i in 0 until n) chunk[i] = ((next + i) and 0xFF).toByte()
        var off = 0
        while (off < n) {
            val w = Fds.write(fd, chunk, off, n - off)
            if (w == Fds.WOULD_BLOCK) Fds.awaitReady(fd, dev.ioqueue.ReadyEvent.WRITE) else off += w
        }
        next += n
        if (random.nextInt(3) == 0) LockSupport.parkNanos(random.nextInt(3_000_000).toLong())
    }
}

/** A thread reading numbered bytes from [fd] until end-of-file, slowly at times; the count, or a failure at the first wrong byte. */
private fun numberedReader(fd: Int, total: Int): CompletableFuture<Long> {
    val result = CompletableFuture<Long>()
    thread(name = "numbered-reader") {
        try {
            val random = Random(2)
            val chunk = ByteArray(8192)
            var next = 0L
            while (true) {
                val n = Fds.read(fd, chunk, 0, 1 + random.nextInt(chunk.size))
                if (n == Fds.EOF) break
                if (n == Fds.WOULD_BLOCK) {
                    Fds.awaitReady(fd, dev.ioqueue.ReadyEvent.READ)
                    continue
                }
                for (i in 0 until n) {
                    check((chunk[i].toInt() and 0xFF).toLong() == (next and 0xFF)) { "byte $next is ${chunk[i].toInt() and 0xFF}: a byte was lost or repeated" }
                    next++
                }
                check(next <= total) { "$next bytes arrived of $total sent: a write was repeated" }
                if (random.nextInt(8) == 0) LockSupport.parkNanos(random.nextInt(500_000).toLong())
            }
            result.complete(next)
        } catch (t: Throwable) {
            result.completeExceptionally(t)
        }
    }
    return result
}

/** Runs [block] while four coroutines on Dispatchers.Default keep the machine and the shared queue busy. */
private fun <T> withLoad(block: () -> T): T {
    val noise = kotlinx.coroutines.CoroutineScope(Dispatchers.Default)
    repeat(4) {
        noise.launch {
            val p = Fds.pipe()
            try {
                while (isActive) {
                    writeByte(p.writeFd())
                    awaitRead(p.readFd())
                    readByte(p.readFd())
                    var x = 0L
                    repeat(20_000) { x += it * 31L }
                    if (x == 42L) println(x)
                }
            } finally {
                p.close()
            }
        }
    }
    try {
        return block()
    } finally {
        runBlocking { noise.coroutineContext[kotlinx.coroutines.Job]!!.let { j -> j.children.forEach { it.cancel() }; j.children.forEach { it.join() } } }
    }
}
