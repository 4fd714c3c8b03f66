package dev.ioqueue.kotlin

import dev.ioqueue.Fds
import dev.ioqueue.IoOperation
import java.io.EOFException
import java.lang.foreign.MemorySegment
import java.nio.ByteBuffer
import java.util.Objects

// The low level: suspending reads and writes on a plain fd number, under mio's rule (close the fd
// only once no call is under way on it). An owned fd is better served by the extension functions
// on Handle (HandleIo.kt). Each call is an [IoOperation] run by [awaitIo]'s rules: tried at once on
// the loop when the fd may be ready, retried silently on EAGAIN, a blocking fd refused, HANGUP
// with nothing to read is end-of-file. Failures are IOExceptions carrying the fd and errno
// ([dev.ioqueue.SyscallFailure]: a peer reset is a [dev.ioqueue.SyscallSocketException]).
//
// Threading: on a coroutine of an [IoQueueDispatcher], on that loop (allocation-free once the
// coroutine has used its buffer); on any other dispatcher, the syscall runs in the coroutine and
// only the wait for readiness goes to the shared background queue. Cancellation is exact
// everywhere: when a cancelled call throws CancellationException, nothing moved but what a
// ByteBuffer's position says (an array or segment call's count is then not reported: use a
// ByteBuffer where that matters), and an fd accepted meanwhile has been closed.

/**
 * Reads once into [dst] from its position (advanced): the count, or -1 ([Fds.EOF]) at
 * end-of-file. Threading and cancellation: see the top of this file.
 */
public suspend fun read(fd: Int, dst: ByteBuffer): Int {
    requireFd(fd)
    return perform(null, fd, READ, dst, 0, 0, null)
}

/** Reads once into `dst[offset, offset + length)`: the count, or -1 ([Fds.EOF]) at end-of-file. */
public suspend fun read(fd: Int, dst: ByteArray, offset: Int = 0, length: Int = dst.size - offset): Int {
    requireFd(fd)
    Objects.checkFromIndexSize(offset, length, dst.size)
    return perform(null, fd, READ, dst, offset, length, null)
}

/** Reads once into [dst]: the count, or -1 ([Fds.EOF]) at end-of-file. */
public suspend fun read(fd: Int, dst: MemorySegment): Int {
    requireFd(fd)
    return perform(null, fd, READ, dst, 0, 0, null)
}

/**
 * Reads until [dst] is full. If a cancellation or an error comes first, what was read stays in
 * [dst] and its position says how much.
 *
 * @throws EOFException at end-of-file before [dst] is full (naming the fd and the count)
 */
public suspend fun readFully(fd: Int, dst: ByteBuffer): Unit {
    requireFd(fd)
    return perform(null, fd, READ_FULLY, dst, 0, 0, null)
}

/** [readFully] into `dst[offset, offset + length)`; a cancelled one does not say how much came. */
public suspend fun readFully(fd: Int, dst: ByteArray, offset: Int = 0, length: Int = dst.size - offset): Unit {
    requireFd(fd)
    Objects.checkFromIndexSize(offset, length, dst.size)
    return perform(null, fd, READ_FULLY, dst, offset, length, null)
}

/** [readFully] into all of [dst]; a cancelled one does not say how much came. */
public suspend fun readFully(fd: Int, dst: MemorySegment): Unit {
    requireFd(fd)
    return perform(null, fd, READ_FULLY, dst, 0, 0, null)
}

/** Writes once from [src]'s position (advanced): the count written, which may be short. */
public suspend fun write(fd: Int, src: ByteBuffer): Int {
    requireFd(fd)
    return perform(null, fd, WRITE, src, 0, 0, null)
}

/** Writes once from `src[offset, offset + length)`: the count written, which may be short. */
public suspend fun write(fd: Int, src: ByteArray, offset: Int = 0, length: Int = src.size - offset): Int {
    requireFd(fd)
    Objects.checkFromIndexSize(offset, length, src.size)
    return perform(null, fd, WRITE, src, offset, length, null)
}

/** Writes once from [src]: the count written, which may be short. */
public suspend fun write(fd: Int, src: MemorySegment): Int {
    requireFd(fd)
    return perform(null, fd, WRITE, src, 0, 0, null)
}

/** Writes all of [src] from its position (advanced); after a cancellation its position says how much went. */
public suspend fun writeFully(fd: Int, src: ByteBuffer): Unit {
    requireFd(fd)
    return perform(null, fd, WRITE_FULLY, src, 0, 0, null)
}

/** Writes all of `src[offset, offset + length)`; a cancelled one does not say how much went. */
public suspend fun writeFully(fd: Int, src: ByteArray, offset: Int = 0, length: Int = src.size - offset): Unit {
    requireFd(fd)
    Objects.checkFromIndexSize(offset, length, src.size)
    return perform(null, fd, WRITE_FULLY, src, offset, length, null)
}

/** Writes all of [src]; a cancelled one does not say how much went. */
public suspend fun writeFully(fd: Int, src: MemorySegment): Unit {
    requireFd(fd)
    return perform(null, fd, WRITE_FULLY, src, 0, 0, null)
}

/**
 * Accepts one connection on the listening socket [listenFd]: its non-blocking, close-on-exec fd,
 * yours to close. A cancelled accept has accepted nothing, or closed what it accepted.
 */
public suspend fun accept(listenFd: Int): Int {
    requireFd(listenFd)
    return perform(null, listenFd, ACCEPT, null, 0, 0, null)
}
