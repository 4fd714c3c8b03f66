package dev.ioqueue.benchmarks

import io.ktor.network.selector.ClosedChannelCancellationException
import io.ktor.network.selector.InterestSuspensionsMap
import io.ktor.network.selector.SelectInterest
import io.ktor.network.selector.Selectable
import io.ktor.network.selector.SelectorManager
import java.nio.ByteBuffer
import java.nio.channels.Pipe
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking

/**
 * The Kotlin peer: the ring with one coroutine per pipe suspended in ktor-network's
 * `SelectorManager.select`, over NIO pipes, all ring coroutines in one `runBlocking` (the setup
 * of ../shared/bench/peers/ktor-ring). ktor's selector runs on its own thread (Dispatchers.IO).
 */
object KtorRing {
    /** ktor's `SelectableBase` is internal; this is the minimum a pipe source needs. */
    private class PipeSource(override val channel: Pipe.SourceChannel) : Selectable {
        override val suspensions = InterestSuspensionsMap()
        private val closed = AtomicBoolean()
        private val ops = AtomicInteger()
        override val isClosed: Boolean get() = closed.get()
        override val interestedOps: Int get() = ops.get()

        override fun interestOp(interest: SelectInterest, state: Boolean) {
            val flag = interest.flag
            ops.updateAndGet { if (state) it or flag else it and flag.inv() }
        }

        override fun close() {
            if (!closed.compareAndSet(false, true)) return
            ops.set(0)
            suspensions.invokeForEachPresent { resumeWith(Result.failure(ClosedChannelCancellationException())) }
        }

        override fun dispose() = close()
    }

    fun run(n: Int, tokens: Int, hops: Long): Double {
        val selector = SelectorManager(Dispatchers.IO)
        val pipes = Array(n) { Pipe.open().apply { source().configureBlocking(false); sink().configureBlocking(false) } }
        val sources = Array(n) { PipeSource(pipes[it].source()).apply { interestOp(SelectInterest.READ, true) } }
        try {
            val one = ByteBuffer.allocateDirect(1)
            for (k in 0 until tokens) {
                one.clear(); one.put(1.toByte()).flip()
                pipes[(k.toLong() * n / tokens).toInt()].sink().write(one)
            }
            val buffer = ByteBuffer.allocateDirect(1)
            var done = 0L
            var end = 0L
            val start = System.nanoTime()
            runBlocking {
                val finished = CompletableDeferred<Unit>()
                val jobs = (0 until n).map { i ->
                    val source = pipes[i].source()
                    val next = pipes[(i + 1) % n].sink()
                    launch {
                        while (done < hops) {
                            selector.select(sources[i], SelectInterest.READ)
                            buffer.clear()
                            if (source.read(buffer) != 1) continue
                            buffer.flip()
                            next.write(buffer)
                            if (++done == hops) {
                                end = System.nanoTime()
                                finished.complete(Unit)
                            }
                        }
                    }
                }
                finished.await()
                jobs.forEach { it.cancel() }
            }
            return done / ((end - start) / 1e9)
        } finally {
            selector.close()
            sources.forEach { it.close() }
            pipes.forEach { it.source().close(); it.sink().close() }
        }
    }
}
