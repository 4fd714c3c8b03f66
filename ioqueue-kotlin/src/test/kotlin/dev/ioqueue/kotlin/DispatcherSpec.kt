package dev.ioqueue.kotlin

import dev.ioqueue.Fds
import dev.ioqueue.IoQueue
import dev.ioqueue.ReadyCallback
import dev.ioqueue.ReadyEvent
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeSameInstanceAs
import java.util.concurrent.CountDownLatch
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import io.kotest.matchers.string.shouldContain
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.GlobalScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.coroutineScope
import io.kotest.assertions.withClue
import kotlinx.coroutines.yield

class DispatcherSpec : FunSpec({
    /** Starts [body] as a coroutine on a fresh loop thread, runs the loop until it suspends, then closes the queue. */
    fun suspendedThenClosed(body: suspend () -> Unit): Job {
        val job = CompletableFuture<Job>()
        val loop = Thread {
            val queue = IoQueue.current()
            @OptIn(kotlinx.coroutines.DelicateCoroutinesApi::class)
            job.complete(GlobalScope.launch(queue.dispatcher) { body() })
            queue.runOnce(Duration.ofMillis(50)) // the coroutine starts and suspends
            queue.close()
        }
        loop.start()
        loop.join()
        return job.get()
    }

    // Found from outside (issue 9, finding 7): a suspended timer must not outlive its closed queue.
    test("a coroutine in delay when its queue closes is cancelled, runs its finally, and join returns") {
        val finallyRan = AtomicBoolean()
        val job = suspendedThenClosed {
            try {
                delay(3_600_000)
            } finally {
                finallyRan.set(true)
            }
        }
        runBlocking { withTimeout(10_000) { job.join() } }
        job.isCancelled shouldBe true
        finallyRan.get() shouldBe true
    }

    test("a coroutine in withTimeout when its queue closes is cancelled, runs its finally, and join returns") {
        val finallyRan = AtomicBoolean()
        val never = CompletableDeferred<Unit>()
        val job = suspendedThenClosed {
            try {
                withTimeout(3_600_000) { never.await() }
            } finally {
                finallyRan.set(true)
            }
        }
        runBlocking { withTimeout(10_000) { job.join() } }
        job.isCancelled shouldBe true
        finallyRan.get() shouldBe true
    }

    // Found from outside (issue 9, finding 8): re-entering the loop fails at once.
    test("runIoQueue nested on one thread fails at once with a clear message") {
        val failure = CompletableFuture<Throwable?>()
        val t = Thread {
            try {
                runIoQueue { runIoQueue { } }
                failure.complete(null)
            } catch (e: Throwable) {
                failure.complete(e)
            } finally {
                IoQueue.current().close()
            }
        }
        t.isDaemon = true // a spinning regression must not keep the test JVM alive
        t.start()
        val e = failure.get(10, TimeUnit.SECONDS)
        (e is IllegalStateException) shouldBe true
        e!!.message!! shouldContain "not re-entrant"
        e.suppressed.size shouldBe 0
    }

    test("run() from inside a coroutine on the loop fails at once") {
        val e = onFreshThread {
            shouldThrow<IllegalStateException> { runIoQueue { IoQueue.current().run() } }
        }
        e.message!! shouldContain "not re-entrant"
    }

    test("Java callbacks and coroutines share one thread for 100k round trips") {
        onFreshThread {
            val loop = Thread.currentThread()
            val a = Fds.pipe()
            val b = Fds.pipe()
            val trips = 100_000
            var offThread = 0
            var callbacks = 0
            var resumptions = 0
            val queue = IoQueue.current()
            // Java side: reads B, writes A.
            val javaSide = object : ReadyCallback {
                override fun onReady(fd: Int, events: Set<dev.ioqueue.Event>) {
                    if (Thread.currentThread() !== loop) offThread++
                    callbacks++
                    readByte(fd) shouldBe 7
                    writeByte(a.writeFd(), 7)
                    if (callbacks < trips) queue.await(fd, ReadyEvent.READ, this)
                }
            }
            runIoQueue {
                queue.await(b.readFd(), ReadyEvent.READ, javaSide)
                // Coroutine side: reads A, writes B.
                writeByte(b.writeFd(), 7)
                repeat(trips) {
                    awaitRead(a.readFd())
                    if (Thread.currentThread() !== loop) offThread++
                    resumptions++
                    readByte(a.readFd()) shouldBe 7
                    if (it < trips - 1) writeByte(b.writeFd(), 7)
                }
            }
            a.close()
            b.close()
            callbacks shouldBe trips
            resumptions shouldBe trips
            offThread shouldBe 0
        }
    }

    test("delay and withTimeout are served by the loop: no new thread, deadline order") {
        val before = threadNames()
        val (order, newThreads) = onFreshThread("timer-loop") {
            val order = mutableListOf<Int>()
            runIoQueue {
                // 100 ms apart: a timeout's catch runs one dispatch after its timer (as in
                // runBlocking's loop), so a loop stalled past the next deadline on a loaded
                // machine would see the next delay's resumption first.
                launch { delay(300); order += 30 }
                launch { delay(100); order += 10 }
                launch { delay(200); order += 20 }
                launch {
                    try {
                        withTimeout(150) { delay(10_000) }
                    } catch (e: TimeoutCancellationException) {
                        order += 15
                    }
                }
            }
            order to (threadNames() - before - "timer-loop").filterNot { it.startsWith("kotest") }
        }
        order shouldBe listOf(10, 15, 20, 30)
        newThreads.shouldBeEmpty()
    }

    test("withTimeout around awaitRead on a silent pipe times out and the fd can be awaited again") {
        onFreshThread {
            val p = Fds.pipe()
            runIoQueue {
                shouldThrow<TimeoutCancellationException> { withTimeout(20) { awaitRead(p.readFd()) } }
                writeByte(p.writeFd(), 3)
                awaitRead(p.readFd()) // no "already has a READ waiter"
                readByte(p.readFd()) shouldBe 3
            }
            p.close()
        }
    }

    test("dispatch from 4 foreign threads x 100k launches loses none") {
        onFreshThread {
            val ran = AtomicInteger()
            val total = 4 * 100_000
            runIoQueue {
                val dispatcher = IoQueue.current().dispatcher
                val done = CompletableDeferred<Unit>()
                val loop = Thread.currentThread()
                var offLoop = 0
                val producers = (1..4).map {
                    thread {
                        repeat(100_000) {
                            kotlinx.coroutines.GlobalScope.launch(dispatcher) {
                                if (Thread.currentThread() !== loop) offLoop++
                                if (ran.incrementAndGet() == total) done.complete(Unit)
                            }
                        }
                    }
                }
                done.await()
                withContext(Dispatchers.IO) { producers.forEach { it.join() } }
                offLoop shouldBe 0
            }
            ran.get() shouldBe total
        }
    }

    // guards: a resumption during the queue's close (a drop) through .immediate ran inside the
    // close on the owner thread (cold review); once closed, .immediate dispatches as the plain one
    test("the immediate dispatcher resumes in place on its thread while the queue is open, never once it is closed") {
        onFreshThread {
            val queue = IoQueue.current()
            val immediate = queue.dispatcher.immediate
            immediate.isDispatchNeeded(kotlin.coroutines.EmptyCoroutineContext) shouldBe false
            queue.close()
            immediate.isDispatchNeeded(kotlin.coroutines.EmptyCoroutineContext) shouldBe true
        }
    }

    test("a million yields on the loop, and a million immediate resumptions, overflow no stack") {
        onFreshThread {
            runIoQueue {
                repeat(1_000_000) { yield() }
            }
            val queue = IoQueue.current()
            runIoQueue {
                withContext(queue.dispatcher.immediate) {
                    var chain = CompletableDeferred<Int>().also { it.complete(0) }
                    repeat(1_000_000) {
                        val next = CompletableDeferred<Int>()
                        launch(start = CoroutineStart.UNDISPATCHED) { next.complete(chain.await() + 1) }
                        chain = next
                    }
                    chain.await() shouldBe 1_000_000
                    repeat(1_000_000) { yield() }
                }
            }
        }
    }

    // A coroutine reading a stream whose bytes are always there never suspends: without a budget it
    // held the loop for the whole stream (the watchdog fired; timers and other coroutines waited).
    // The budget is the loop's: a read in a withTimeout or coroutineScope of its own (a job each
    // time) counts as well (it did not, when the count was the job's).
    for (immediate in listOf(false, true)) for (wrap in listOf("none", "withTimeout", "coroutineScope")) {
        test("a coroutine whose reads never suspend yields the loop to a timer within its budget (immediate=$immediate, each read in $wrap)") {
            onFreshThread {
                val pair = Fds.socketPair()
                try {
                    val ahead = 1 shl 20
                    dev.ioqueue.SocketOptions.set(pair.first(), java.net.StandardSocketOptions.SO_RCVBUF, ahead)
                    dev.ioqueue.SocketOptions.set(pair.second(), java.net.StandardSocketOptions.SO_SNDBUF, ahead)
                    val sent = Fds.write(pair.second(), java.nio.ByteBuffer.allocateDirect(ahead))
                    check(sent > 100_000) { "only $sent bytes ahead" }
                    val limit = minOf(sent.toLong(), 200_000L) // a 1 ms timer is due long before
                    val queue = IoQueue.current()
                    var readsBeforeTimer = -1L
                    runIoQueue { withContext(if (immediate) queue.dispatcher.immediate else queue.dispatcher) {
                        var reads = 0L
                        val timer = launch {
                            delay(1)
                            readsBeforeTimer = reads
                        }
                        val one = java.nio.ByteBuffer.allocateDirect(1)
                        while (timer.isActive && reads < limit) { // one byte a call: each call completes at once
                            one.clear()
                            val n = when (wrap) {
                                "withTimeout" -> withTimeout(60_000) { read(pair.first(), one) }
                                "coroutineScope" -> coroutineScope { read(pair.first(), one) }
                                else -> read(pair.first(), one)
                            }
                            n shouldBe 1
                            reads++
                        }
                    } }
                    // The timer ran while the reader still had bytes to read at once: the reader gave the
                    // loop its turn (at most a budget, 128 calls, after the timer was due).
                    // A millisecond of one-byte reads is a few thousand at most; a reader that never
                    // yielded reaches the limit (or yields late, by chance, far beyond this).
                    withClue("reads before the timer ran: $readsBeforeTimer of $limit") {
                        (readsBeforeTimer in 0 until limit / 4) shouldBe true
                    }
                } finally {
                    Fds.close(pair.first())
                    Fds.close(pair.second())
                }
            }
        }
    }

    test("runIoQueue returns the result and rethrows the exception like runBlocking") {
        onFreshThread {
            runIoQueue { delay(1); 42 } shouldBe 42
            val e = shouldThrow<IllegalStateException> { runIoQueue<Unit> { launch { delay(1); error("child failed") } } }
            e.message shouldBe "child failed"
        }
    }

    test("a Java callback that throws reaches the caller of runIoQueue after the block is cancelled") {
        onFreshThread {
            val p = Fds.pipe()
            var finallyRan = false
            val e = shouldThrow<ArithmeticException> {
                runIoQueue {
                    IoQueue.current().await(p.readFd(), ReadyEvent.READ) { _, _ -> throw ArithmeticException("boom") }
                    writeByte(p.writeFd())
                    try { awaitCancellationForever() } finally { finallyRan = true }
                }
            }
            e.message shouldBe "boom"
            finallyRan shouldBe true
            p.close()
        }
    }

    test("after the queue is closed a dispatch cancels the job and finishes it elsewhere") {
        val queueHolder = CompletableDeferred<IoQueue>()
        val closed = CountDownLatch(1)
        thread { val q = IoQueue.current(); queueHolder.complete(q); q.close(); closed.countDown() }
        closed.await()
        val dispatcher = runBlocking { queueHolder.await() }.dispatcher
        var ranOn: Thread? = null
        val job: Job = kotlinx.coroutines.GlobalScope.launch(dispatcher) { ranOn = Thread.currentThread() }
        runBlocking { job.join() }
        job.isCancelled shouldBe true
        val thread = ranOn
        (thread == null || thread.name.startsWith("DefaultDispatcher")) shouldBe true
    }

    test("one dispatcher per queue: every access returns the same instance, and the same immediate twin") {
        onFreshThread {
            val d = IoQueue.current().dispatcher
            IoQueue.current().dispatcher shouldBeSameInstanceAs d
            IoQueue.current().asCoroutineDispatcher() shouldBeSameInstanceAs d
            d.immediate shouldBeSameInstanceAs IoQueue.current().dispatcher.immediate
            (d.immediate == d) shouldBe false
            d.immediate.immediate shouldBeSameInstanceAs d.immediate
        }
    }

    test("limitedParallelism is the dispatcher itself, or with a name a dispatcher of the same loop named so") {
        onFreshThread {
            val d = IoQueue.current().dispatcher
            d.limitedParallelism(4) shouldBeSameInstanceAs d
            val named = d.limitedParallelism(1, "db-writer")
            named.toString() shouldBe "db-writer"
            (named == d) shouldBe true
            (named as IoQueueDispatcher).immediate.toString() shouldBe "db-writer"
            named.queue shouldBeSameInstanceAs IoQueue.current()
            val loop = Thread.currentThread()
            runIoQueue {
                withContext(named) {
                    Thread.currentThread() shouldBeSameInstanceAs loop
                    Fds.pipe().use { p ->
                        writeByte(p.writeFd(), 7)
                        read(p.readFd(), ByteArray(1)) shouldBe 1 // on the loop's own path
                    }
                }
            }
            shouldThrow<IllegalArgumentException> { d.limitedParallelism(0, "none") }
        }
    }

    test("runIoQueue cancels its coroutine when the thread is interrupted, even while the loop sleeps, like runBlocking") {
        val asleep = CountDownLatch(1)
        var finallyRan = false
        val outcome = java.util.concurrent.CompletableFuture<Throwable?>()
        val t = thread(name = "interrupted-loop") {
            try {
                runIoQueue {
                    try {
                        asleep.countDown()
                        kotlinx.coroutines.awaitCancellation()
                    } finally {
                        finallyRan = true
                    }
                }
                outcome.complete(null)
            } catch (e: Throwable) {
                outcome.complete(e)
            } finally {
                IoQueue.current().close()
            }
        }
        asleep.await()
        Thread.sleep(50) // the loop is most likely asleep in its wait by now; awake, it must stop all the same
        t.interrupt()
        val e = outcome.get(10, java.util.concurrent.TimeUnit.SECONDS)
        (e is InterruptedException) shouldBe true
        finallyRan shouldBe true
    }

    test("an interrupt that comes as runIoQueue's block ends is kept: the result is returned and the thread's status stays set") {
        val outcome = java.util.concurrent.CompletableFuture<Pair<Int, Boolean>>()
        thread(name = "interrupted-at-the-end") {
            try {
                val result = runIoQueue {
                    Thread.currentThread().interrupt() // seen by the loop only after the block has completed
                    42
                }
                outcome.complete(result to Thread.interrupted())
            } catch (e: Throwable) {
                outcome.completeExceptionally(e)
            } finally {
                IoQueue.current().close()
            }
        }
        outcome.get(10, java.util.concurrent.TimeUnit.SECONDS) shouldBe (42 to true)
    }
})

private suspend fun awaitCancellationForever(): Nothing = kotlinx.coroutines.awaitCancellation()
