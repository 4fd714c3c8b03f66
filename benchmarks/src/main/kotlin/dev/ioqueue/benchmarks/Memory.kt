package dev.ioqueue.benchmarks

import dev.ioqueue.Event
import dev.ioqueue.Fds
import dev.ioqueue.IoQueue
import dev.ioqueue.ReadyCallback
import dev.ioqueue.ReadyEvent
import dev.ioqueue.kotlin.awaitRead
import dev.ioqueue.kotlin.runIoQueue
import java.lang.management.ManagementFactory
import kotlinx.coroutines.launch
import kotlinx.coroutines.yield

/**
 * Retained heap per idle waiter, measured after full GCs, with [pipes] idle pipes. Each
 * measurement runs on a fresh thread, so a fresh queue: its fd table grows inside the measurement.
 */
object Memory {
    private fun <T> onFreshThread(body: () -> T): T {
        val result = java.util.concurrent.CompletableFuture<T>()
        Thread {
            try {
                result.complete(body())
            } catch (t: Throwable) {
                result.completeExceptionally(t)
            } finally {
                IoQueue.current().close()
            }
        }.start()
        return result.join()
    }

    private fun usedHeapAfterGc(): Long {
        val memory = ManagementFactory.getMemoryMXBean()
        var used = Long.MAX_VALUE
        repeat(4) {
            System.gc()
            Thread.sleep(50)
            used = minOf(used, memory.heapMemoryUsage.used)
        }
        return used
    }

    /** One waiter object per pipe, as a server has one per connection. */
    private class IdleWaiter(val id: Int) : ReadyCallback {
        override fun onReady(fd: Int, events: Set<Event>) = error("idle pipe $id became ready")
    }

    /** Bytes of heap per Java callback waiting on an idle pipe (the waiter object included). */
    fun javaWaiter(pipes: Int): Double = onFreshThread { javaWaiterHere(pipes) }

    /** Bytes of heap per coroutine suspended in awaitRead on an idle pipe (coroutine, continuation, waiter). */
    fun suspendedCoroutine(pipes: Int): Double = onFreshThread { suspendedCoroutineHere(pipes) }

    private fun javaWaiterHere(pipes: Int): Double {
        val fds = Array(pipes) { Fds.pipe() }
        try {
            val queue = IoQueue.current()
            val waiters = arrayOfNulls<IdleWaiter>(pipes)
            queue.persist(fds[0].readFd()); queue.unregister(fds[0].readFd()) // load the classes first
            val before = usedHeapAfterGc()
            for (i in 0 until pipes) {
                waiters[i] = IdleWaiter(i)
                queue.await(fds[i].readFd(), ReadyEvent.READ, waiters[i]!!)
            }
            java.util.Arrays.fill(waiters, null) // only the queue holds them now
            val after = usedHeapAfterGc()
            for (p in fds) queue.unregister(p.readFd())
            return (after - before).toDouble() / pipes
        } finally {
            fds.forEach { it.close() }
        }
    }

    private fun suspendedCoroutineHere(pipes: Int): Double {
        val fds = Array(pipes) { Fds.pipe() }
        try {
            var perCoroutine = 0.0
            runIoQueue {
                yield()
                val before = usedHeapAfterGc()
                val jobs = fds.map { p -> launch { awaitRead(p.readFd()) } }
                repeat(3) { yield() } // every coroutine is suspended in awaitRead now
                val after = usedHeapAfterGc()
                perCoroutine = (after - before).toDouble() / pipes
                jobs.forEach { it.cancel() }
            }
            return perCoroutine
        } finally {
            fds.forEach { it.close() }
        }
    }
}
