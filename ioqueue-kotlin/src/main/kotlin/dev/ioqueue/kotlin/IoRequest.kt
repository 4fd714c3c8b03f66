package dev.ioqueue.kotlin

import dev.ioqueue.IoCompletion
import dev.ioqueue.IoOperation
import dev.ioqueue.ReadyEvent
import java.io.IOException
import java.lang.foreign.MemorySegment
import java.nio.ByteBuffer

// What a suspending I/O call asks for, told to each of the three places it can run (the caller's
// loop, the shared queue's readiness, a handle's own queue) as plain values, so that no call
// allocates a description of itself: a kind, a target (the buffer, array or segment; the awaited
// event; the user's attempt) and, for arrays, a range. The kind also says what the caller gets.

/** One read: the count, or -1 at end-of-file. */
internal const val READ = 0

/** Reads until the buffer is full: Unit, or an EOFException at end-of-file first. */
internal const val READ_FULLY = 1

/** One write: the count, which may be short. */
internal const val WRITE = 2

/** Writes all: Unit. */
internal const val WRITE_FULLY = 3

/** Accepts a connection: its fd as an Int. */
internal const val ACCEPT = 4

/** Accepts a connection: a new unbound [dev.ioqueue.Handle] owning it. */
internal const val ACCEPT_HANDLE = 5

/** Waits for readiness (the target is the [ReadyEvent]): the events reported. */
internal const val AWAIT = 6

/** Runs the user's attempt (the target is an `(Int) -> Long`) until it does not block: its result as a Long. */
internal const val ATTEMPT = 7

/** Whether [kind] reads (waits for READ between tries). */
internal fun readsFd(kind: Int): Boolean = kind == READ || kind == READ_FULLY || kind == ACCEPT || kind == ACCEPT_HANDLE

/** The event a transfer of [kind] waits for between tries. */
internal fun eventOf(kind: Int): ReadyEvent = if (readsFd(kind)) ReadyEvent.READ else ReadyEvent.WRITE

/**
 * The core's operation for a transfer of [kind] on [target] (a ByteBuffer, or an array range or
 * a segment for one read or write; the fully-kinds take a ByteBuffer: arrays and segments are
 * wrapped by the caller, who keeps the wrapper to tell what moved). On an io_uring queue and a
 * [dev.ioqueue.Handle], the factories' operations are performed by the ring.
 */
@Suppress("UNCHECKED_CAST")
internal fun operationFor(kind: Int, target: Any?, offset: Int, length: Int, event: ReadyEvent?, done: IoCompletion): IoOperation =
    when (kind) {
        READ -> when (target) {
            is ByteBuffer -> IoOperation.read(target, done)
            is ByteArray -> IoOperation.read(target, offset, length, done)
            else -> IoOperation.read(target as MemorySegment, done)
        }
        WRITE -> when (target) {
            is ByteBuffer -> IoOperation.write(target, done)
            is ByteArray -> IoOperation.write(target, offset, length, done)
            else -> IoOperation.write(target as MemorySegment, done)
        }
        READ_FULLY -> IoOperation.readFully(target as ByteBuffer, done)
        WRITE_FULLY -> when (target) {
            is ByteBuffer -> IoOperation.writeFully(target, done)
            else -> IoOperation.writeFully(target as MemorySegment, done)
        }
        ACCEPT, ACCEPT_HANDLE -> IoOperation.accept(done)
        ATTEMPT -> Attempting(event!!, target as (Int) -> Long, done)
        else -> throw IllegalArgumentException("no operation for kind $kind")
    }

/** An [IoOperation] around the user's attempt of [awaitIo]. */
private class Attempting(event: ReadyEvent, private val attempt: (Int) -> Long, private val done: IoCompletion) :
    IoOperation(event) {
    override fun attempt(fd: Int): Long = attempt.invoke(fd)
    override fun completed(fd: Int, result: Long) = done.completed(fd, result)
    override fun failed(fd: Int, failure: IOException) = done.failed(fd, failure)
    override fun dropped(fd: Int) = done.dropped(fd)
}

/** The EOFException of a readFully that found end-of-file after [got] of [wanted] bytes. */
internal fun endOfFile(fd: Int, got: Int, wanted: Int): java.io.EOFException =
    java.io.EOFException("fd $fd: end of file after $got of $wanted bytes")

/** The ByteBuffer a fully-kind transfer of an array range runs on. */
internal fun wrapRange(array: ByteArray, offset: Int, length: Int): ByteBuffer = ByteBuffer.wrap(array, offset, length)
