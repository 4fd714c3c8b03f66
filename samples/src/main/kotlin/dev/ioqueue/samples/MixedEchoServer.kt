package dev.ioqueue.samples

import dev.ioqueue.Fds
import dev.ioqueue.SyscallException
import dev.ioqueue.Sockets
import dev.ioqueue.kotlin.awaitRead
import dev.ioqueue.kotlin.awaitWrite
import java.nio.ByteBuffer
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.yield

/**
 * A TCP echo server on ONE thread's queue, serving its connections two ways at once: even ones by
 * a Kotlin coroutine (`awaitRead` / `awaitWrite`), odd ones by a Java [dev.ioqueue.ReadyCallback]
 * ([JavaEchoConnection]). Both kinds, and the accept loop, share the same `run()`.
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
                awaitRead(listenFd)
                while (true) {
                    val fd = try {
                        Sockets.accept(listenFd)
                    } catch (e: SyscallException) {
                        if (e.errnoName() != "EMFILE" && e.errnoName() != "ENFILE") throw e
                        stats.acceptFailed() // out of fds: leave the connection queued, retry soon
                        delay(20)
                        break
                    }
                    if (fd == Fds.WOULD_BLOCK) break
                    val id = next++
                    if (id % 2 == 0) launch { echoWithCoroutine(fd, stats.opened(id, EchoStats.Kind.KOTLIN_COROUTINE)) }
                    else JavaEchoConnection.start(fd, id, stats, javaConnections)
                }
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
                val n = Fds.read(fd, buffer)
                if (n == Fds.WOULD_BLOCK) {
                    awaitRead(fd)
                    continue
                }
                if (n == Fds.EOF) {
                    how = "eof"
                    break
                }
                stats.echoed(record, n)
                buffer.flip()
                while (buffer.hasRemaining()) {
                    if (Fds.write(fd, buffer) == Fds.WOULD_BLOCK) awaitWrite(fd)
                }
                if (++reads % 16 == 0) yield() // let other connections run
            }
        } catch (e: SyscallException) {
            how = e.errnoName() // ECONNRESET, EPIPE: the client went away
        } finally {
            stats.closed(record, how)
            Fds.close(fd)
        }
    }
}
