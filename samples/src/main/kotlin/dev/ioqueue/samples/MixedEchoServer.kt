package dev.ioqueue.samples

import dev.ioqueue.Errno
import dev.ioqueue.Fds
import dev.ioqueue.SyscallException
import dev.ioqueue.kotlin.accept
import dev.ioqueue.kotlin.read
import dev.ioqueue.kotlin.writeFully
import java.nio.ByteBuffer
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.yield

/**
 * A TCP echo server on ONE thread's queue, serving its connections two ways at once: even ones by
 * a Kotlin coroutine (suspending `read` / `writeFully`), odd ones by Java [dev.ioqueue.IoOperation]s
 * ([JavaEchoConnection]). Both kinds, and the accept loop, share the same `run()`. Neither handles
 * EAGAIN: the queue retries the operations until they complete.
 *
 * Run [serve] inside `runIoQueue` on the thread that should serve; cancel it to stop: every
 * connection is then unregistered and closed.
 */
class MixedEchoServer(private val listenFd: Int, val stats: EchoStats = EchoStats()) {
    private val javaConnections = HashSet<JavaEchoConnection>()

    /** Accepts and serves until cancelled. Call on an ioqueue dispatcher. */
    suspend fun serve(): Nothing = coroutineScope {
        try {
            var next = 0
            while (true) {
                val fd = try {
                    accept(listenFd)
                } catch (e: SyscallException) {
                    if (e.errno() != Errno.EMFILE && e.errno() != Errno.ENFILE) throw e
                    stats.acceptFailed() // out of fds: leave the connection queued, retry soon
                    delay(20)
                    continue
                }
                val id = next++
                if (id % 2 == 0) launch { echoWithCoroutine(fd, stats.opened(id, EchoStats.Kind.KOTLIN_COROUTINE)) }
                else JavaEchoConnection.start(fd, id, stats, javaConnections)
            }
            @Suppress("UNREACHABLE_CODE")
            throw AssertionError()
        } finally {
            javaConnections.toList().forEach { it.close("server stopped") }
        }
    }

    private suspend fun echoWithCoroutine(fd: Int, record: EchoStats.Connection) {
        val buffer = ByteBuffer.allocateDirect(64 * 1024)
        var how = "server stopped"
        try {
            var reads = 0
            while (true) {
                buffer.clear()
                val n = read(fd, buffer)
                if (n == Fds.EOF) {
                    how = "eof"
                    break
                }
                stats.echoed(record, n)
                buffer.flip()
                writeFully(fd, buffer)
                if (++reads % 16 == 0) yield() // a ready fd never suspends: let other connections run
            }
        } catch (e: SyscallException) {
            how = e.errno().name // ECONNRESET, EPIPE: the client went away
        } finally {
            stats.closed(record, how)
            Fds.close(fd)
        }
    }
}
