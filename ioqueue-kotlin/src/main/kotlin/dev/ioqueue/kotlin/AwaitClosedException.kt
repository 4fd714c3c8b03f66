package dev.ioqueue.kotlin

import java.io.IOException

/**
 * An [awaitReady] could not complete: while the coroutine waited, the fd was unregistered or
 * closed (through `Fds.close` or `Handle.close` on the queue's thread), or found closed behind the
 * queue's back, or the queue itself was closed. The JDK's `AsynchronousCloseException` plays the
 * same part for a thread blocked on a channel.
 */
public class AwaitClosedException(
    /** The fd that was awaited. */
    public val fd: Int,
) : IOException("fd $fd was unregistered or closed, or its queue closed, while a coroutine awaited it")
