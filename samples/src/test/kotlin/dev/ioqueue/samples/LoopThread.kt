package dev.ioqueue.samples

import dev.ioqueue.IoQueue
import java.io.ByteArrayOutputStream
import java.io.PrintStream
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

/** What [block] printed to System.out, trimmed. */
fun printed(block: () -> Unit): String {
    val saved = System.out
    val out = ByteArrayOutputStream()
    System.setOut(PrintStream(out, true))
    try {
        block()
    } finally {
        System.setOut(saved)
    }
    return out.toString().trim()
}
