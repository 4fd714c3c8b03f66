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
 * {@code size} bytes the kernel picks from for multishot reads. Where the kernel allows
 * ({@link Uring#PBUF_RING_INC}, Linux 6.12), it uses a buffer in parts: read after read, from any
 * stream, each CQE's bytes follow the last one's in the same buffer until it is full, so small
 * reads touch a few cache lines side by side instead of a fresh page each (the kernel's copy and
 * the reader's both run warm). A buffer goes back to the kernel ({@link #release}) once the kernel
 * is done with it (a CQE without {@link Uring#CQE_F_BUF_MORE}) and every chunk of it that a stream
 * keeps was copied out or dropped: each buffer counts its holds, the kernel's and one per kept
 * chunk. Given-back buffers are published in batches ({@link #publish}: one release store of the
 * ring's tail). The ring entries live in an anonymous mapping (page aligned, as the kernel
 * requires); the buffers in another. The memory outlives every read the kernel may still do: it is
 * freed only after the ring is drained or closed.
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
    /** Whether the kernel took the ring with {@link Uring#PBUF_RING_INC}: a CQE may leave its buffer the kernel's. */
    final boolean incremental;
    /** Per buffer: bytes the kernel has put in it since it was given to the kernel (where the next CQE's bytes begin). */
    private final int[] filled;
    /** Per buffer: 1 while the kernel may still use it, plus one per kept chunk in it; given back at 0. */
    private final int[] holds;
    /** Buffers given back and written into the ring, not yet published. */
    private int pendingRecycles;
    private int tail;
    private int available;

    /** @throws RuntimeException the API's syscall exception if the kernel refuses the registration */
    BufferRing(Ring ring, int groupId, int count, int size, boolean incremental) {
        this.groupId = groupId;
        this.count = count;
        this.size = size;
        this.mask = count - 1;
        this.filled = new int[count];
        this.holds = new int[count];
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
        int r = incremental ? register(ring, Uring.PBUF_RING_INC) : -1;
        this.incremental = r == 0;
        if (r != 0) r = register(ring, (short) 0); // not wanted, or refused (a kernel before 6.12): whole buffers
        if (r < 0) {
            free();
            throw Errors.syscall("io_uring_register(IORING_REGISTER_PBUF_RING)", ring.fd, -r);
        }
        for (int b = 0; b < count; b++) recycle(b);
        publish();
    }

    /** Registers the ring with {@code flags}; 0 or the kernel's negative errno. */
    private int register(Ring ring, short flags) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment reg = arena.allocate(Uring.BUF_REG_SIZE, 8);
            reg.set(JAVA_LONG, 0, entries.address());
            reg.set(JAVA_INT, 8, count);
            reg.set(JAVA_SHORT, 12, (short) groupId);
            reg.set(JAVA_SHORT, 14, flags);
            return ring.register(Uring.REGISTER_PBUF_RING, reg, 1);
        }
    }

    /** Every buffer's bytes, buffer {@code bid} at {@link #offset(int)}. */
    MemorySegment data() {
        return data;
    }

    /** Offset of buffer {@code bid} in {@link #data()}. */
    long offset(int bid) {
        return (long) bid * size;
    }

    /**
     * A CQE named buffer {@code bid} for its {@code res} bytes (with its {@code flags}): returns
     * where in the buffer they begin. Bytes ({@code res > 0}) add a hold, released once a stream
     * has copied them out or dropped them ({@link #release}); without
     * {@link Uring#CQE_F_BUF_MORE} the kernel is done with the buffer. A CQE of no bytes moves
     * nothing in an incremental ring (the kernel keeps its place in the buffer).
     */
    int filled(int bid, int res, int flags) {
        int start = filled[bid];
        if (res > 0) {
            filled[bid] = start + res;
            holds[bid]++;
        } else if (incremental) {
            return start;
        }
        if ((flags & Uring.CQE_F_BUF_MORE) == 0) {
            available--;
            release(bid); // the kernel's hold
        }
        return start;
    }

    /** One hold on buffer {@code bid} ends; at the last, it goes back to the kernel (visible at the next {@link #publish}). */
    void release(int bid) {
        assert holds[bid] > 0 : "buffer " + bid + " released more often than held"; // a second recycle would hand the kernel a live entry
        if (--holds[bid] == 0) recycle(bid);
    }

    private void recycle(int bid) {
        holds[bid] = 1;
        filled[bid] = 0;
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

    /** Buffers the kernel may still fill (one partly filled counts). */
    int available() {
        return available;
    }

    int count() {
        return count;
    }

    /** Releases the memory; only once the ring that used it is drained or closed. Any thread. */
    void free() {
        free(true);
    }

    /**
     * Frees the ring's memory: unmapped if the kernel is done with it ({@code drained}: every
     * request ended, on the owner thread), else retired ({@link Uring#retire}): released off the
     * owner thread, a read the kernel still holds (a thread's requests may outlive its Java thread)
     * must not write into memory mapped there since. A retired range keeps its addresses for the
     * process's life.
     */
    void free(boolean drained) {
        if (drained) {
            Uring.munmap(entries);
            Uring.munmap(data);
        } else {
            Uring.retire(entries);
            Uring.retire(data);
        }
    }

    static long bytes(int count, int size) {
        return (long) count * size;
    }
}
