package dev.ioqueue.kotlin

import dev.ioqueue.Inotify
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

/**
 * The events of this inotify instance as a cold flow, in the kernel's order, including
 * [Inotify.Kind.OVERFLOW] (events were lost: rescan) and [Inotify.Kind.IGNORED] (a watch ended).
 * Add and remove watches before or while collecting; the flow does not close the instance.
 *
 * Threading: as [awaitRead]. Collected on an [IoQueueDispatcher], the waiter lives in that
 * thread's queue; elsewhere in `ioqueue-background`. Cancelling the collector removes the waiter;
 * events read but not yet emitted when it is cancelled are lost. Close the instance after the
 * collection ended.
 */
public fun Inotify.events(): Flow<Inotify.Event> = flow {
    while (true) {
        for (event in readWhenReady(fd(), ::read) { it.isNotEmpty() }) emit(event)
    }
}
