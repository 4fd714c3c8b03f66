package dev.ioqueue.kotlin

import java.util.concurrent.ConcurrentHashMap

/**
 * Coroutine calls that wait on a queue's thread and would wait for good if that thread ended
 * without closing its queue (which then runs nothing more and tells nothing): off-loop calls
 * ([HomeQueueCall]) and cancellations posted to a coroutine's loop ([CoroutineIo]). One daemon
 * thread, started with the first, looks at each once a second (as a blocking call waiting in a
 * queue looks). An entry costs a set insertion and removal, no timer. Thread-safe.
 */
internal object EndedQueueWatch {
    /** A call the watch looks at. */
    internal interface Watched {
        /**
         * If its queue's thread ended with the queue open, ends the call (off this thread: a caller
         * resuming in place must not hold the watch). Returns whether to look again.
         */
        fun lookForEndedQueue(): Boolean
    }

    private const val LOOK_MILLIS = 1_000L
    private val pending: MutableSet<Watched> = ConcurrentHashMap.newKeySet()
    @Volatile private var started = false

    fun add(call: Watched) {
        pending.add(call)
        if (!started) start()
    }

    fun remove(call: Watched) {
        pending.remove(call)
    }

    @Synchronized private fun start() {
        if (started) return
        Thread.ofPlatform().daemon().name("ioqueue-kotlin-ended-queues").inheritInheritableThreadLocals(false).start {
            while (true) {
                try {
                    Thread.sleep(LOOK_MILLIS)
                } catch (_: InterruptedException) {
                    // nobody else owns this thread: go on looking
                }
                for (call in pending) {
                    try {
                        if (!call.lookForEndedQueue()) pending.remove(call)
                    } catch (_: Throwable) {
                        // one call's failure (no thread to complete it on) must not skip the others or end the watch
                    }
                }
            }
        }
        started = true
    }
}
