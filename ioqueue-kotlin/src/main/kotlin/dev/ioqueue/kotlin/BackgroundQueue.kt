package dev.ioqueue.kotlin

import dev.ioqueue.IoQueue
import java.util.concurrent.CompletableFuture

/**
 * The shared queue that serves awaits made from coroutines NOT running on an ioqueue dispatcher
 * (e.g. `Dispatchers.Default`): one daemon thread, `ioqueue-background`, started on first use.
 */
internal object BackgroundQueue {
    val queue: IoQueue by lazy {
        val started = CompletableFuture<IoQueue>()
        val thread = Thread({
            val q = try {
                IoQueue.current()
            } catch (t: Throwable) {
                started.completeExceptionally(t) // e.g. EMFILE: the await fails, the next one retries
                return@Thread
            }
            q.hold() // serve forever: the thread is a daemon
            started.complete(q)
            while (true) {
                try {
                    q.run()
                } catch (t: Throwable) {
                    val self = Thread.currentThread()
                    self.uncaughtExceptionHandler.uncaughtException(self, t)
                }
            }
        }, "ioqueue-background")
        thread.isDaemon = true
        thread.start()
        try {
            started.join()
        } catch (e: java.util.concurrent.CompletionException) {
            throw e.cause ?: e
        }
    }
}
