package dev.ioqueue.ktor

import dev.ioqueue.Errno
import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.SocketOptions
import dev.ioqueue.SyscallFailure
import dev.ioqueue.SyscallSocketException
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeIn
import io.kotest.matchers.nulls.shouldNotBeNull
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import io.ktor.utils.io.ClosedByteChannelException
import io.ktor.utils.io.readAvailable
import io.ktor.utils.io.readByte
import io.ktor.utils.io.readFully
import io.ktor.utils.io.readLine
import io.ktor.utils.io.readUTF8Line
import io.ktor.utils.io.writeFully
import io.ktor.utils.io.writeStringUtf8
import java.io.DataInputStream
import java.io.IOException
import java.net.Socket
import java.net.SocketTimeoutException
import java.net.StandardSocketOptions
import java.util.Arrays
import java.util.Random
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import kotlin.coroutines.EmptyCoroutineContext
import kotlin.time.Duration.Companion.microseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.io.EOFException

/** Reads everything [peer] receives until end-of-file, as text. */
private fun Socket.readAllText(): String = getInputStream().readAllBytes().toString(Charsets.UTF_8)

/** The channels over a handle ([openReadChannel], [openWriteChannel]), each against a JDK socket as the real peer. */
class ChannelsSpec : FunSpec({
    afterSpec { println("ChannelsSpec ran on $loopBackends loops") }

    test("64 MiB echoed through the channels come back byte-exact, then end-of-file after flushAndClose") {
        val (handle, peer) = tcpPair()
        val total = 64L shl 20
        val seed = 19L
        val sender = Thread.ofPlatform().start {
            val random = Random(seed)
            val chunk = ByteArray(65_537)
            var sent = 0L
            while (sent < total) {
                val n = minOf(chunk.size.toLong(), total - sent).toInt()
                random.nextBytes(chunk)
                peer.getOutputStream().write(chunk, 0, n)
                sent += n
            }
            peer.shutdownOutput()
        }
        val echoed = Thread.ofPlatform().start {
            onLoop {
                handle.use { h ->
                    val input = h.openReadChannel()
                    val output = h.openWriteChannel()
                    val buffer = ByteArray(16 * 1024)
                    while (true) {
                        val n = input.readAvailable(buffer)
                        if (n < 0) break
                        output.writeFully(buffer, 0, n)
                        output.flush()
                    }
                    output.flushAndClose()
                }
            }
        }
        val expected = Random(seed)
        val want = ByteArray(65_537)
        val got = ByteArray(65_537)
        val back = DataInputStream(peer.getInputStream())
        var received = 0L
        while (received < total) {
            val n = minOf(want.size.toLong(), total - received).toInt()
            expected.nextBytes(want)
            back.readFully(got, 0, n)
            Arrays.mismatch(want, 0, n, got, 0, n) shouldBe -1
            received += n
        }
        back.read() shouldBe -1 // nothing more: the half-close came after the last byte
        sender.join()
        echoed.join()
        peer.close()
    }

    test("readUTF8Line and readLine take LF and CRLF lines, long and multi-byte ones, then the unterminated last, then null") {
        val long = "ü€x".repeat(7_000) // 42,000 bytes: lines across many reads
        val (handle, peer) = tcpPair()
        peer.use {
            peer.getOutputStream().write("alpha\nbeta\r\n\n$long\ngamma\r\ndelta\nlast".toByteArray(Charsets.UTF_8))
            peer.shutdownOutput()
            onLoop {
                handle.use { h ->
                    val input = h.openReadChannel()
                    @Suppress("DEPRECATION")
                    val legacy = listOf(input.readUTF8Line(), input.readUTF8Line(), input.readUTF8Line(), input.readUTF8Line())
                    legacy shouldBe listOf("alpha", "beta", "", long)
                    listOf(input.readLine(), input.readLine(), input.readLine(), input.readLine()) shouldBe listOf("gamma", "delta", "last", null)
                    @Suppress("DEPRECATION")
                    input.readUTF8Line() shouldBe null
                    input.isClosedForRead shouldBe true
                }
            }
        }
    }

    test("end-of-file: readAvailable gives the last bytes, then -1; the channel is closed without a cause; readByte throws EOFException") {
        val (handle, peer) = tcpPair()
        peer.use {
            peer.getOutputStream().write("abc".toByteArray())
            peer.shutdownOutput()
            onLoop {
                handle.use { h ->
                    val input = h.openReadChannel()
                    val buffer = ByteArray(16)
                    var text = ""
                    while (true) {
                        val n = input.readAvailable(buffer)
                        if (n < 0) break
                        text += String(buffer, 0, n)
                    }
                    text shouldBe "abc"
                    input.isClosedForRead shouldBe true
                    input.closedCause shouldBe null
                    shouldThrow<EOFException> { input.readByte() }
                }
            }
        }
    }

    test("a peer reset fails the read with an IOException carrying ECONNRESET; later reads throw it again") {
        val (handle, peer) = tcpPair()
        peer.setSoLinger(true, 0)
        peer.close() // RST
        onLoop {
            handle.use { h ->
                val input = h.openReadChannel()
                val failure = shouldThrow<IOException> { input.readAvailable(ByteArray(16)) }
                failure.shouldBeInstanceOf<ClosedByteChannelException>()
                failure.cause.shouldBeInstanceOf<SyscallSocketException>()
                SyscallFailure.of(failure).errno() shouldBe Errno.ECONNRESET
                input.isClosedForRead shouldBe true
                SyscallFailure.of(input.closedCause).errno() shouldBe Errno.ECONNRESET
                val again = shouldThrow<IOException> { input.readByte() }
                SyscallFailure.of(again).errno() shouldBe Errno.ECONNRESET
            }
        }
    }

    test("a write to a reset peer fails the flush with an IOException carrying ECONNRESET or EPIPE; the channel is closed") {
        val (handle, peer) = tcpPair()
        peer.setSoLinger(true, 0)
        peer.close()
        onLoop {
            handle.use { h ->
                val output = h.openWriteChannel()
                val chunk = ByteArray(64 * 1024)
                val failure = shouldThrow<IOException> {
                    repeat(1000) { // the first write may still go out before the reset is seen
                        output.writeFully(chunk)
                        output.flush()
                    }
                }
                SyscallFailure.of(failure).errno() shouldBeIn listOf(Errno.ECONNRESET, Errno.EPIPE)
                output.isClosedForWrite shouldBe true
                shouldThrow<IOException> { output.writeFully(chunk) }
            }
        }
    }

    test("flushAndClose sends what is buffered and half-closes: the peer reads it and end-of-file, and can still answer") {
        val (handle, peer) = tcpPair()
        peer.use {
            onLoop {
                handle.use { h ->
                    val input = h.openReadChannel()
                    val output = h.openWriteChannel()
                    output.writeStringUtf8("ping\n")
                    output.flushAndClose()
                    output.isClosedForWrite shouldBe true
                    output.closedCause shouldBe null
                    peer.readAllText() shouldBe "ping\n" // ends: the peer saw end-of-file
                    peer.getOutputStream().write("pong\n".toByteArray())
                    input.readLine() shouldBe "pong"
                }
            }
        }
    }

    test("with autoFlush every write function sends; without it nothing is sent before a flush") {
        val (handle, peer) = tcpPair()
        peer.use {
            peer.soTimeout = 200
            onLoop {
                handle.use { h ->
                    val output = h.openWriteChannel(autoFlush = false)
                    output.writeStringUtf8("held\n")
                    shouldThrow<java.net.SocketTimeoutException> { peer.getInputStream().read() }
                    output.flush()
                    peer.soTimeout = 30_000
                    String(peer.getInputStream().readNBytes(5)) shouldBe "held\n"
                }
            }
        }
        val (handle2, peer2) = tcpPair()
        peer2.use {
            onLoop {
                handle2.use { h ->
                    h.openWriteChannel(autoFlush = true).writeStringUtf8("sent\n")
                    String(peer2.getInputStream().readNBytes(5)) shouldBe "sent\n"
                }
            }
        }
    }

    // guards: each flush's write runs in a scope of its own, which the loop's budget cannot count
    // (cold review: a timer starved for as long as the writer ran)
    test("a writer whose flushes never wait still yields its loop: a timer on it fires") {
        val (handle, peer) = tcpPair()
        val drain = Thread.ofPlatform().start {
            val b = ByteArray(1 shl 16)
            try {
                val input = peer.getInputStream()
                while (input.read(b) >= 0) continue
            } catch (_: IOException) {
                // closed under it
            }
        }
        peer.use {
            handle.use { h ->
                var ticked = false
                var tickedWhileWriting = false
                var flushes = 0L
                onLoop {
                    val timer = launch {
                        delay(20)
                        ticked = true
                    }
                    launch {
                        val output = h.openWriteChannel()
                        val one = ByteArray(1)
                        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10)
                        while (!ticked && System.nanoTime() < deadline) {
                            output.writeFully(one)
                            output.flush() // the peer drains: never waits
                            flushes++
                        }
                        tickedWhileWriting = ticked // not after the writer gave up
                    }.join()
                    timer.cancel()
                }
                withClue("after $flushes flushes") { tickedWhileWriting shouldBe true }
            }
        }
        drain.join()
    }

    // guards: a read cancelled by code on its own loop frees the fd at once but moves its chunk into
    // the channel's buffer a task later; a read asked for meanwhile shared that chunk (outside round 44)
    test("a read cancelled on the handle's loop and asked again at once, without join, loses and repeats no byte") {
        val (handle, peer) = tcpPair()
        val total = 300 * 601
        val sender = Thread.ofPlatform().start {
            val out = peer.getOutputStream()
            var i = 0
            while (i < total) {
                out.write(ByteArray(601) { (i + it).toByte() })
                i += 601
                Thread.sleep(1) // reads that wait, and are cancelled while they wait
            }
        }
        var cancelled = 0
        peer.use {
            handle.use { h ->
                onLoop {
                    val input = h.openReadChannel()
                    var got = 0
                    val buf = ByteArray(700)
                    fun check(n: Int) {
                        if (n < 0) error("end of input after $got of $total bytes")
                        for (k in 0 until n) buf[k] shouldBe (got + k).toByte()
                        got += n
                    }
                    while (got < total) withTimeout(10_000) {
                        val waiting = launch(start = kotlinx.coroutines.CoroutineStart.UNDISPATCHED) {
                            check(input.readAvailable(buf))
                        }
                        if (waiting.isActive) cancelled++
                        waiting.cancel()
                        if (got < total) { // again at once, from the canceller
                            check(input.readAvailable(buf))
                        }
                        waiting.join()
                    }
                }
            }
        }
        sender.join()
        withClue("no read was cancelled while it waited: the test did not test") { (cancelled > 0) shouldBe true }
    }

    // guards: a second reader while the first's read waits shared its chunk (outside round 45);
    // ktor's own channels refuse it, and so does this one
    test("a second coroutine reading while the first's read waits gets ktor's ConcurrentIOException; the first reads on") {
        val (handle, peer) = tcpPair()
        peer.use {
            handle.use { h ->
                onLoop {
                    val input = h.openReadChannel()
                    val first = async(start = kotlinx.coroutines.CoroutineStart.UNDISPATCHED) { input.readAvailable(ByteArray(8)) }
                    shouldThrow<io.ktor.utils.io.ConcurrentIOException> { input.readAvailable(ByteArray(8)) }.message!! shouldContain "fd "
                    peer.getOutputStream().write(byteArrayOf(1, 2, 3))
                    withTimeout(10_000) { first.await() } shouldBe 3
                }
            }
        }
    }

    for (kind in listOf("Unix socket", "pipe")) {
        test("cancelling the write channel ends a flush that waits for room on a $kind, with the cancellation's cause") {
            val mine: Handle
            val peer: Int
            if (kind == "pipe") {
                val pipe = Fds.pipe()
                mine = Handle.of(pipe.writeFd())
                peer = pipe.readFd()
            } else {
                val pair = Fds.socketPair()
                mine = Handle.of(pair.first())
                peer = pair.second()
            }
            try {
                onLoop {
                    mine.use { h ->
                        val output = h.openWriteChannel()
                        val writer = async {
                            shouldThrow<IOException> { output.writeFully(ByteArray(32 shl 20)) } // the flush waits for room
                        }
                        delay(100)
                        writer.isActive shouldBe true
                        output.cancel(IOException("stop"))
                        val failure = withTimeoutOrNull(10.seconds) { writer.await() }
                        failure.shouldNotBeNull().cause?.message shouldBe "stop"
                        output.isClosedForWrite shouldBe true
                    }
                }
            } finally {
                Fds.close(peer)
            }
        }
    }

    test("cancelling the write channel ends a flush that waits for room, with the cancellation's cause; the peer reads end-of-file") {
        val steps = Steps()
        val (handle, peer) = tcpPair()
        peer.use {
            onLoop {
                handle.use { h ->
                    val output = h.openWriteChannel()
                    val writer = launch {
                        steps.expect(1)
                        val failure = shouldThrow<IOException> {
                            output.writeFully(ByteArray(32 shl 20)) // far more than the socket holds: the flush waits
                        }
                        steps.expect(3)
                        failure.cause?.message shouldBe "stop"
                    }
                    delay(100)
                    steps.expect(2)
                    output.cancel(IOException("stop"))
                    writer.join()
                    steps.finish(4)
                    output.isClosedForWrite shouldBe true
                }
            }
            // Whatever was sent before the cancellation, then end-of-file.
            val drained = peer.getInputStream().readAllBytes()
            (drained.size < (32 shl 20)) shouldBe true
        }
    }
    test("readFully fills the array across the peer's separate writes; end-of-file before it is full throws EOFException") {
        val (handle, peer) = tcpPair()
        peer.use {
            val sender = Thread.ofPlatform().start {
                for (part in listOf("hel", "lo wo", "rld")) {
                    peer.getOutputStream().write(part.toByteArray())
                    Thread.sleep(20) // each part its own segment: readFully waits for more
                }
                peer.getOutputStream().write("abc".toByteArray())
                peer.shutdownOutput()
            }
            onLoop {
                handle.use { h ->
                    val input = h.openReadChannel()
                    val whole = ByteArray(11)
                    input.readFully(whole)
                    String(whole) shouldBe "hello world"
                    shouldThrow<EOFException> { input.readFully(ByteArray(5)) } // only "abc" is left
                }
            }
            sender.join()
        }
    }

    test("writeFully holds what it writes below 1 MiB until flush; past 1 MiB it sends by itself") {
        val (handle, peer) = tcpPair()
        peer.use {
            val big = Random(3).let { r -> ByteArray((1 shl 20) + 1).also(r::nextBytes) }
            val received = CompletableFuture<ByteArray>()
            onLoop {
                handle.use { h ->
                    val output = h.openWriteChannel()
                    output.writeFully("small".toByteArray())
                    peer.soTimeout = 200
                    shouldThrow<SocketTimeoutException> { peer.getInputStream().read() }
                    peer.soTimeout = 30_000
                    // "small" and the big array together pass 1 MiB: the write flushes while the peer reads.
                    Thread.ofPlatform().start { received.complete(peer.getInputStream().readNBytes(5 + big.size)) }
                    output.writeFully(big)
                    received.get(30, TimeUnit.SECONDS).contentEquals("small".toByteArray() + big) shouldBe true
                }
            }
        }
    }

    for ((where, context) in listOf("on the loop" to EmptyCoroutineContext, "off the loop" to Dispatchers.Default)) {
        test("reads cancelled at random moments, $where, lose no byte; the channel stays open; closing the handle leaves no fd") {
            val total = 1 shl 20
            val data = Random(5).let { r -> ByteArray(total).also(r::nextBytes) }
            val (handle, peer) = tcpPair()
            val inode = socketInode(handle.fd())!!
            peer.use {
                val sender = Thread.ofPlatform().start {
                    var sent = 0
                    while (sent < total) { // small writes, with pauses: reads wait, and are cancelled while they wait
                        val n = minOf(4096, total - sent)
                        peer.getOutputStream().write(data, sent, n)
                        sent += n
                        if (sent % (64 * 1024) == 0) Thread.sleep(20) // longer than any timeout below, even a late timer
                    }
                }
                val cancelled = onLoop {
                    withContext(context) {
                        handle.use { h ->
                            val input = h.openReadChannel()
                            val got = ByteArray(total)
                            var at = 0
                            var cancelled = 0
                            val random = Random(11)
                            while (at < total) {
                                // What a read returns is counted inside the block: a timeout that comes as the block
                                // returns turns its value into null (kotlinx's documented caveat), not its effects.
                                val read = withTimeoutOrNull(random.nextLong(50, 3_000).microseconds) { at += input.readAvailable(got, at, total - at) }
                                if (read == null) cancelled++
                            }
                            input.isClosedForRead shouldBe false
                            Arrays.mismatch(got, data) shouldBe -1
                            cancelled
                        }
                    }
                }
                sender.join()
                (cancelled > 0) shouldBe true // the test cancelled reads at all
            }
            openSocketInodes().contains(inode) shouldBe false
        }

        test("flushes cancelled at random moments, $where, lose no byte: a later flush sends the rest in order; no fd left") {
            val total = 4 shl 20
            val data = Random(6).let { r -> ByteArray(total).also(r::nextBytes) }
            val (handle, peer) = tcpPair(peerReceiveBuffer = 16 * 1024)
            SocketOptions.set(handle, StandardSocketOptions.SO_SNDBUF, 16 * 1024) // small buffers: every flush waits for the peer
            val inode = socketInode(handle.fd())!!
            peer.use {
                val received = CompletableFuture<ByteArray>()
                Thread.ofPlatform().start {
                    val input = peer.getInputStream()
                    val got = ByteArray(total)
                    var at = 0
                    while (at < total) { // a slow reader: flushes wait for room
                        val n = input.read(got, at, minOf(32 * 1024, total - at))
                        if (n < 0) break
                        at += n
                        Thread.sleep(1)
                    }
                    received.complete(got.copyOf(at))
                }
                val cancelled = onLoop {
                    withContext(context) {
                        handle.use { h ->
                            val output = h.openWriteChannel()
                            val random = Random(12)
                            var cancelled = 0
                            for (at in 0 until total step 64 * 1024) {
                                output.writeFully(data, at, at + 64 * 1024) // under 1 MiB buffered: no flush of its own
                                if (withTimeoutOrNull(random.nextLong(100, 3_000).microseconds) { output.flush() } == null) cancelled++
                                output.isClosedForWrite shouldBe false
                            }
                            output.flush()
                            cancelled
                        }
                    }
                }
                Arrays.mismatch(received.get(30, TimeUnit.SECONDS), data) shouldBe -1
                (cancelled > 0) shouldBe true
            }
            openSocketInodes().contains(inode) shouldBe false
        }
    }
})
