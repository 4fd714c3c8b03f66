package dev.ioqueue.kotlin

import dev.ioqueue.Fds
import dev.ioqueue.Handle
import java.io.EOFException
import java.lang.foreign.MemorySegment
import java.nio.ByteBuffer
import java.nio.channels.ClosedChannelException
import java.util.Objects

// Suspending I/O on an owned fd ([Handle]): the typed API. A handle is bound to one queue, the
// first that does I/O with it (or the one named by Handle.of(fd, queue)), and only that queue
// moves its bytes (on io_uring its ring reads ahead for it), so every read sees them once, in order.
//
// Threading: thread-safe, from any coroutine. On a coroutine of the handle's own loop (or of any
// loop, for a handle not yet bound, which that loop then owns) the call runs there, allocating
// nothing once the coroutine has used its buffer. From anywhere else the call is posted to the
// handle's queue (the shared background queue for an unbound handle, which then owns it): bind a
// handle to the loop that serves it. Arrays and heap buffers are fine everywhere; a segment must
// be accessible by the handle's queue's thread.
//
// Cancellation is exact everywhere: when a cancelled call throws CancellationException, its
// operation was withdrawn before it moved anything more than a ByteBuffer's position says, or it
// completed and was accounted for (an accepted connection is closed). An array or segment call
// does not report its count when cancelled: use a ByteBuffer where that matters.
//
// Failures are IOExceptions carrying the fd and errno ([dev.ioqueue.SyscallFailure]; a peer reset
// is a [dev.ioqueue.SyscallSocketException]); a call on a closed handle throws
// [ClosedChannelException]; a close while a call waits ends it with [AwaitClosedException].

/** Reads once into [dst] from its position (advanced): the count, or -1 ([Fds.EOF]) at end-of-file. */
public suspend fun Handle.read(dst: ByteBuffer): Int = perform(this, openFd(this), READ, dst, 0, 0, null)

/** Reads once into `dst[offset, offset + length)`: the count, or -1 ([Fds.EOF]) at end-of-file. */
public suspend fun Handle.read(dst: ByteArray, offset: Int = 0, length: Int = dst.size - offset): Int {
    Objects.checkFromIndexSize(offset, length, dst.size)
    return perform(this, openFd(this), READ, dst, offset, length, null)
}

/** Reads once into [dst]: the count, or -1 ([Fds.EOF]) at end-of-file. */
public suspend fun Handle.read(dst: MemorySegment): Int = perform(this, openFd(this), READ, dst, 0, 0, null)

/**
 * Reads until [dst] is full; after a cancellation or an error its position says how much came.
 *
 * @throws EOFException at end-of-file before [dst] is full (naming the fd and the count)
 */
public suspend fun Handle.readFully(dst: ByteBuffer): Unit {
    return perform(this, openFd(this), READ_FULLY, dst, 0, 0, null)
}

/** [readFully] into `dst[offset, offset + length)`. */
public suspend fun Handle.readFully(dst: ByteArray, offset: Int = 0, length: Int = dst.size - offset): Unit {
    Objects.checkFromIndexSize(offset, length, dst.size)
    return perform(this, openFd(this), READ_FULLY, dst, offset, length, null)
}

/** [readFully] into all of [dst]. */
public suspend fun Handle.readFully(dst: MemorySegment): Unit {
    return perform(this, openFd(this), READ_FULLY, dst, 0, 0, null)
}

/** Writes once from [src]'s position (advanced): the count written, which may be short. */
public suspend fun Handle.write(src: ByteBuffer): Int = perform(this, openFd(this), WRITE, src, 0, 0, null)

/** Writes once from `src[offset, offset + length)`: the count written, which may be short. */
public suspend fun Handle.write(src: ByteArray, offset: Int = 0, length: Int = src.size - offset): Int {
    Objects.checkFromIndexSize(offset, length, src.size)
    return perform(this, openFd(this), WRITE, src, offset, length, null)
}

/** Writes once from [src]: the count written, which may be short. */
public suspend fun Handle.write(src: MemorySegment): Int = perform(this, openFd(this), WRITE, src, 0, 0, null)

/** Writes all of [src] from its position (advanced); after a cancellation its position says how much went. */
public suspend fun Handle.writeFully(src: ByteBuffer): Unit {
    return perform(this, openFd(this), WRITE_FULLY, src, 0, 0, null)
}

/** Writes all of `src[offset, offset + length)`. */
public suspend fun Handle.writeFully(src: ByteArray, offset: Int = 0, length: Int = src.size - offset): Unit {
    Objects.checkFromIndexSize(offset, length, src.size)
    return perform(this, openFd(this), WRITE_FULLY, src, offset, length, null)
}

/** Writes all of [src]. */
public suspend fun Handle.writeFully(src: MemorySegment): Unit {
    return perform(this, openFd(this), WRITE_FULLY, src, 0, 0, null)
}

/**
 * Accepts one connection on this listening socket: a new [Handle] owning it, not yet bound (the
 * first queue that does I/O with it gets it: launch its coroutine where it should live). A
 * cancelled accept has accepted nothing, or closed what it accepted.
 */
public suspend fun Handle.accept(): Handle = perform(this, openFd(this), ACCEPT_HANDLE, null, 0, 0, null)
