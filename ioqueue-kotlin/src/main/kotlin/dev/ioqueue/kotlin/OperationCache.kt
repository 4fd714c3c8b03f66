package dev.ioqueue.kotlin

import dev.ioqueue.IoCompletion
import dev.ioqueue.IoOperation
import dev.ioqueue.ReadyEvent
import java.lang.foreign.MemorySegment
import java.nio.ByteBuffer

/**
 * The operations of one coroutine's last few (kind, buffer) pairs, each submitted again as it is,
 * all completing to [done] ([CoroutineIo]): a coroutine that reads and writes one buffer in a loop
 * allocates nothing per call once they exist. Loop thread only.
 */
internal class OperationCache(private val done: IoCompletion) {
    /** One cached operation: its kind and target (identity), the range, the ByteBuffer it runs on for the fully-kinds. */
    internal class Slot(
        val kind: Int,
        val target: Any?,
        val offset: Int,
        val length: Int,
        val event: ReadyEvent?,
        val buffer: ByteBuffer?,
        val operation: IoOperation,
    )

    private val slots = arrayOfNulls<Slot>(SLOTS)
    private var next = 0

    /** The cached operation for this call, reset to its range; else a new one, replacing the oldest. */
    fun slotFor(kind: Int, target: Any?, offset: Int, length: Int, event: ReadyEvent?): Slot {
        for (s in slots) {
            if (s != null && s.kind == kind && s.target === target && s.offset == offset && s.length == length && s.event == event) {
                when {
                    target is ByteArray && s.buffer != null -> s.buffer.limit(offset + length).position(offset)
                    target is MemorySegment && s.buffer != null -> s.buffer.clear()
                }
                return s
            }
        }
        val buffer = when {
            kind != READ_FULLY && kind != WRITE_FULLY -> null
            target is ByteBuffer -> target
            target is ByteArray -> wrapRange(target, offset, length)
            kind == READ_FULLY -> (target as MemorySegment).asByteBuffer()
            else -> null // a segment written fully: the core's operation takes it as it is
        }
        val operation = operationFor(kind, buffer ?: target, offset, length, event, done)
        val s = Slot(kind, target, offset, length, event, buffer, operation)
        slots[next] = s
        next = (next + 1) % SLOTS
        return s
    }

    /** Forgets [s] (its transfer's counts may be left mid-way, or it was withdrawn), if cached. */
    fun evict(s: Slot?) {
        if (s == null) return
        for (i in slots.indices) if (slots[i] === s) slots[i] = null
    }

    private companion object {
        const val SLOTS = 4
    }
}
