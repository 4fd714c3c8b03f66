package dev.ioqueue.internal;

import dev.ioqueue.ReadyCallback;
import java.lang.foreign.MemorySegment;

/**
 * What {@link RingStreams} needs of one I/O operation doing completion I/O: where a read's bytes
 * go, where a write's come from, and how to end it. Implemented once, by {@code IoOperation}, over
 * the buffer its factory was given. Owner thread only.
 */
public interface RingTransfer {
    /** Reads: copies up to {@code length} bytes from {@code data} at {@code offset}; returns how many it took. */
    int fill(MemorySegment data, long offset, int length);

    /** Whether it must move more bytes before it completes (a read that took none, a full read or write not yet done). */
    boolean wantsMore();

    /** Writes: the address of the bytes still to write (staged in native memory if its buffer is on the heap). */
    long sourceAddress();

    /** Writes: how many bytes are still to write. */
    int sourceLength();

    /** Writes: {@code count} bytes went out. */
    void wrote(int count);

    /** Ends it with what it moved; a read that moved nothing completes with end-of-file when {@code endOfFile}. */
    void complete(boolean endOfFile);

    /** The ring cannot read this fd (it took nothing): starts it again on the readiness path. */
    void retryByReadiness();

    /** Ends it with {@code failure}. */
    void fail(RuntimeException failure);

    /** What to tell when it is dropped (fd forgotten or closed, queue closed): its {@code onDropped}. */
    ReadyCallback dropHandle();
}
