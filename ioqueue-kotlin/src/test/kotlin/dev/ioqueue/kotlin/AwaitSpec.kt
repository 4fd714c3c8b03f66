package dev.ioqueue.kotlin

import dev.ioqueue.Event
import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoQueue
import dev.ioqueue.ReadyEvent
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContain
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.yield

class AwaitSpec : FunSpec({
    test("awaitRead, awaitWrite and awaitPriorityRead return what the OS reported") {
        onFreshThread {
            val s = Fds.socketPair()
            runIoQueue {
                awaitWrite(s.first()) shouldContain Event.WRITE
                writeByte(s.second(), 9)
                awaitRead(Handle.of(s.first()).let { h -> h.fd() }) shouldContain Event.READ
                readByte(s.first()) shouldBe 9
                Fds.close(s.second())
                awaitRead(s.first()) shouldContain Event.HANGUP
            }
            Fds.close(s.first())
        }
    }

    test("two waiters on the same fd and event: the second call throws IllegalStateException") {
        onFreshThread {
            val p = Fds.pipe()
            runIoQueue {
                val first = launch { awaitRead(p.readFd()) }
                yield()
                val e = shouldThrow<IllegalStateException> { awaitRead(p.readFd()) }
                e.message!! shouldContain "fd ${p.readFd()}"
                first.isActive shouldBe true
                writeByte(p.writeFd())
                first.join()
            }
            p.close()
        }
    }

    test("awaitRead from Dispatchers.Default works and resumes on Default") {
        val p = Fds.pipe()
        val thread = runBlocking(Dispatchers.Default) {
            val waiting = async { awaitRead(p.readFd()); Thread.currentThread().name }
            delay(20)
            writeByte(p.writeFd())
            waiting.await()
        }
        thread shouldContain "DefaultDispatcher"
        p.close()
    }

    test("a cancelled background await removes its waiter: the fd can be awaited again at once") {
        val p = Fds.pipe()
        runBlocking(Dispatchers.Default) {
            repeat(200) {
                val job = launch { awaitRead(p.readFd()) }
                delay(1)
                job.cancelAndJoin()
            }
            writeByte(p.writeFd())
            awaitRead(p.readFd())
        }
        p.close()
    }

    test("cancellation races: 10k awaits cancelled from another thread while data arrives") {
        val helper = Executors.newSingleThreadExecutor()
        try {
            onFreshThread {
                val p = Fds.pipe()
                val resumed = AtomicInteger()
                var bytesRead = 0
                runIoQueue {
                    repeat(10_000) { i ->
                        val job = launch(start = CoroutineStart.UNDISPATCHED) {
                            awaitRead(p.readFd())
                            resumed.incrementAndGet()
                        }
                        helper.execute {
                            writeByte(p.writeFd())
                            if (i % 2 == 0) job.cancel() else { Thread.onSpinWait(); job.cancel() }
                        }
                        job.join()
                        // The waiter is gone either way: awaiting again must not be refused.
                        awaitRead(p.readFd())
                        while (readByte(p.readFd()) >= 0) bytesRead++
                    }
                    loopPolledOnce() // released interests are flushed before every poll
                }
                bytesRead shouldBe 10_000
                (resumed.get() <= 10_000) shouldBe true
                (p.readFd() in fdsRegisteredInAnyEpoll()) shouldBe false
                p.close()
            }
        } finally {
            helper.shutdown()
        }
    }

    test("cancelling an await on the loop releases the OS interest") {
        onFreshThread {
            val p = Fds.pipe()
            runIoQueue {
                val job = launch { awaitRead(p.readFd()) }
                yield()
                (p.readFd() in fdsRegisteredInAnyEpoll()) shouldBe true
                job.cancelAndJoin()
                loopPolledOnce()
                (p.readFd() in fdsRegisteredInAnyEpoll()) shouldBe false
            }
            p.close()
        }
    }

    test("a call cancelled on the loop frees its fd at once: the canceller's next call on it, without join, is not refused") {
        onFreshThread {
            val p = Fds.pipe()
            val socket = Fds.socketPair()
            val hs = Handle.of(socket.first())
            runIoQueue {
                val calls = listOf<Pair<String, suspend () -> Unit>>(
                    "awaitRead(fd)" to { awaitRead(p.readFd()) },
                    "Handle.awaitReadable" to { hs.awaitReadable() },
                    "Handle.read" to { hs.read(java.nio.ByteBuffer.allocate(8)) },
                    "read(fd)" to { read(p.readFd(), java.nio.ByteBuffer.allocate(8)) },
                )
                for ((name, call) in calls) {
                    repeat(3) {
                        val waiting = launch { call() }
                        yield() // it suspends, waiting
                        waiting.cancel()
                        // No join: the same call again, from the canceller, while the cancelled one has not resumed yet.
                        val again = launch(start = CoroutineStart.UNDISPATCHED) { call() } // runs here, now
                        yield()
                        again.isActive shouldBe true // waiting, not refused ("already has a READ waiter")
                        again.cancel()
                        waiting.join()
                        again.join()
                        waiting.isCancelled shouldBe true
                    }
                }
            }
            p.close()
            hs.close()
            Fds.close(socket.second())
        }
    }

    test("readiness emits once per readiness and stops on cancellation") {
        onFreshThread {
            val p = Fds.pipe()
            runIoQueue {
                // A readable pipe nobody drains: each collection step is one wake-up.
                writeByte(p.writeFd())
                readiness(p.readFd(), ReadyEvent.READ).take(3).toList() shouldBe List(3) { setOf(Event.READ) }
                readByte(p.readFd()) shouldBe 1
                // A silent pipe emits nothing; data makes it emit exactly once per readiness.
                val emissions = mutableListOf<Set<Event>>()
                val reachedTwo = CompletableDeferred<Unit>()
                val collector = launch {
                    readiness(p.readFd(), ReadyEvent.READ).collect {
                        emissions += it
                        readByte(p.readFd())
                        if (emissions.size == 2) reachedTwo.complete(Unit)
                    }
                }
                repeat(20) { yield() }
                emissions.size shouldBe 0
                writeByte(p.writeFd())
                while (emissions.size < 1) yield()
                repeat(20) { yield() }
                emissions.size shouldBe 1
                writeByte(p.writeFd())
                reachedTwo.await()
                (p.readFd() in fdsRegisteredInAnyEpoll()) shouldBe true
                collector.cancelAndJoin()
                loopPolledOnce() // a poll first flushes the released interest
                (p.readFd() in fdsRegisteredInAnyEpoll()) shouldBe false
                emissions.size shouldBe 2
            }
            p.close()
        }
    }

    test("a negative fd is an IllegalArgumentException, a closed fd EBADF") {
        onFreshThread {
            runIoQueue {
                shouldThrow<IllegalArgumentException> { awaitRead(-1) }
                val p = Fds.pipe()
                p.close()
                val e = shouldThrow<dev.ioqueue.SyscallException> { awaitRead(p.readFd()) }
                e.errnoName() shouldBe "EBADF"
            }
        }
    }

    test("awaits from Default reach the background queue, which is one named daemon thread") {
        val p = Fds.pipe()
        runBlocking(Dispatchers.Default) {
            val waiting = async { awaitRead(p.readFd()) }
            delay(10)
            writeByte(p.writeFd())
            waiting.await()
        }
        val bg = Thread.getAllStackTraces().keys.filter { it.name == "ioqueue-background" }
        bg.size shouldBe 1
        bg.single().isDaemon shouldBe true
        p.close()
        withContext(Dispatchers.Default) { IoQueue::class.java shouldBe IoQueue::class.java }
    }
})
