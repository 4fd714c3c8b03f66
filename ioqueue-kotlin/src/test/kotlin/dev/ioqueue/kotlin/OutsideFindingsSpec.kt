package dev.ioqueue.kotlin

import dev.ioqueue.IoQueue
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.GlobalScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

/** The Kotlin defects that testing from outside found (issue 9), numbered as there. Each failed before its fix. */
class OutsideFindingsSpec : FunSpec({

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

    test("7: a coroutine in delay when its queue closes is cancelled, runs its finally, and join returns") {
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

    test("7: a coroutine in withTimeout when its queue closes is cancelled, runs its finally, and join returns") {
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

    test("a background await whose fd another thread closed does not fail the next await of that number") {
        val p1 = dev.ioqueue.Fds.pipe()
        val fd = p1.readFd()
        runBlocking(kotlinx.coroutines.Dispatchers.Default) {
            val first = async { runCatching { awaitRead(fd) } }
            delay(200) // its waiter is now in ioqueue-background
            dev.ioqueue.Fds.close(fd) // this thread's queue is told, the background one cannot be
            val p2 = dev.ioqueue.Fds.pipe()
            writeByte(p2.writeFd())
            withTimeout(10_000) { awaitRead(p2.readFd()) } // a PrematureCloseError before the fix
            if (p2.readFd() == fd) {
                (withTimeout(10_000) { first.await() }.exceptionOrNull() is AwaitClosedException) shouldBe true
            } else {
                first.cancel()
            }
            p2.close()
        }
        dev.ioqueue.Fds.close(p1.writeFd())
    }

    test("8: runIoQueue nested on one thread fails at once with a clear message") {
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

    test("8: run() from inside a coroutine on the loop fails at once") {
        val e = onFreshThread {
            shouldThrow<IllegalStateException> { runIoQueue { IoQueue.current().run() } }
        }
        e.message!! shouldContain "not re-entrant"
    }
})
