package dev.ioqueue.kotlin

import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoOperation
import dev.ioqueue.IoQueue
import java.nio.ByteBuffer
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.launch

/**
 * A measuring tool, not a test: the pipe ring written with the Kotlin helpers (`read` then
 * `writeFully` on [Handle]s, one coroutine per pipe) against the same ring written with Java
 * [IoOperation]s (one reusable read and one write-all operation per pipe, chained by their
 * completions), in one JVM, trials interleaved, on the backend `-Ddev.ioqueue.backend` names.
 * Prints hops per second (median of the trials) and the Kotlin/Java ratio.
 *
 * `java --enable-native-access=ALL-UNNAMED -Dkotlinx.coroutines.debug=off -Ddev.ioqueue.backend=epoll
 *  -cp <test class path> dev.ioqueue.kotlin.RingRatioKt [pipes] [tokens] [hops] [trials]`
 */
fun main(args: Array<String>) {
    val n = args.getOrNull(0)?.toInt() ?: 2
    val tokens = args.getOrNull(1)?.toInt() ?: 1
    val hops = args.getOrNull(2)?.toLong() ?: 2_000_000
    val trials = args.getOrNull(3)?.toInt() ?: 5
    val kotlin = ArrayList<Double>()
    val java = ArrayList<Double>()
    onFreshThread("ring") {
        println("backend ${IoQueue.current().backend()}, $n pipes, $tokens tokens, $hops hops, $trials trials")
        kotlinRing(n, tokens, hops / 5)
        javaRing(n, tokens, hops / 5)
        repeat(trials) {
            kotlin += kotlinRing(n, tokens, hops)
            java += javaRing(n, tokens, hops)
        }
    }
    val k = kotlin.sorted()[trials / 2]
    val j = java.sorted()[trials / 2]
    println("Kotlin read/writeFully ring: %.0f hops/s; Java IoOperation ring: %.0f hops/s; ratio %.2f".format(k, j, k / j))
}

private class Ring(n: Int) : AutoCloseable {
    val pipes = Array(n) { Fds.pipe() }
    val reads = pipes.map { Handle.of(it.readFd()) }
    val writes = pipes.map { Handle.of(it.writeFd()) }
    override fun close() {
        reads.forEach { it.close() }
        writes.forEach { it.close() }
    }
}

private fun kotlinRing(n: Int, tokens: Int, hops: Long): Double = Ring(n).use { ring ->
    var done = 0L
    var end = 0L
    val start = System.nanoTime()
    runIoQueue {
        val finished = CompletableDeferred<Unit>()
        val jobs = (0 until n).map { i ->
            val input = ring.reads[i]
            val output = ring.writes[(i + 1) % n]
            val buffer = ByteBuffer.allocateDirect(1)
            launch {
                while (true) {
                    buffer.clear()
                    val count = input.read(buffer)
                    buffer.flip()
                    output.writeFully(buffer)
                    done += count
                    if (done >= hops && end == 0L) {
                        end = System.nanoTime()
                        finished.complete(Unit)
                    }
                }
            }
        }
        for (k in 0 until tokens) ring.writes[(k.toLong() * n / tokens).toInt()].writeFully(byteArrayOf(1))
        finished.await()
        jobs.forEach { it.cancel() }
    }
    done / ((end - start) / 1e9)
}

private fun javaRing(n: Int, tokens: Int, hops: Long): Double = Ring(n).use { ring ->
    val queue = IoQueue.current()
    var done = 0L
    var end = 0L
    for (i in 0 until n) {
        val input = ring.reads[i]
        val output = ring.writes[(i + 1) % n]
        val buffer = ByteBuffer.allocateDirect(1)
        val ops = arrayOfNulls<IoOperation>(2)
        ops[0] = IoOperation.read(buffer) { _, count ->
            buffer.flip()
            queue.submit(output, ops[1])
            done += count
            if (done >= hops && end == 0L) end = System.nanoTime()
        }
        ops[1] = IoOperation.writeFully(buffer) { _, _ ->
            buffer.clear()
            if (end == 0L) queue.submit(input, ops[0])
        }
        queue.submit(input, ops[0])
    }
    val start = System.nanoTime()
    for (k in 0 until tokens) Fds.write(ring.pipes[(k.toLong() * n / tokens).toInt()].writeFd(), byteArrayOf(1), 0, 1)
    while (end == 0L) queue.runOnce(null)
    // let the reads still waiting go: closing the handles drops them
    done / ((end - start) / 1e9)
}
