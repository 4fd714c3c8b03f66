package dev.ioqueue.kotlin

import dev.ioqueue.Datagram
import dev.ioqueue.Datagrams
import dev.ioqueue.Handle
import java.net.SocketAddress
import java.nio.ByteBuffer

// Suspending datagram I/O on an owned datagram socket (UDP or Unix, made with [Datagrams]): each
// tries the syscall, and while it would block suspends until the socket is ready. Readiness on
// every backend, io_uring included: a ring's multishot read would merge or split messages.

/**
 * Receives one datagram into [dst] from its position (advanced by what it stored): its length,
 * sender and whether it was [Datagram.truncated] (longer than [dst] had room for; the rest is
 * gone, and [Datagram.length] says how long it was).
 *
 * Cancellable while it waits; a datagram is taken only by the syscall that returns it, so a
 * cancelled receive loses none. Errors are [java.io.IOException]s with their errno
 * ([dev.ioqueue.SyscallFailure.of]); ESHUTDOWN once the socket's receiving side is shut down.
 */
public suspend fun Handle.receive(dst: ByteBuffer): Datagram {
    var woke = false
    while (true) {
        val d = tryOnce { Datagrams.tryReceive(this, dst) }
        if (d != null) return d
        // A socket whose receiving side is shut down reports readable for good: its failure, not a spin.
        if (woke && tryOnce { Datagrams.isInputShutdown(this) }) {
            throw dev.ioqueue.SyscallIOException("recvfrom", fd(), dev.ioqueue.Errno.ESHUTDOWN.number(), "its receiving side is shut down (shutdownInput): a receive no longer waits (a datagram that still comes to a UDP socket can be taken with tryReceive)")
        }
        awaitReadable()
        woke = true
    }
}

/**
 * Sends [src]'s remaining bytes as one datagram to [target] (null: the connected peer): the count.
 * An unconnected Unix socket whose peer's queue is full (which readiness cannot report) is retried
 * after pauses doubling from 1 to 64 ms ([Datagrams.isRoomUnreported]).
 */
public suspend fun Handle.send(src: ByteBuffer, target: SocketAddress? = null): Int {
    var woke = false
    var pause = 1L // ms
    while (true) {
        val n = tryOnce { Datagrams.trySend(this, src, target) }
        if (n != dev.ioqueue.Fds.WOULD_BLOCK) return n
        if (woke && tryOnce { Datagrams.isRoomUnreported(this) }) {
            // An unconnected Unix socket whose peer's queue is full: poll cannot see that queue, so
            // a readiness wait would spin. Retried after pauses doubling to 64 ms, as Datagrams.send;
            // each a wait for PRIORITY_READ (never reported here), so a close ends it as a wait.
            kotlinx.coroutines.withTimeoutOrNull(pause) { awaitPriorityReadable() }
            pause = minOf(pause * 2, 64)
            continue
        }
        awaitWritable()
        woke = true
        pause = 1
    }
}

/**
 * A one-try call on this handle, for a suspending caller: a syscall failure is its IOException,
 * and a closed handle a [java.nio.channels.ClosedChannelException], as the other suspending calls
 * say it.
 */
private inline fun <T> Handle.tryOnce(call: () -> T): T =
    try {
        unchecked(call)
    } catch (e: IllegalStateException) {
        if (isOpen) throw e
        throw java.nio.channels.ClosedChannelException().apply { initCause(e) }
    }

/** The one-try calls throw the unchecked wrapper; a suspending caller gets its IOException. */
internal inline fun <T> unchecked(call: () -> T): T =
    try {
        call()
    } catch (e: java.io.UncheckedIOException) {
        throw ioFailureOf(e)
    }

/** What a suspending I/O call throws for [t]: the IOException inside a syscall's unchecked wrapper, else [t]. */
internal fun ioFailureOf(t: Throwable): Throwable = if (t is java.io.UncheckedIOException) t.cause ?: t else t

/**
 * [IoQueue.shared][dev.ioqueue.IoQueue.shared], for a suspending call that waits off any loop: its
 * creation's failure (EMFILE, ENOMEM) is the call's IOException.
 */
internal fun sharedQueue(): dev.ioqueue.IoQueue = unchecked { dev.ioqueue.IoQueue.shared() }
