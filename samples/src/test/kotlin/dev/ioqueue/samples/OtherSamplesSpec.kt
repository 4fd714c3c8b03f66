package dev.ioqueue.samples

import dev.ioqueue.kotlin.runIoQueue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.nio.file.Files
import java.time.Duration
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.flow.transformWhile
import kotlinx.coroutines.launch
import kotlinx.coroutines.yield

class OtherSamplesSpec : FunSpec({
    test("the inotify flow reports a file's creation, writes and deletion, in order") {
        val dir = Files.createTempDirectory("ioqueue-watch-test")
        val events = runIoQueue {
            val seen = async {
                watchDirectory(dir).transformWhile { emit(it); it != FileEvent(FileEvent.Kind.DELETED, "a.txt") }.toList()
            }
            launch {
                repeat(10) { yield() } // the collector has opened its watch by now
                val file = dir.resolve("a.txt")
                Files.writeString(file, "one")
                Files.delete(file)
            }
            seen.await()
        }
        Files.delete(dir)
        val kinds = events.filter { it.name == "a.txt" }.map { it.kind }.distinct()
        kinds shouldBe listOf(FileEvent.Kind.CREATED, FileEvent.Kind.MODIFIED, FileEvent.Kind.WRITTEN, FileEvent.Kind.DELETED)
    }

    test("timerfd, eventfd, execute and schedule share one loop thread") {
        val r = onLoopThread { TimerAndEventFd.run(Duration.ofMillis(150), 10) }
        r.eventfdTotal() shouldBe 55L
        r.tasks() shouldBe 10
        (r.ticks() >= 1) shouldBe true
        r.threads() shouldBe setOf("sample-loop")
    }
})
