package dev.ioqueue.kotlin

import dev.ioqueue.Errno
import dev.ioqueue.Fds
import dev.ioqueue.IoQueue
import dev.ioqueue.ReadyEvent
import dev.ioqueue.Handle
import dev.ioqueue.SyscallSocketException
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeLessThan
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import java.io.EOFException
import java.lang.management.ManagementFactory
import java.nio.ByteBuffer
import java.util.Random
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

class ReadWriteSpec : FunSpec({
    test("on the loop, a read of a ready fd returns without suspending") {
        onFreshThread {
            Fds.pipe().use { p ->
                runIoQueue {
                    writeByte(p.writeFd(), 7)
                    var otherRan = false
                    launch { otherRan = true } // runs only if the reader suspends
                    val buf = ByteArray(4)
                    read(p.readFd(), buf) shouldBe 1
                    buf[0] shouldBe 7.toByte()
                    otherRan shouldBe false
                }
            }
        }
    }

    test("a read waits for data and returns -1 at end of file") {
        onFreshThread {
            val p = Fds.pipe()
            runIoQueue {
                val reader = async { read(p.readFd(), ByteBuffer.allocate(8)) }
                loopPolledOnce()
                writeByte(p.writeFd(), 1)
                reader.await() shouldBe 1
                Fds.close(p.writeFd())
                read(p.readFd(), ByteArray(8)) shouldBe Fds.EOF
            }
            Fds.close(p.readFd())
        }
    }

    test("readFully and writeFully move 64 MiB byte-exact through a pipe") {
        onFreshThread {
            val size = 64 shl 20
            val data = ByteArray(size).also { Random(5).nextBytes(it) }
            val got = ByteArray(size)
            Fds.pipe().use { p ->
                runIoQueue {
                    val writer = launch { writeFully(p.writeFd(), data) }
                    readFully(p.readFd(), got)
                    writer.join()
                }
            }
            got.contentEquals(data) shouldBe true
        }
    }

    test("readFully and writeFully from another dispatcher go through the background queue") {
        val size = 4 shl 20
        val data = ByteArray(size).also { Random(6).nextBytes(it) }
        val got = ByteBuffer.allocateDirect(size)
        Fds.pipe().use { p ->
            runBlocking(Dispatchers.Default) {
                val writer = launch { writeFully(p.writeFd(), ByteBuffer.wrap(data)) }
                readFully(p.readFd(), got)
                writer.join()
            }
        }
        val copy = ByteArray(size)
        got.flip().get(copy)
        copy.contentEquals(data) shouldBe true
    }

    test("readFully at end of file before the buffer is full throws EOFException with the count") {
        onFreshThread {
            val p = Fds.pipe()
            Fds.write(p.writeFd(), byteArrayOf(1, 2, 3), 0, 3)
            Fds.close(p.writeFd())
            val e = runIoQueue { shouldThrow<EOFException> { readFully(p.readFd(), ByteArray(10)) } }
            e.message shouldContain "3 of 10"
            Fds.close(p.readFd())
        }
    }

    test("cancelling a readFully midway keeps what was read and removes the waiter") {
        onFreshThread {
            Fds.pipe().use { p ->
                runIoQueue {
                    val buf = ByteBuffer.allocate(1 shl 20)
                    val reader = launch(start = CoroutineStart.UNDISPATCHED) { readFully(p.readFd(), buf) }
                    Fds.write(p.writeFd(), ByteArray(1000), 0, 1000)
                    loopPolledOnce()
                    loopPolledOnce()
                    buf.position() shouldBe 1000
                    reader.cancelAndJoin()
                    reader.isCancelled shouldBe true
                    loopPolledOnce()
                    (p.readFd() in fdsRegisteredInAnyEpoll()) shouldBe false
                    writeByte(p.writeFd(), 4)
                    read(p.readFd(), ByteArray(1)) shouldBe 1 // the fd is free for the next read
                }
            }
        }
    }

    test("a HANGUP'd fd whose operation still would block ends with EOF instead of spinning") {
        onFreshThread {
            val p = Fds.pipe()
            writeByte(p.writeFd(), 1)
            Fds.close(p.writeFd())
            val threads = ManagementFactory.getThreadMXBean()
            val cpuBefore = threads.currentThreadCpuTime
            var attempts = 0
            val result = runIoQueue {
                val hold = IoQueue.current().hold()
                val r = awaitIo(p.readFd(), ReadyEvent.READ) { attempts++; Fds.WOULD_BLOCK.toLong() }
                kotlinx.coroutines.delay(1000) // the loop idles: a spinning fd would burn this second
                hold.cancel()
                r
            }
            val cpuMillis = (threads.currentThreadCpuTime - cpuBefore) / 1_000_000
            result shouldBe Fds.EOF.toLong()
            attempts shouldBeLessThan 3
            cpuMillis shouldBeLessThan 300L
            Fds.close(p.readFd())
        }
    }

    test("a write to a hung-up peer fails with an IOException carrying the fd and errno, on and off the loop") {
        val s = Fds.socketPair()
        Fds.close(s.second())
        val onLoop = onFreshThread { runIoQueue { shouldThrow<SyscallSocketException> { writeFully(s.first(), ByteArray(10)) } } }
        onLoop.errno() shouldBe Errno.EPIPE
        onLoop.fd() shouldBe s.first()
        val offLoop = runBlocking(Dispatchers.Default) { shouldThrow<SyscallSocketException> { writeFully(s.first(), ByteArray(10)) } }
        offLoop.errno() shouldBe Errno.EPIPE
        Fds.close(s.first())
    }

    test("a blocking fd is refused with the fix in the message") {
        onFreshThread {
            Fds.pipe().use { p ->
                Fds.setNonBlocking(p.readFd(), false)
                val e = runIoQueue { shouldThrow<IllegalArgumentException> { read(p.readFd(), ByteArray(1)) } }
                e.message shouldContain "Fds.setNonBlocking(${p.readFd()}, true)"
            }
        }
    }

    test("a closed fd number given to an I/O call fails it with an IOException naming the fd and EBADF, on the loop and off it") {
        val closed = 1 shl 22 // above any fd limit: never open (a number just closed could be a new queue's own)
        suspend fun all(where: String) {
            val calls = listOf<Pair<String, suspend () -> Any?>>(
                "read" to { read(closed, ByteBuffer.allocate(4)) },
                "readFully" to { readFully(closed, ByteBuffer.allocate(4)) },
                "write" to { write(closed, ByteArray(4)) },
                "writeFully" to { writeFully(closed, ByteBuffer.allocate(4)) },
                "accept" to { accept(closed) },
                "Handle.read" to { Handle.of(closed).read(ByteBuffer.allocate(4)) },
            )
            for ((name, call) in calls) {
                withClue("$name $where") {
                    val e = shouldThrow<java.io.IOException> { call() }
                    (e as dev.ioqueue.SyscallFailure).errnoName() shouldBe "EBADF"
                    e.message!! shouldContain "fd $closed"
                }
            }
        }
        onFreshThread { runIoQueue { all("on the loop") } }
        runBlocking(Dispatchers.Default) { all("off the loop") }
    }

    test("closing the fd while a read waits fails it with AwaitClosedException") {
        onFreshThread {
            val p = Fds.pipe()
            runIoQueue {
                val reader = async(start = CoroutineStart.UNDISPATCHED) { runCatching { read(p.readFd(), ByteArray(1)) } }
                Fds.close(p.readFd())
                val failure = reader.await().exceptionOrNull()
                (failure is AwaitClosedException) shouldBe true
            }
            Fds.close(p.writeFd())
        }
    }

    test("accept on the loop returns the connection's fd") {
        onFreshThread {
            val listen = dev.ioqueue.Sockets.listenTcp(java.net.InetAddress.getLoopbackAddress(), 0, 4)
            val port = dev.ioqueue.Sockets.localPort(listen)
            val fd = runIoQueue {
                val client = async(Dispatchers.IO) { java.net.Socket(java.net.InetAddress.getLoopbackAddress(), port) }
                val fd = withTimeout(10_000) { accept(listen) }
                client.await().close()
                fd
            }
            Fds.isNonBlocking(fd) shouldBe true
            Fds.close(fd)
            Fds.close(listen)
        }
    }

    test("a thousand reads on a persistently ready fd never overflow the stack") {
        onFreshThread {
            val p = Fds.pipe()
            Fds.write(p.writeFd(), ByteArray(5000), 0, 5000)
            Fds.close(p.writeFd())
            var total = 0
            runIoQueue {
                val one = ByteArray(1)
                while (true) {
                    val n = read(p.readFd(), one)
                    if (n == Fds.EOF) break
                    total += n
                }
            }
            total shouldBe 5000
            Fds.close(p.readFd())
        }
    }

    test("off the loop, a handle closed on another thread ends the await, and its number, made again, is awaited normally") {
        val first = Fds.pipe()
        val handle = Handle.of(first.readFd())
        runBlocking(Dispatchers.Default) {
            val waiting = async { runCatching { handle.awaitReadable() } }
            delay(50) // most likely waiting by now; if not, it finds the handle closed
            handle.close()
            val failure = withTimeout(10_000) { waiting.await() }.exceptionOrNull()
            (failure is AwaitClosedException || failure is java.nio.channels.ClosedChannelException) shouldBe true
            val again = Fds.pipe() // likely the same number
            writeByte(again.writeFd())
            withTimeout(10_000) { awaitRead(again.readFd()) }
            again.close()
        }
        Fds.close(first.writeFd())
    }

    test("off the loop, closing a handle on another thread ends a waiting read with AwaitClosedException") {
        repeat(50) {
            val s = Fds.socketPair()
            val handle = Handle.of(s.first())
            val outcome = runBlocking(Dispatchers.Default) {
                val reader = async(start = CoroutineStart.UNDISPATCHED) { runCatching { handle.read(ByteArray(4)) } }
                kotlinx.coroutines.delay((it % 5).toLong())
                handle.close()
                withTimeout(10_000) { reader.await() }
            }
            val failure = outcome.exceptionOrNull()
            withClue("round $it: $outcome") {
                (failure is AwaitClosedException || failure is java.nio.channels.ClosedChannelException) shouldBe true
            }
            Fds.close(s.second())
        }
    }
})
