package dev.ioqueue.kotlin

import dev.ioqueue.IoQueueGroup

/**
 * The dispatcher of the group's [next][IoQueueGroup.next] loop: launch a coroutine there to pin it,
 * and everything it awaits, to that loop's thread (`launch(group.nextDispatcher()) { ... }`).
 * Thread-safe.
 */
public fun IoQueueGroup.nextDispatcher(): IoQueueDispatcher = next().dispatcher

/** Each loop's dispatcher, in thread order. Thread-safe. */
public val IoQueueGroup.dispatchers: List<IoQueueDispatcher>
    get() = queues().map { it.dispatcher }
