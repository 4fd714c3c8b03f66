package dev.ioqueue.kotlin

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking

private fun start(vararg command: String): Process =
    ProcessBuilder(*command).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start()

/** Starts awaitExit on a long-lived child, waits until its pidfd is open, cancels it: no fd is left of it. */
private suspend fun CoroutineScope.cancelledAwaitExitLeavesNoFd() {
    val child = start("sleep", "30")
    try {
        val before = openFds()
        val waiting = launch { child.awaitExit() }
        var polls = 0
        while ((openFds() - before).isEmpty() && polls++ < 5_000) delay(1) // the pidfd is open, the coroutine awaits it
        (openFds() - before).map { it.substringAfter(" -> ") } shouldBe listOf("anon_inode:[pidfd]")
        waiting.cancelAndJoin()
        openFds() - before shouldBe emptySet()
        child.isAlive shouldBe true
    } finally {
        child.destroy()
    }
}

class ProcessesSpec : FunSpec({
    test("awaitExit returns a child's exit code on runIoQueue") {
        onFreshThread {
            runIoQueue { start("sh", "-c", "sleep 0.1; exit 3").awaitExit() } shouldBe 3
        }
    }

    test("awaitExit on Dispatchers.Default returns the exit code and resumes there") {
        val (code, thread) = runBlocking(Dispatchers.Default) {
            start("sleep", "0.2").awaitExit() to Thread.currentThread().name
        }
        code shouldBe 0
        thread.startsWith("DefaultDispatcher") shouldBe true
        runBlocking(Dispatchers.Default) { start("sh", "-c", "exit 5").awaitExit() } shouldBe 5
    }

    test("awaitExit of a process already reaped returns its exit code at once") {
        val child = start("sh", "-c", "exit 4")
        child.waitFor()
        onFreshThread { runIoQueue { child.awaitExit() } } shouldBe 4
    }

    test("a cancelled awaitExit removes its waiter and closes its pidfd, on runIoQueue and on Dispatchers.Default") {
        onFreshThread { runIoQueue { cancelledAwaitExitLeavesNoFd() } }
        runBlocking(Dispatchers.Default) {
            start("true").awaitExit() // starts ioqueue-background first, so its fds are in the count
            cancelledAwaitExitLeavesNoFd()
        }
    }
})
