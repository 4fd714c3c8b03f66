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
     * Writes: the address of a copy of the next {@link #sourceLength()} bytes to write, in memory the
     * operation owns (never the caller's, which an arena's close could free under the kernel),
     * valid until the write's completion.
     *
     * @throws IllegalStateException if the buffer's arena is closed
     * @throws WrongThreadException if the buffer is confined to another thread
     */
    long sourceAddress();

    /** Writes: how many bytes the next ring write takes (the rest, or a chunk of it). */
    int sourceLength();

    /** Writes: {@code count} bytes went out. */
    void wrote(int count);
}
