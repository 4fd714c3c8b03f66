package dev.ioqueue.samples

import dev.ioqueue.IoQueue
import java.util.concurrent.CompletableFuture

/** Runs [block] on a new thread named [name], which gets a fresh queue, closed afterwards. */
fun <T> onLoopThread(name: String = "sample-loop", block: () -> T): T {
    val result = CompletableFuture<T>()
    Thread({
        try {
            result.complete(block())
        } catch (t: Throwable) {
            result.completeExceptionally(t)
        } finally {
            IoQueue.current().close()
        }
    }, name).start()
    try {
        return result.get()
    } catch (e: java.util.concurrent.ExecutionException) {
        throw e.cause ?: e
    }
}
