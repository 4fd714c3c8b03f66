package dev.ioqueue.kotlin

import dev.ioqueue.EventFd
import dev.ioqueue.TimerFd
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.flow.collect
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

    // A wait on the bare number would stay in its queue after the fd closed (epoll forgets a closed
    // file): the coroutine would hang, or the next file to get the number would wake it.
    test("closing the eventfd from another thread ends awaitTake, on a loop and off one") {
        onFreshThread {
            val onLoop = EventFd.counter(0)
            runIoQueue {
                val taking = async { shouldThrow<AwaitClosedException> { withTimeout(10_000) { onLoop.awaitTake() } } }
                yield()
                val closer = thread { onLoop.close() } // returns once the loop closed it: not joined on the loop
                taking.await()
                closer.join()
            }
        }
        val offLoop = EventFd.counter(0)
        runBlocking(Dispatchers.Default) {
            val taking = async { shouldThrow<AwaitClosedException> { withTimeout(10_000) { offLoop.awaitTake() } } }
            while (offLoop.handle().queue() == null) yield() // its wait reached the background queue
            thread { offLoop.close() }.join()
            taking.await()
        }
    }

    test("closing a timer from another thread ends the collection of its ticks") {
        onFreshThread {
            val timer = TimerFd.open()
            runIoQueue {
                val collecting = async { shouldThrow<AwaitClosedException> { withTimeout(10_000) { timer.ticks().collect {} } } }
                yield()
                val closer = thread { timer.close() }
                collecting.await()
                closer.join()
            }
        }
    }
})
