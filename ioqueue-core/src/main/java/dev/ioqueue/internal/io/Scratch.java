package dev.ioqueue.internal.io;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Native memory for a syscall on a heap buffer or array (the kernel needs native memory): the
 * bytes go through it. A platform thread keeps its own (a loop's thread does this often). A
 * virtual thread, one of possibly millions and often short-lived, borrows one from a small shared
 * pool for the call and gives it back, instead of holding {@link #SIZE} bytes of native memory
 * each until the GC finds it (the JDK's NIO keeps its temporary buffers per carrier for the same
 * reason); only more virtual threads inside such a call at once than the pool holds make a new
 * one. Thread-safe; {@link #take} and {@link #give} in pairs on one thread.
 */
final class Scratch {
    static final int SIZE = 64 * 1024;
    private static final ThreadLocal<MemorySegment> OWN = new ThreadLocal<>() {
        @Override
        protected MemorySegment initialValue() {
            return make();
        }
    };
    /** A platform thread's block for the rare call over {@link #SIZE} (a large datagram), grown to the largest asked. */
    private static final ThreadLocal<MemorySegment[]> OWN_LARGE = ThreadLocal.withInitial(() -> new MemorySegment[1]);
    /** Guarded by itself: the segments virtual threads gave back. */
    private static final MemorySegment[] POOL = new MemorySegment[Math.max(4, 2 * Runtime.getRuntime().availableProcessors())];
    private static int pooled;

    private Scratch() {}

    /** {@link #SIZE} bytes to use until {@link #give}. */
    static MemorySegment take() {
        if (!Thread.currentThread().isVirtual()) return OWN.get();
        synchronized (POOL) {
            if (pooled > 0) {
                MemorySegment s = POOL[--pooled];
                POOL[pooled] = null;
                return s;
            }
        }
        return make();
    }

    /**
     * Runs {@code use} with at least {@code size} bytes, and returns what it returns: {@link #take()}
     * up to {@link #SIZE}; above (a datagram that large, where the call cannot be cut in chunks), a
     * platform thread's own larger block, or, for a virtual thread, a block made for this call and
     * freed when it returns (outside round 26: left to the GC, each call's stayed until one ran).
     */
    static <R> R using(long size, java.util.function.Function<MemorySegment, R> use) {
        if (size > SIZE && Thread.currentThread().isVirtual()) {
            try (Arena call = Arena.ofConfined()) {
                return use.apply(call.allocate(size, 16));
            }
        }
        MemorySegment s = size <= SIZE ? take() : ownLarge(size);
        try {
            return use.apply(s);
        } finally {
            give(s);
        }
    }

    private static MemorySegment ownLarge(long size) {
        MemorySegment[] own = OWN_LARGE.get();
        if (own[0] == null || own[0].byteSize() < size) own[0] = make(size);
        return own[0];
    }

    /** Gives back what {@link #take} gave this thread. */
    static void give(MemorySegment s) {
        if (!Thread.currentThread().isVirtual() || s.byteSize() != SIZE) return; // a platform thread's own
        synchronized (POOL) {
            if (pooled < POOL.length) POOL[pooled++] = s; // else left to the GC
        }
    }

    private static MemorySegment make() {
        return make(SIZE);
    }

    private static MemorySegment make(long size) {
        return Arena.ofAuto().allocate(size, 16);
    }
}
