package dev.ioqueue.internal.uring;

import java.lang.foreign.MemorySegment;

/**
 * What the completion engine needs of one operation's buffer: where a read's bytes go, where a
 * write's come from. Implemented once per buffer kind by the I/O factories' operations. Owner
 * thread only.
 */
public interface RingTransfer {
    /** Reads: copies up to {@code length} bytes from {@code data} at {@code offset}; returns how many it took. */
    int fill(MemorySegment data, long offset, int length);

    /** Whether it must move more bytes before it completes (a read that took none, a full read or write not yet done). */
    boolean wantsMore();

    /**
     * Writes: the address of the bytes still to write (staged in native memory if its buffer is on
     * the heap), valid until the write's completion.
     *
     * @throws IllegalStateException if the buffer's arena is closed
     * @throws WrongThreadException if the buffer is confined to another thread
     */
    long sourceAddress();

    /** Writes: how many bytes are still to write. */
    int sourceLength();

    /** Writes: {@code count} bytes went out. */
    void wrote(int count);
}
