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
 * Threading: as [awaitRead]. Collected on an [IoQueueDispatcher], the waiter lives in that
 * thread's queue; elsewhere in `ioqueue-background`. Cancelling the collector removes the waiter;
 * close the timer after the collection ended. One collector at a time: a second one waiting on
 * the same queue throws [IllegalStateException].
 */
public fun TimerFd.ticks(): Flow<Long> = flow {
    while (true) emit(readWhenReady(fd(), ::read) { it != 0L })
}
