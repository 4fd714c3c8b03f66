package dev.ioqueue.benchmarks

import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.ReadyEvent
import dev.ioqueue.IoQueue
import dev.ioqueue.kotlin.awaitRead
import dev.ioqueue.kotlin.read
import dev.ioqueue.kotlin.runIoQueue
import dev.ioqueue.kotlin.writeFully
import java.nio.ByteBuffer
import java.lang.foreign.Arena
import java.lang.foreign.ValueLayout.JAVA_BYTE
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.launch

/** The ring with one coroutine per pipe, suspended in `awaitRead` on the queue's own dispatcher. */
object KotlinRing {
    fun run(n: Int, tokens: Int, hops: Long, idle: Int): Double {
        val pipes = Array(n) { Fds.pipe() }
        val idlePipes = Array(idle) { Fds.pipe() }
        try {
            Arena.ofConfined().use { arena ->
                val buffer = arena.allocate(1)
                buffer.set(JAVA_BYTE, 0, 1)
                val queue = IoQueue.current()
                for (p in idlePipes) queue.await(p.readFd(), ReadyEvent.READ) { _, _ -> error("an idle pipe became ready") }
                for (k in 0 until tokens) Fds.write(pipes[(k.toLong() * n / tokens).toInt()].writeFd(), buffer)
                var done = 0L
                var end = 0L
                val start = System.nanoTime()
                runIoQueue {
                    val finished = CompletableDeferred<Unit>()
                    val jobs = (0 until n).map { i ->
                        val fd = pipes[i].readFd()
                        val next = pipes[(i + 1) % n].writeFd()
                        launch {
                            while (true) {
                                awaitRead(fd)
                                if (Fds.read(fd, buffer) != 1) continue // spurious: wait again
                                Fds.write(next, buffer)
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
                for (p in idlePipes) queue.unregister(p.readFd())
                return done / ((end - start) / 1e9)
            }
        } finally {
            pipes.forEach { it.close() }
            idlePipes.forEach { it.close() }
        }
    }

    /**
     * The ring written with the suspending helpers: `read` into [bufferSize] bytes, `writeFully` of
     * what came to the next pipe; no EAGAIN handling. Each byte moved one pipe on is a hop. The
     * pipes' fds are owned by [Handle]s, read and written through them, so an io_uring queue can
     * use the ring for them (a plain fd waits for readiness and makes its own syscall).
     */
    fun runWithHelpers(n: Int, tokens: Int, hops: Long, bufferSize: Int): Double {
        val reads = ArrayList<Handle>()
        val writes = ArrayList<Handle>()
        try {
            repeat(n) {
                val pipe = Fds.pipe()
                reads += Handle.of(pipe.readFd())
                writes += Handle.of(pipe.writeFd())
            }
            val one = ByteBuffer.allocateDirect(1).put(0, 1)
            for (k in 0 until tokens) Fds.write(writes[(k.toLong() * n / tokens).toInt()].fd(), one.clear())
            var done = 0L
            var end = 0L
            val start = System.nanoTime()
            runIoQueue {
                val finished = CompletableDeferred<Unit>()
                val jobs = (0 until n).map { i ->
                    val input = reads[i]
                    val next = writes[(i + 1) % n]
                    val buffer = ByteBuffer.allocateDirect(bufferSize)
                    launch {
                        while (true) {
                            buffer.clear()
                            val count = input.read(buffer)
                            buffer.flip()
                            next.writeFully(buffer)
                            done += count
                            if (done >= hops && end == 0L) {
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
            reads.forEach { it.close() }
            writes.forEach { it.close() }
        }
    }
}
