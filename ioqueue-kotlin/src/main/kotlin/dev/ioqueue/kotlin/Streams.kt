package dev.ioqueue.kotlin

import dev.ioqueue.Handle
import java.io.EOFException
import java.nio.ByteBuffer
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.io.Buffer
import kotlinx.io.UnsafeIoApi
import kotlinx.io.indexOf
import kotlinx.io.readByteArray
import kotlinx.io.readString
import kotlinx.io.unsafe.UnsafeBufferOperations

/**
 * Buffered suspending reads from an owned fd, on a kotlinx-io [Buffer]: lines, delimited records,
 * exact counts. Each refill is one suspending [read] into the buffer's tail segment (no copy of
 * its own); what was read stays in [buffer] for the next call, so the calls can be mixed, and
 * [buffer] can be read directly with kotlinx-io's own functions.
 *
 * One coroutine reads at a time (as with any reader; calls made together take turns, whole, but
 * [buffer] itself is not guarded). Cancellation loses
 * nothing, on the handle's loop or off it: what a refill read before the cancellation won is in
 * [buffer] (but a value a call returned just as a `withTimeout` fired can be dropped by
 * kotlinx.coroutines itself: under time limits, take what you need from [buffer]). Errors are
 * [java.io.IOException]s with their errno (a peer reset: [java.net.SocketException], ECONNRESET).
 *
 * Needs `org.jetbrains.kotlinx:kotlinx-io-core-jvm` on the class path: an optional dependency of
 * ioqueue-kotlin, which a project that uses these streams declares itself (0.9.x needs Kotlin 2.2
 * or later to compile against; an older Kotlin takes an older kotlinx-io release).
 */
public class HandleReader(public val handle: Handle) {
    /** What was read and not yet taken. */
    public val buffer: Buffer = Buffer()
    private var endOfFile = false
    /**
     * One call at a time, whole: a read cancelled by code on the loop frees the fd at once but ends
     * (gives [buffer]'s tail back) a task later, so a call made meanwhile (or by a second coroutine,
     * against the rule above) waits for it, and each gets whole lines and counts.
     */
    private val turn = Mutex()

    /** Reads once more into [buffer]: false at end-of-file (nothing added). */
    public suspend fun fill(): Boolean = turn.withLock { fillOnce() }

    @OptIn(UnsafeIoApi::class)
    private suspend fun fillOnce(): Boolean {
        if (endOfFile) return false
        var got = 0
        var cancelled: CancellationException? = null
        UnsafeBufferOperations.writeToTail(buffer, 1) { bytes, start, end ->
            val into = ByteBuffer.wrap(bytes, start, end - start)
            got = try {
                handle.read(into)
            } catch (e: CancellationException) {
                // Off the handle's loop the read may have moved bytes before the cancellation won:
                // the buffer's position says how many (outside round 12: a whole refill was lost)
                cancelled = e
                into.position() - start
            }
            if (got < 0) 0 else got
        }
        cancelled?.let { throw it }
        if (got < 0) endOfFile = true
        return got > 0
    }

    /**
     * The next line as UTF-8, without its `\n` (or `\r\n`); at end-of-file the last unterminated
     * line, then null.
     */
    public suspend fun readLine(): String? = turn.withLock { readLineNow() }

    private suspend fun readLineNow(): String? {
        var scanned = 0L
        while (true) {
            val at = buffer.indexOf('\n'.code.toByte(), scanned)
            if (at >= 0) {
                val cr = at > 0 && buffer[at - 1] == '\r'.code.toByte()
                val line = buffer.readString(if (cr) at - 1 else at)
                buffer.skip(if (cr) 2 else 1)
                return line
            }
            scanned = buffer.size
            if (!fillOnce()) return if (buffer.size == 0L) null else buffer.readString()
        }
    }

    /**
     * The bytes up to [delimiter] (the delimiter taken too, and returned if [keepDelimiter]); at
     * end-of-file what is left, then null.
     */
    public suspend fun readUntil(delimiter: Byte, keepDelimiter: Boolean = false): ByteArray? =
        turn.withLock { readUntilNow(delimiter, keepDelimiter) }

    private suspend fun readUntilNow(delimiter: Byte, keepDelimiter: Boolean): ByteArray? {
        var scanned = 0L
        while (true) {
            val at = buffer.indexOf(delimiter, scanned)
            if (at >= 0) {
                val bytes = buffer.readByteArray((if (keepDelimiter) at + 1 else at).toInt())
                if (!keepDelimiter) buffer.skip(1)
                return bytes
            }
            scanned = buffer.size
            if (!fillOnce()) return if (buffer.size == 0L) null else buffer.readByteArray()
        }
    }

    /**
     * Exactly [count] bytes.
     *
     * @throws EOFException if end-of-file comes first (what came stays in [buffer])
     */
    public suspend fun readExactly(count: Int): ByteArray {
        require(count >= 0) { "count $count is negative" }
        return turn.withLock {
            requireNow(count.toLong())
            buffer.readByteArray(count)
        }
    }

    /**
     * Reads until [buffer] holds at least [count] bytes.
     *
     * @throws EOFException if end-of-file comes first
     */
    public suspend fun require(count: Long): Unit = turn.withLock { requireNow(count) }

    private suspend fun requireNow(count: Long) {
        while (buffer.size < count) {
            if (!fillOnce()) throw EOFException("${handle}: end of file with ${buffer.size} of $count bytes")
        }
    }
}

/**
 * Buffered suspending writes to an owned fd: write into [buffer] with kotlinx-io's functions
 * (`writeString`, `write`, `writeInt`...), then [flush] sends it all. Nothing is sent before a
 * flush. Not thread-safe: one coroutine writes at a time. A cancelled flush leaves in [buffer]
 * exactly what was not yet written, on the handle's loop or off it.
 */
public class HandleWriter(public val handle: Handle) {
    /** What is waiting to be sent. */
    public val buffer: Buffer = Buffer()

    /** One write from [buffer]'s head at a time (see [HandleReader]'s reads: a cancelled write ends a task later). */
    private val flushing = Mutex()

    /** Writes everything in [buffer], suspending while the fd is full. */
    public suspend fun flush(): Unit = flushing.withLock { flushAll() }

    @OptIn(UnsafeIoApi::class)
    private suspend fun flushAll() {
        while (buffer.size > 0) {
            var cancelled: CancellationException? = null
            UnsafeBufferOperations.readFromHead(buffer) { bytes, start, end ->
                val from = ByteBuffer.wrap(bytes, start, end - start)
                try {
                    handle.write(from)
                } catch (e: CancellationException) {
                    // what left before the cancellation won (off the handle's loop, the write may
                    // have completed) is taken out of the buffer: sent once (outside round 12)
                    cancelled = e
                    from.position() - start
                }
            }
            cancelled?.let { throw it }
        }
    }
}

/** A [HandleReader] on this handle. */
public fun Handle.reader(): HandleReader = HandleReader(this)

/** A [HandleWriter] on this handle. */
public fun Handle.writer(): HandleWriter = HandleWriter(this)
