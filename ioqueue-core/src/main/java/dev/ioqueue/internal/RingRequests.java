package dev.ioqueue.internal;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.ioqueue.internal.os.Uring;

/**
 * How {@link RingStreams} writes its requests into the ring: the SQE of each, the fd or the
 * fixed-file slot it names (a Handle's fd takes a slot on first use), and the user data that names
 * it back in its CQE: kind (2 bits), a sequence number (30 bits: the stream's generation for reads,
 * its write count for writes), the fd (32 bits). Owner thread only.
 */
final class RingRequests {
    static final long KIND_READ = 1L << 62;
    static final long KIND_WRITE = 2L << 62;
    static final long KIND_CANCEL = 3L << 62;
    static final long KIND_MASK = 3L << 62;
    static final int SEQ_MASK = (1 << 30) - 1;

    private final Ring ring;
    private final FixedFiles fixed;

    RingRequests(Ring ring, FixedFiles fixed) {
        this.ring = ring;
        this.fixed = fixed;
    }

    static long userData(long kind, int seq, int fd) {
        return kind | ((long) seq << 32) | (fd & 0xFFFF_FFFFL);
    }

    static int seq(long userData) {
        return (int) (userData >>> 32) & SEQ_MASK;
    }

    /** A multishot read of {@code s} into buffer group {@code group}; its SQE's index. */
    int read(RingStream s, int group) {
        long sqe = ring.nextSqe();
        ring.prep(sqe, Uring.OP_READ_MULTISHOT, s.fd, 0, 0, 0, userData(KIND_READ, s.generation, s.fd));
        address(sqe, s, Uring.SQE_BUFFER_SELECT);
        ring.sqes().set(JAVA_SHORT, sqe + Uring.SQE_BUF_GROUP, (short) group);
        return ring.lastIndex();
    }

    /** Turns SQE {@code index} into a NOP if the kernel has not taken it yet; whether it could. */
    boolean withdraw(int index) {
        return ring.withdraw(index);
    }

    /** A write of {@code length} bytes at {@code address} to {@code s}, named by its current write count; its SQE's index. */
    int write(RingStream s, long address, int length) {
        long sqe = ring.nextSqe();
        ring.prep(sqe, Uring.OP_WRITE, s.fd, address, length, -1L, userData(KIND_WRITE, s.writeSeq, s.fd));
        address(sqe, s, (byte) 0);
        return ring.lastIndex();
    }

    /** A cancel whose CQE comes whatever its outcome, named {@link #SYNC_CANCEL}. */
    void cancelReporting(long kind, int seq, int fd) {
        long sqe = ring.nextSqe();
        ring.prep(sqe, Uring.OP_ASYNC_CANCEL, -1, userData(kind, seq, fd), 0, 0, SYNC_CANCEL);
    }

    /** User data of {@link #cancelReporting}'s CQE. */
    static final long SYNC_CANCEL = KIND_CANCEL | 1;

    /** Cancels the request named {@code (kind, seq, fd)}; a CQE only if the cancel fails. */
    void cancel(long kind, int seq, int fd) {
        long sqe = ring.nextSqe();
        ring.prep(sqe, Uring.OP_ASYNC_CANCEL, -1, userData(kind, seq, fd), 0, 0, KIND_CANCEL);
        ring.sqes().set(JAVA_BYTE, sqe + Uring.SQE_FLAGS, Uring.SQE_CQE_SKIP_SUCCESS);
    }

    /** Gives back {@code s}'s fixed-file slot, if it has one: the table lets go of its file. */
    void release(RingStream s) {
        if (s.slot >= 0) fixed.give(s.slot);
        s.slot = -1;
        s.slotTried = false;
    }

    /**
     * Whether {@code s} reads through a fixed-file slot bound to its own file: a Handle's fd takes
     * one on first use. The slot binds the file when it is registered, on this thread; a number
     * closed elsewhere since {@code s}'s epoch was taken may already name a new file, so then the
     * slot is given back and this says no.
     */
    boolean boundSlot(RingStream s) {
        takeSlotOnce(s);
        if (s.slot < 0) return false;
        if (RingFds.epoch(s.fd) == s.epoch) return true;
        release(s);
        return false;
    }

    private void takeSlotOnce(RingStream s) {
        if (!s.slotTried) {
            s.slotTried = true;
            if (HandleFds.contains(s.fd)) s.slot = fixed.take(s.fd);
        }
    }

    /** Writes the SQE's fd (or fixed slot) and flags. */
    private void address(long sqe, RingStream s, byte flags) {
        takeSlotOnce(s);
        if (s.slot >= 0) {
            ring.sqes().set(JAVA_INT, sqe + Uring.SQE_FD, s.slot);
            flags |= Uring.SQE_FIXED_FILE;
        }
        ring.sqes().set(JAVA_BYTE, sqe + Uring.SQE_FLAGS, flags);
    }
}
