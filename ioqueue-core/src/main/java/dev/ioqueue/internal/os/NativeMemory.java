package dev.ioqueue.internal.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * {@code malloc}/{@code free} for native memory whose lifetime one object manages by hand and that
 * must be freeable from any thread (a {@link java.lang.ref.Cleaner} frees it when its owner was
 * never closed). A confined arena cannot be closed from another thread, and a shared one costs an
 * atomic acquire per downcall; a block from here costs neither. Its owner must never touch it
 * after {@link #free}.
 */
public final class NativeMemory {
    private static final MethodHandle MALLOC = Native.blocking("malloc", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
    /**
     * Bound at the first free (a queue's start frees nothing); made again at the next free if
     * binding failed (as {@link Unistd#close}'s: a Cleaner frees too, and must not fail for good).
     */
    private static volatile MethodHandle free;

    private NativeMemory() {}

    /** {@code size} bytes, 16-byte aligned, zeroed. */
    public static MemorySegment allocate(long size) {
        MemorySegment block;
        try {
            block = (MemorySegment) MALLOC.invokeExact(Native.threadErrno(), size);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
        if (block.equals(MemorySegment.NULL)) throw new OutOfMemoryError("malloc(" + size + ") failed");
        return block.reinterpret(size).fill((byte) 0);
    }

    /** Frees a block from {@link #allocate}; any thread. */
    public static void free(MemorySegment block) {
        try {
            MethodHandle h = free;
            if (h == null) free = h = Native.blocking("free", FunctionDescriptor.ofVoid(ADDRESS));
            h.invokeExact(Native.threadErrno(), block);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }
}
