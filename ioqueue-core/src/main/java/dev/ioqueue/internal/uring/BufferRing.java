package dev.ioqueue.internal.uring;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.Uring;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * A provided-buffer ring ({@code IORING_REGISTER_PBUF_RING}): {@code count} buffers of
 * {@code size} bytes the kernel picks from for multishot reads, each given back with
 * {@link #recycle} once its bytes were copied out, and published in batches by {@link #publish}
 * (one release store of the ring's tail). The ring entries live in an anonymous mapping (page
 * aligned, as the kernel requires); the buffers in another. The memory outlives every
 * read the kernel may still do: it is freed only after the ring is drained or closed.
 *
 * <p>Owner thread only, except {@link #free()} (after the ring is gone).
 */
final class BufferRing {
    private static final VarHandle SHORT = JAVA_SHORT.varHandle();

    final int groupId;
    final int size;
    private final int count;
    private final int mask;
    private final MemorySegment entries;
    private final MemorySegment data;
    /** Buffers given back and written into the ring, not yet published. */
    private int pendingRecycles;
    private int tail;
    private int available;

    /** @throws RuntimeException the API's syscall exception if the kernel refuses the registration */
    BufferRing(Ring ring, int groupId, int count, int size) {
        this.groupId = groupId;
        this.count = count;
        this.size = size;
        this.mask = count - 1;
        MemorySegment errno = Native.threadErrno();
        entries = Uring.mmap(Uring.BUF_SIZE * count, Uring.MAP_PRIVATE_ANONYMOUS, -1, 0, errno);
        if (entries.equals(MemorySegment.NULL)) throw Errors.syscallNoFd("mmap", Uring.mmapErrno(errno), "cannot map a buffer ring");
        // mmap'd, not malloc'd: freed memory goes back to the system at once, not to an allocator's
        // per-thread arena (a queue per thread that dies would otherwise leave its megabyte behind).
        MemorySegment block = Uring.mmap((long) count * size, Uring.MAP_PRIVATE_ANONYMOUS, -1, 0, errno);
        if (block.equals(MemorySegment.NULL)) {
            int e = Uring.mmapErrno(errno);
            Uring.munmap(entries);
            throw Errors.syscallNoFd("mmap", e, "cannot map the provided buffers");
        }
        data = block;
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment reg = arena.allocate(Uring.BUF_REG_SIZE, 8);
            reg.set(JAVA_LONG, 0, entries.address());
            reg.set(JAVA_INT, 8, count);
            reg.set(JAVA_SHORT, 12, (short) groupId);
            int r = ring.register(Uring.REGISTER_PBUF_RING, reg, 1);
            if (r < 0) {
                free();
                throw Errors.syscall("io_uring_register(IORING_REGISTER_PBUF_RING)", ring.fd, -r);
            }
        }
        for (int b = 0; b < count; b++) recycle(b);
        publish();
    }

    /** Every buffer's bytes, buffer {@code bid} at {@link #offset(int)}. */
    MemorySegment data() {
        return data;
    }

    /** Offset of buffer {@code bid} in {@link #data()}. */
    long offset(int bid) {
        return (long) bid * size;
    }

    /** Hands buffer {@code bid} back to the kernel (visible at the next {@link #publish}). */
    void recycle(int bid) {
        long at = Uring.BUF_SIZE * ((tail + pendingRecycles) & mask);
        entries.set(JAVA_LONG, at, data.address() + (long) bid * size);
        entries.set(JAVA_INT, at + 8, size);
        entries.set(JAVA_SHORT, at + 12, (short) bid);
        pendingRecycles++;
    }

    /** Publishes the recycled buffers with one release store of the tail; whether there were any. */
    boolean publish() {
        if (pendingRecycles == 0) return false;
        tail += pendingRecycles;
        available += pendingRecycles;
        pendingRecycles = 0;
        SHORT.setRelease(entries, Uring.BUF_RING_TAIL, (short) tail);
        return true;
    }

    /** A buffer was taken by the kernel (a CQE named it). */
    void taken() {
        available--;
    }

    /** Buffers the kernel may still fill. */
    int available() {
        return available;
    }

    int count() {
        return count;
    }

    /** Releases the memory; only once the ring that used it is drained or closed. Any thread. */
    void free() {
        Uring.munmap(entries);
        Uring.munmap(data);
    }

    static long bytes(int count, int size) {
        return (long) count * size;
    }
}
