package dev.ioqueue.kotlin

import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoOperation
import java.io.EOFException
import java.lang.foreign.MemorySegment
import java.nio.ByteBuffer

// Suspending reads and writes: each is an [IoOperation] run by [awaitIo]'s rules (tried at once on
// the loop when the fd may be ready, retried silently on EAGAIN, cancellable, a blocking fd
// refused, HANGUP with nothing to read is end-of-file).

/** Reads once into [dst] from its position (advanced): the count, or -1 ([Fds.EOF]) at end-of-file. */
public suspend fun read(fd: Int, dst: ByteBuffer): Int {
    checkedFd(fd)
    return perform(fd) { done -> IoOperation.read(dst, done) }.toInt()
}

/** Reads once into `dst[offset, offset + length)`: the count, or -1 ([Fds.EOF]) at end-of-file. */
public suspend fun read(fd: Int, dst: ByteArray, offset: Int = 0, length: Int = dst.size - offset): Int {
    checkedFd(fd)
    return perform(fd) { done -> IoOperation.read(dst, offset, length, done) }.toInt()
}

/** Reads once into [dst]: the count, or -1 ([Fds.EOF]) at end-of-file. */
public suspend fun read(fd: Int, dst: MemorySegment): Int {
    checkedFd(fd)
    return perform(fd) { done -> IoOperation.read(dst, done) }.toInt()
}

/**
 * Reads until [dst] is full. If the cancellation or an error comes first, what was read stays in
 * [dst] (its position says how much).
 *
 * @throws EOFException at end-of-file before [dst] is full
 */
public suspend fun readFully(fd: Int, dst: ByteBuffer) {
    checkedFd(fd)
    val wanted = dst.remaining()
    val n = perform(fd) { done -> IoOperation.readFully(dst, done) }
    if (dst.hasRemaining()) throw EOFException("fd $fd: end of file after ${maxOf(n, 0)} of $wanted bytes")
}

/** [readFully] into `dst[offset, offset + length)`. */
public suspend fun readFully(fd: Int, dst: ByteArray, offset: Int = 0, length: Int = dst.size - offset): Unit =
    readFully(fd, ByteBuffer.wrap(dst, offset, length))

/** Writes once from [src]'s position (advanced): the count written, which may be short. */
public suspend fun write(fd: Int, src: ByteBuffer): Int {
    checkedFd(fd)
    return perform(fd) { done -> IoOperation.write(src, done) }.toInt()
}

/** Writes once from `src[offset, offset + length)`: the count written, which may be short. */
public suspend fun write(fd: Int, src: ByteArray, offset: Int = 0, length: Int = src.size - offset): Int {
    checkedFd(fd)
    return perform(fd) { done -> IoOperation.write(src, offset, length, done) }.toInt()
}

/** Writes once from [src]: the count written, which may be short. */
public suspend fun write(fd: Int, src: MemorySegment): Int {
    checkedFd(fd)
    return perform(fd) { done -> IoOperation.write(src, done) }.toInt()
}

/** Writes all of [src] from its position (advanced); on cancellation its position says how much went. */
public suspend fun writeFully(fd: Int, src: ByteBuffer) {
    checkedFd(fd)
    perform(fd) { done -> IoOperation.writeFully(src, done) }
}

/** Writes all of `src[offset, offset + length)`. */
public suspend fun writeFully(fd: Int, src: ByteArray, offset: Int = 0, length: Int = src.size - offset): Unit =
    writeFully(fd, ByteBuffer.wrap(src, offset, length))

/** Writes all of [src]. */
public suspend fun writeFully(fd: Int, src: MemorySegment) {
    checkedFd(fd)
    perform(fd) { done -> IoOperation.writeFully(src, done) }
}

/** Accepts one connection on a listening socket: its non-blocking, close-on-exec fd. */
public suspend fun accept(listenFd: Int): Int {
    checkedFd(listenFd)
    return perform(listenFd) { done -> IoOperation.accept(done) }.toInt()
}

/** [read] on the handle's fd. */
public suspend fun Handle.read(dst: ByteBuffer): Int = read(fd(), dst)

/** [read] on the handle's fd. */
public suspend fun Handle.read(dst: ByteArray, offset: Int = 0, length: Int = dst.size - offset): Int = read(fd(), dst, offset, length)

/** [readFully] on the handle's fd. */
public suspend fun Handle.readFully(dst: ByteBuffer): Unit = readFully(fd(), dst)

/** [write] on the handle's fd. */
public suspend fun Handle.write(src: ByteBuffer): Int = write(fd(), src)

/** [writeFully] on the handle's fd. */
public suspend fun Handle.writeFully(src: ByteBuffer): Unit = writeFully(fd(), src)

/** [writeFully] on the handle's fd. */
public suspend fun Handle.writeFully(src: ByteArray, offset: Int = 0, length: Int = src.size - offset): Unit =
    writeFully(fd(), src, offset, length)

/** [accept] on the handle's fd. */
public suspend fun Handle.accept(): Int = accept(fd())

private fun checkedFd(fd: Int) = require(fd >= 0) { "fd $fd is negative" }
