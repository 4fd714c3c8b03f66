package dev.ioqueue.internal.io;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Where a ring write's bytes are, for the kernel to read while it is in flight: always a copy,
 * in a block the operation owns (reused while large enough; freed by the GC once neither the
 * operation nor the ring holds it), never the caller's memory: an arena closed while the write
 * waits must not let the kernel read freed memory (the copy, made on the loop thread, checks
 * the arena and the thread as an access does). Every ring write pays this copy, the writes made
 * inside I/O completions (an echo's reply) included; longer writes go in chunks of {@link #MAX_STAGED}.
 */
final class RingSource {
    static final int MAX_STAGED = 256 * 1024;
    private MemorySegment staging;

    /** How many of {@code remaining} bytes one ring write takes. */
    static int chunk(long remaining) {
        return (int) Math.min(remaining, MAX_STAGED);
    }

    /**
     * @throws IllegalStateException if the segment's arena is closed
     * @throws WrongThreadException if it is confined to another thread
     */
    long address(MemorySegment from, long offset, int length) {
        if (staging == null || staging.byteSize() < length) staging = Arena.ofAuto().allocate(Math.max(length, 256));
        MemorySegment.copy(from, offset, staging, 0, length);
        return staging.address();
    }
}
