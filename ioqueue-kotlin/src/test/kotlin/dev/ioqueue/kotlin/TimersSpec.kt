package dev.ioqueue.kotlin

import dev.ioqueue.TimerFd
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldHaveSize
import io.kotest.matchers.shouldBe
import java.time.Duration
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking

class TimersSpec : FunSpec({
    test("ticks emits expiration counts, never 0: take(5) of a 10 ms timer on runIoQueue") {
        onFreshThread {
            TimerFd.open().use { timer ->
                timer.armPeriodic(Duration.ofMillis(10))
                val counts = runIoQueue { timer.ticks().take(5).toList() }
                counts shouldHaveSize 5
                counts.all { it >= 1 } shouldBe true
            }
        }
    }

    test("ticks of a one-shot timer emits 1, on Dispatchers.Default too") {
        TimerFd.open().use { timer ->
            timer.armOnce(Duration.ofMillis(5))
            runBlocking(Dispatchers.Default) { timer.ticks().take(1).toList() } shouldBe listOf(1L)
        }
    }
})
