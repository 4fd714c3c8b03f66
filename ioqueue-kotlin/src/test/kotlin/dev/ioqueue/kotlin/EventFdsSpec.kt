package dev.ioqueue.kotlin

import dev.ioqueue.EventFd
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlin.concurrent.thread
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.yield

class EventFdsSpec : FunSpec({
    test("awaitTake suspends until another thread signals, then takes the whole count") {
        onFreshThread {
            EventFd.counter(0).use { counter ->
                val taken = runIoQueue {
                    val taking = async { counter.awaitTake() }
                    yield() // it ran up to awaitRead: nothing to take yet
                    taking.isActive shouldBe true
                    thread { counter.signal(3); counter.signal(4) }.join()
                    taking.await()
                }
                taken shouldBe 7L
                counter.take() shouldBe 0L
            }
        }
    }

    test("awaitTake in semaphore mode takes 1 at a time, on Dispatchers.Default too") {
        EventFd.semaphore(2).use { semaphore ->
            runBlocking(Dispatchers.Default) { listOf(semaphore.awaitTake(), semaphore.awaitTake()) } shouldBe listOf(1L, 1L)
            semaphore.take() shouldBe 0L
        }
    }
})
