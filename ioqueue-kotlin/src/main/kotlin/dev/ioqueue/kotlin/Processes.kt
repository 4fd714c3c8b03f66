package dev.ioqueue.kotlin

import dev.ioqueue.PidFd
import kotlinx.coroutines.delay

/** How often [awaitExit] looks again while the JDK has not yet recorded an exit its pidfd reported. */
private const val RECORDED_RECHECK_MILLIS = 1L

/**
 * Suspends until this process exits and returns its exit code, with no thread blocked in
 * `waitFor`: it opens a [PidFd], awaits it readable, and closes it, also on cancellation. The
 * process is reaped by the JDK as usual; the exit code comes from [Process.exitValue] once the
 * JDK has recorded the exit (a moment after the pidfd reports it; [awaitExit] waits for that
 * too, looking every millisecond). A process already reaped returns its exit code at once.
 *
 * Threading: as [dev.ioqueue.Handle.awaitReadable] on the pidfd's handle: on an [IoQueueDispatcher]
 * it is awaited in that thread's queue; elsewhere in `ioqueue-background`. Cancellation removes the waiter and closes the pidfd.
 *
 * @throws dev.ioqueue.SyscallException if `pidfd_open` fails (ENOSYS before Linux 5.3, EMFILE)
 */
public suspend fun Process.awaitExit(): Int {
    if (!isAlive) return exitValue()
    PidFd.of(this).use { readWhenReady(it.handle(), it::hasExited) { exited -> exited } } // reaped already: a stand-in, readable at once
    while (isAlive) delay(RECORDED_RECHECK_MILLIS)
    return exitValue()
}
