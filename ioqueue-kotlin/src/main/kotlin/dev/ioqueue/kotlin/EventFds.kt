package dev.ioqueue.kotlin

import dev.ioqueue.EventFd

/**
 * Suspends until this eventfd's counter is above zero, then takes from it: the whole count in
 * counter mode (resetting it), 1 in semaphore mode. [EventFd.signal] from any thread wakes it.
 *
 * Threading: as [dev.ioqueue.Handle.awaitReadable] on the eventfd's [EventFd.handle]: the wait
 * lives in the queue the fd belongs to (the first loop that waits on it, or `ioqueue-background`
 * when that is off a loop); closing the eventfd from any thread ends it with
 * [AwaitClosedException] (or a `ClosedChannelException`, if it came as the count was read). Two coroutines awaiting the same eventfd break the one-waiter rule
 * ([IllegalStateException]). Cancellation removes the waiter and takes nothing.
 */
public suspend fun EventFd.awaitTake(): Long = readWhenReady(handle(), ::take) { it != 0L }
