package dev.ioqueue.kotlin

import dev.ioqueue.Inotify
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

/**
 * The events of this inotify instance as a cold flow, in the kernel's order, including
 * [Inotify.Kind.OVERFLOW] (events were lost: rescan) and [Inotify.Kind.IGNORED] (a watch ended).
 * Add and remove watches before or while collecting; the flow does not close the instance.
 *
 * Threading: as [dev.ioqueue.Handle.awaitReadable] on the instance's [dev.ioqueue.Inotify.handle]:
 * the wait lives in the queue the fd belongs to (the first loop that waits on it, or
 * `ioqueue-background` when that is off a loop); closing the instance from any thread ends the
 * collection with [AwaitClosedException] (or a `ClosedChannelException`, if it came as events were read). Cancelling the collector removes the waiter; events read
 * but not yet emitted when it is cancelled are lost.
 */
public fun Inotify.events(): Flow<Inotify.Event> = flow {
    while (true) {
        for (event in readWhenReady(handle(), ::read) { it.isNotEmpty() }) emit(event)
    }
}
