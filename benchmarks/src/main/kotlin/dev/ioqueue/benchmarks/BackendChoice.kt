// Which kernel interface an ioqueue queue runs on, chosen by the system property
// dev.ioqueue.backend (auto | epoll | io_uring) when a thread's queue is created, and how the
// benchmarks run a workload on a queue of the backend they name.
package dev.ioqueue.benchmarks

import dev.ioqueue.Backend
import dev.ioqueue.IoQueue

/** A queue could not be made on the backend asked for; the message says why, for the table. */
internal class BackendUnavailable(message: String, cause: Throwable? = null) : RuntimeException(message, cause)

/** What [BackendChoice.onFreshQueue]'s workload returned, and the backend its queue reported. */
internal class OnBackend<T>(val value: T, val backend: String)

internal object BackendChoice {
    /** The system property a new queue reads: auto (the default), epoll or io_uring. */
    const val PROPERTY = Backend.PROPERTY

    /** The backend [queue] runs on, as IoQueue.backend() names it: "EPOLL" or "IO_URING". */
    fun of(queue: IoQueue): String = queue.backend().name

    /** One queue made at a time, so the property each sees is the one set for it. */
    private val creating = Any()

    /**
     * Runs [body] on a new platform thread whose queue is created with [PROPERTY] = [backend]
     * ("epoll" or "io_uring"; set just before the queue is made and restored right after), then
     * closes that queue on that thread. What [body] throws is rethrown here.
     *
     * @throws BackendUnavailable if the queue cannot be created on [backend] ("io_uring backend not
     *     available: <why>"), or reports another backend than the one asked for
     */
    fun <T> onFreshQueue(backend: String, body: () -> T): OnBackend<T> {
        var outcome: Result<OnBackend<T>>? = null
        val thread = Thread.ofPlatform().name("bench-$backend").start { outcome = runCatching { onThisThread(backend, body) } }
        thread.join()
        return outcome!!.getOrThrow()
    }

    private fun <T> onThisThread(backend: String, body: () -> T): OnBackend<T> {
        val queue = synchronized(creating) {
            val previous = System.getProperty(PROPERTY)
            System.setProperty(PROPERTY, backend)
            try {
                IoQueue.current()
            } catch (e: Exception) {
                throw BackendUnavailable("$backend backend not available: ${e.message ?: e}", e)
            } catch (e: LinkageError) {
                throw BackendUnavailable("$backend backend not available: $e", e)
            } finally {
                if (previous == null) System.clearProperty(PROPERTY) else System.setProperty(PROPERTY, previous)
            }
        }
        try {
            val actual = of(queue)
            if (!actual.equals(backend, ignoreCase = true)) throw BackendUnavailable("$backend backend not available: the queue came up on $actual")
            return OnBackend(body(), actual)
        } finally {
            queue.close()
        }
    }
}
