package dev.ioqueue.kotlin

import dev.ioqueue.Event
import dev.ioqueue.Handle
import dev.ioqueue.ReadyEvent
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

/**
 * A cold flow that emits what the OS reports each time [fd] becomes ready for [event]. Each
 * collection registers one waiter per emission, after the collector has taken the previous one
 * (so a level-triggered fd that nobody drains emits again at once); cancelling the collector
 * removes the waiter. The same threading rules as [awaitReady] apply, and its failures end the
 * flow: a collector that closes [fd] (a plain fd has no owner to tell the flow) ends it with the
 * next registration's [dev.ioqueue.SyscallException] (EBADF); a [Handle]'s waits
 * ([Handle.awaitReadable] in a loop) end with [AwaitClosedException] when it is closed.
 */
public fun readiness(fd: Int, event: ReadyEvent): Flow<Set<Event>> = flow {
    while (true) emit(awaitReady(fd, event))
}

/**
 * Calls [attempt], a non-blocking call on [handle]'s fd, until [found] accepts its result, awaiting
 * the handle readable ([Handle.awaitReadable], with its threading rules; the handle's close ends
 * the wait) each time it found nothing: an empty result after a wake-up is a spurious wake-up, not
 * an end.
 */
internal suspend inline fun <T> readWhenReady(handle: Handle, attempt: () -> T, found: (T) -> Boolean): T {
    while (true) {
        val result = try {
            attempt()
        } catch (e: IllegalStateException) {
            // closed from another thread while it read: an IOException, as a close during the wait is
            if (handle.isOpen) throw e
            throw java.nio.channels.ClosedChannelException().apply { initCause(e) }
        }
        if (found(result)) return result
        handle.awaitReadable()
    }
}
