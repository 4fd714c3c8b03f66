package dev.ioqueue.kotlin

import dev.ioqueue.BlockingIo
import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoQueueGroup
import dev.ioqueue.SocketOptions
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import java.net.StandardSocketOptions
import java.nio.ByteBuffer
import java.time.Duration
import java.util.concurrent.locks.LockSupport
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.io.indexOf
import kotlinx.io.readString
import kotlinx.io.writeString

// Buffered streams on a handle bound to a loop, used from a coroutine off that loop (Dispatchers.Default)
// and cancelled at random points by 1 ms time limits: each byte arrives once, in order. Off the loop a
// read or write may complete on the handle's queue while the cancellation wins on the coroutine's side;
// the streams keep what moved (outside round 12: a whole refill lost, a flushed batch sent twice).

private const val LINES = 20_000

class StreamsCancellationSpec : FunSpec({
    // Cancelled refills, the lines taken from the buffer: a value a block returned can be dropped by
    // withTimeoutOrNull itself (kotlinx.coroutines' documented race), a byte in the buffer cannot
    test("a refill cancelled off the handle's loop loses no byte") {
        val group = IoQueueGroup.start(1, "streams-read")
        val pair = Fds.socketPair()
        val h = Handle.of(pair.second(), group.next())
        val writer = Thread.ofPlatform().start {
            for (i in 0 until LINES) {
                val line = "line $i\n".toByteArray()
                BlockingIo.writeFully(pair.first(), line, 0, line.size)
                if (i % 500 == 0) Thread.sleep(2) // refills that wait longer than their 1 ms limit
            }
        }
        var cancelled = 0
        var read = 0
        try {
            runBlocking(Dispatchers.Default) {
                val reader = h.reader()
                while (read < LINES) {
                    when (withTimeoutOrNull(1) { reader.fill() }) {
                        null -> cancelled++
                        false -> error("end of file after $read lines")
                        true -> {}
                    }
                    while (true) {
                        val at = reader.buffer.indexOf('\n'.code.toByte())
                        if (at < 0) break
                        val line = reader.buffer.readString(at)
                        reader.buffer.skip(1)
                        withClue("after $cancelled cancelled refills") { line shouldBe "line $read" }
                        read++
                    }
                }
            }
        } finally {
            h.close() // a failed test ends the writer too (EPIPE)
            writer.join()
            Fds.close(pair.first())
            group.shutdown(Duration.ofSeconds(5))
        }
        withClue("no refill was cancelled: the test did not test") { cancelled shouldBeGreaterThan 0 }
    }

    // guards: a read cancelled by code on its own loop frees the fd at once, but the cancelled fill
    // gives the buffer's tail back a task later; a readLine asked for meanwhile shared that tail
    // (outside round 44: kotlinx-io's "Invalid number of bytes written", the reader broken)
    test("a readLine cancelled on the handle's loop and asked again at once, without join, loses and repeats no line") {
        val pair = Fds.socketPair()
        val writer = Thread.ofPlatform().unstarted {
            for (i in 0 until 3_000) {
                val line = "line $i\n".toByteArray()
                BlockingIo.writeFully(pair.first(), line, 0, line.size)
                LockSupport.parkNanos(50_000) // line by line: reads that wait, and are cancelled while they wait
            }
        }
        var cancelled = 0
        try {
            onFreshThread {
                val h = Handle.of(pair.second())
                runIoQueue {
                    val reader = h.reader()
                    writer.start() // once the reader reads: the socket would hold every line before it began
                    var next = 0
                    while (next < 3_000) {
                        val waiting = launch(start = kotlinx.coroutines.CoroutineStart.UNDISPATCHED) {
                            val line = reader.readLine()
                            line shouldBe "line $next" // it won the race with its cancellation
                            next++
                        }
                        if (waiting.isActive) cancelled++
                        waiting.cancel()
                        if (next < 3_000) { // again at once, from the canceller
                            reader.readLine() shouldBe "line $next"
                            next++
                        }
                        waiting.join()
                    }
                }
                h.close()
            }
        } finally {
            writer.join()
            Fds.close(pair.first())
        }
        withClue("no read was cancelled while it waited: the test did not test") { cancelled shouldBeGreaterThan 0 }
    }

    // guards: two calls on one reader at once (a retry made before a late cancellation came, from a
    // timer or another thread) shared its buffer: a stale scan, a second fill (outside round 45)
    test("readLine and readExactly called by two coroutines at once take turns, whole") {
        val pair = Fds.socketPair()
        try {
            onFreshThread {
                val h = Handle.of(pair.second())
                runIoQueue {
                    val reader = h.reader()
                    repeat(200) { i ->
                        val first = async(start = kotlinx.coroutines.CoroutineStart.UNDISPATCHED) {
                            if (i % 2 == 0) reader.readLine() else String(reader.readExactly(4))
                        }
                        val second = async(start = kotlinx.coroutines.CoroutineStart.UNDISPATCHED) { reader.readLine() }
                        val bytes = (if (i % 2 == 0) "a$i\nb$i\n" else "c${i % 10}\n\nd$i\n").toByteArray()
                        Fds.write(pair.first(), ByteBuffer.wrap(bytes)) shouldBe bytes.size // both lines in one write
                        val got = kotlinx.coroutines.withTimeout(10_000) { first.await() to second.await() }
                        got shouldBe (if (i % 2 == 0) "a$i" to "b$i" else "c${i % 10}\n\n" to "d$i")
                    }
                }
                h.close()
            }
        } finally {
            Fds.close(pair.first())
        }
    }

    test("a flush cancelled off the handle's loop sends each byte once") {
        val group = IoQueueGroup.start(1, "streams-write")
        val pair = Fds.socketPair()
        SocketOptions.set(pair.first(), StandardSocketOptions.SO_SNDBUF, 4096) // the peer's pace holds the flushes
        val h = Handle.of(pair.first(), group.next())
        val got = StringBuilder()
        val reader = Thread.ofPlatform().start {
            val chunk = ByteBuffer.allocate(512)
            while (true) {
                chunk.clear()
                val n = BlockingIo.read(pair.second(), chunk)
                if (n < 0) break
                got.append(String(chunk.array(), 0, n))
                Thread.sleep(1) // about 0.5 MB/s: flushes wait longer than their 1 ms limit
            }
        }
        var cancelled = 0
        try {
            runBlocking(Dispatchers.Default) {
                val w = h.writer()
                var i = 0
                while (i < LINES) {
                    repeat(100) { w.buffer.writeString("line ${i++}\n") }
                    while (w.buffer.size > 0) {
                        if (withTimeoutOrNull(1) { w.flush() } == null) cancelled++
                    }
                }
            }
        } finally {
            h.close()
            reader.join()
            Fds.close(pair.second())
            group.shutdown(Duration.ofSeconds(5))
        }
        val lines = got.lines().dropLast(1)
        val bad = lines.withIndex().firstOrNull { (n, line) -> line != "line $n" }
        withClue("first wrong line (after $cancelled cancelled flushes)") { bad shouldBe null }
        lines.size shouldBe LINES
        withClue("no flush was cancelled: the test did not test") { cancelled shouldBeGreaterThan 0 }
    }
})
