package dev.ioqueue.kotlin

import dev.ioqueue.TimerFd
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

/**
 * The expirations of this timer as a cold flow: each emission is the count read since the
 * previous one (more than 1 when the collector fell behind the period), never 0. Arm the timer
 * ([TimerFd.armPeriodic], [TimerFd.armOnce]) before or while collecting; the flow neither arms
 * nor closes it.
 *
 * Threading: as [dev.ioqueue.Handle.awaitReadable] on the timer's [TimerFd.handle]: the wait
 * lives in the queue the fd belongs to (the first loop that waits on it, or `ioqueue-background`
 * when that is off a loop); closing the timer from any thread ends the collection with
 * [AwaitClosedException] (or a `ClosedChannelException`, if it came as the count was read). Cancelling the collector removes the waiter. One collector at a time: a
 * second one waiting on the same queue throws [IllegalStateException].
 */
public fun TimerFd.ticks(): Flow<Long> = flow {
    while (true) emit(readWhenReady(handle(), ::read) { it != 0L })
}
