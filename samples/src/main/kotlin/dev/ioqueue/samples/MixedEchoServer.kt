package dev.ioqueue.samples

import dev.ioqueue.Errno
import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoQueue
import dev.ioqueue.SyscallFailure
import dev.ioqueue.kotlin.accept
import dev.ioqueue.kotlin.read
import dev.ioqueue.kotlin.writeFully
import java.io.IOException
import java.nio.ByteBuffer
import java.util.concurrent.RejectedExecutionException
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch
import kotlinx.coroutines.yield

/**
 * A TCP echo server on ONE thread's queue, serving its connections two ways at once: even ones by
 * a Kotlin coroutine (suspending `read` / `writeFully`), odd ones by Java [dev.ioqueue.IoOperation]s
 * ([JavaEchoConnection]). Both kinds, and the accept loop, share the same `run()`. Neither handles
 * EAGAIN: the queue retries the operations until they complete.
 *
 * The server owns its connections: each accepted fd becomes a [Handle] bound to the loop that
 * serves it, so closing that loop's queue (a group shut down) closes every connection it had, and
 * on io_uring the ring reads and writes them.
 *
 * Run [serve] inside `runIoQueue` (or on an [dev.ioqueue.IoQueueGroup] loop's dispatcher) on the
 * thread that should serve; cancel it to stop: every connection is then closed.
 *
 * Over several loops ([EchoServerThread] with `loops > 1`), each loop serves its connections with
 * an [EchoLoop]. Either every loop runs its own MixedEchoServer on its own SO_REUSEPORT listener
 * ([serve]; connection ids then come from one [ids] counter), or one loop's server accepts for all
 * of them ([acceptFor]) and hands each connection over to the next loop.
 */
class MixedEchoServer(private val listener: Handle, val stats: EchoStats = EchoStats(), private val ids: AtomicInteger = AtomicInteger()) {

    /** Accepts and serves until cancelled, every connection on this loop. Call on an ioqueue dispatcher. */
    suspend fun serve(): Nothing = coroutineScope {
        val here = EchoLoop(this, stats)
        try {
            acceptEach { connection -> here.adopt(connection, ids.getAndIncrement()) }
        } finally {
            here.closeJavaConnections()
        }
    }

    /**
     * Accepts until cancelled and hands each connection to [next]`()`, bound to its loop at once,
     * which serves it on its own thread from then on: this loop never touches the fd again (unless
     * it is [next]'s loop itself). Call on an ioqueue dispatcher; cancelling stops the accepting only.
     */
    suspend fun acceptFor(next: () -> EchoLoop): Nothing = acceptEach { connection -> next().handOver(connection, ids.getAndIncrement()) }

    private suspend inline fun acceptEach(serve: (connection: Handle) -> Unit): Nothing {
        while (true) {
            val connection = try {
                listener.accept()
            } catch (e: IOException) {
                val errno = SyscallFailure.of(e)?.errno()
                if (errno != Errno.EMFILE && errno != Errno.ENFILE) throw e
                stats.acceptFailed() // out of fds: leave the connection queued, retry soon
                delay(20)
                continue
            }
            serve(connection)
        }
    }
}

/**
 * The connections ONE loop serves, half by coroutines in [scope] and half by Java operations, each
 * from its accept to its close on the loop's thread, owned by a [Handle] bound to the loop.
 * [scope]'s dispatcher must be the calling thread's queue's; cancelling [scope] ends the
 * coroutines, [closeJavaConnections] the others, and the queue's close any connection left.
 */
class EchoLoop(private val scope: CoroutineScope, private val stats: EchoStats) {
    /** The loop's queue, which the connections it serves are bound to. */
    val queue: IoQueue = IoQueue.current()
    private val javaConnections = HashSet<JavaEchoConnection>()
    private var adopted = 0

    /**
     * Any thread: the accepted [connection] is this loop's from now on, bound to it at once, so
     * even if the loop closes before it is adopted, the queue's close closes it.
     */
    fun handOver(connection: Handle, id: Int) {
        try {
            connection.bind(queue)
        } catch (_: IllegalStateException) {
            return connection.close() // the loop is closed: nobody will serve it
        }
        if (queue.isOwnerThread) return adopt(connection, id)
        try {
            queue.execute { adopt(connection, id) }
        } catch (_: RejectedExecutionException) {
            connection.close() // the loop is closed (its close closes the connection too: this only makes sure)
        }
    }

    /** On the loop's thread: serves [connection], bound to this loop, alternating the two kinds of handler. */
    fun adopt(connection: Handle, id: Int) {
        if (!scope.isActive) return connection.close() // stopping
        if (adopted++ % 2 == 0) scope.launch { echoWithCoroutine(connection, stats.opened(id, EchoStats.Kind.KOTLIN_COROUTINE)) }
        else JavaEchoConnection.start(connection, id, stats, javaConnections)
    }

    /** On the loop's thread, when it stops: closes the Java connections (cancel [scope] for the others). */
    fun closeJavaConnections() = javaConnections.toList().forEach { it.close("server stopped") }

    private suspend fun echoWithCoroutine(connection: Handle, record: EchoStats.Connection) {
        val buffer = ByteBuffer.allocateDirect(64 * 1024)
        var how = "server stopped"
        try {
            var reads = 0
            while (true) {
                buffer.clear()
                val n = connection.read(buffer)
                if (n == Fds.EOF) {
                    how = "eof"
                    break
                }
                stats.echoed(record, n)
                buffer.flip()
                connection.writeFully(buffer)
                if (++reads % 16 == 0) yield() // a ready fd never suspends: let other connections run
            }
        } catch (e: IOException) {
            // ECONNRESET, EPIPE: the client went away; a closed handle: the loop's queue closed it.
            // Anything else is named as it is.
            how = SyscallFailure.of(e)?.errnoName() ?: if (!connection.isOpen) "server stopped" else e.toString()
        } finally {
            stats.closed(record, how)
            connection.close()
        }
    }

    companion object {
        /**
         * Serves what is handed over to this loop until cancelled, then closes it all; [started]
         * gets the loop once it can take connections. Call on the loop's ioqueue dispatcher.
         */
        suspend fun serveHandedOver(stats: EchoStats, started: (EchoLoop) -> Unit): Nothing = coroutineScope {
            val loop = EchoLoop(this, stats)
            try {
                started(loop)
                awaitCancellation()
            } finally {
                loop.closeJavaConnections()
            }
        }
    }
}
