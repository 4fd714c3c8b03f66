package dev.ioqueue.benchmarks

import dev.ioqueue.kotlin.runIoQueue
import kotlin.random.Random
import kotlinx.coroutines.DelicateCoroutinesApi
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.newSingleThreadContext
import kotlinx.coroutines.runBlocking

/** [count] coroutines each `delay` a random 0..50 ms: wall time, and threads started by the run. */
object Timers {
    class Result(val seconds: Double, val threadsStarted: Int)

    fun ioqueue(count: Int, seed: Long): Result = measure {
        val random = Random(seed)
        runIoQueue { repeat(count) { launch { delay(random.nextLong(51)) } } }
    }

    @OptIn(DelicateCoroutinesApi::class, ExperimentalCoroutinesApi::class)
    fun singleThreadContext(count: Int, seed: Long): Result = measure {
        val random = Random(seed)
        newSingleThreadContext("single").use { context ->
            runBlocking(context) { repeat(count) { launch { delay(random.nextLong(51)) } } }
        }
    }

    private fun measure(body: () -> Unit): Result {
        val before = Thread.getAllStackTraces().keys.map { it.threadId() }.toSet()
        val start = System.nanoTime()
        body()
        val seconds = (System.nanoTime() - start) / 1e9
        val started = Thread.getAllStackTraces().keys.count { it.threadId() !in before }
        return Result(seconds, started)
    }
}
