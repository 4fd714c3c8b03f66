package dev.ioqueue.kotlin

import dev.ioqueue.EventFd

/**
 * Suspends until this eventfd's counter is above zero, then takes from it: the whole count in
 * counter mode (resetting it), 1 in semaphore mode. [EventFd.signal] from any thread wakes it.
 *
 * Threading: as [awaitRead]: on an [IoQueueDispatcher] the waiter lives in that thread's queue,
 * elsewhere in `ioqueue-background`, and two coroutines awaiting the same eventfd in one queue
 * break the one-waiter rule ([IllegalStateException]). Cancellation removes the waiter and takes
 * nothing.
 */
public suspend fun EventFd.awaitTake(): Long = readWhenReady(fd(), ::take) { it != 0L }
