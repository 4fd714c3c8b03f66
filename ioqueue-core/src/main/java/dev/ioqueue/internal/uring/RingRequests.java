package dev.ioqueue.internal.uring;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.ioqueue.internal.os.Uring;
import java.util.Arrays;

/**
 * The engine's requests: a table of {@link RingRequest} records by slot, and how each is written
 * into the ring. A request's user data is the engine tag (the top bit, which the poller's own
 * requests never set), its generation (30 bits) and its slot (32 bits): identity, never an fd
 * number. A stream's requests name its fixed-file slot when it has one (taken on first use,
 * given back when it closes), else its fd. Owner thread only.
 */
final class RingRequests {
    static final long TAG = 1L << 63;
    private static final int GENERATION_MASK = (1 << 30) - 1;
    /** User data of the cancels whose CQE comes only if they fail (the request had finished already). */
    static final long CANCEL_DATA = TAG | 0xFFFF_FFFFL;
    /** User data of a cancel whose CQE always comes (a synchronous withdrawal). */
    static final long SYNC_CANCEL = TAG | 0xFFFF_FFFEL;

    private final Ring ring;
    private final FixedFiles fixed;
    private RingRequest[] slots = new RingRequest[16];
    private int[] free = new int[16];
    private int freeCount;
    private int created;
    /** Requests the kernel has not finished. */
    private int live;

    RingRequests(Ring ring, FixedFiles fixed) {
        this.ring = ring;
        this.fixed = fixed;
    }

    static long userData(RingRequest r) {
        return TAG | ((long) r.generation << 32) | (r.slot & 0xFFFF_FFFFL);
    }

    /** The request {@code userData} names, or null if it names none (a cancel's, or a stale one). */
    RingRequest find(long userData) {
        int slot = (int) userData;
        if (slot < 0 || slot >= created) return null;
        RingRequest r = slots[slot];
        return r.state != RingRequest.FREE && r.generation == ((int) (userData >>> 32) & GENERATION_MASK) ? r : null;
    }

    /** Requests the kernel has not finished. */
    int live() {
        return live;
    }

    private RingRequest acquire(byte kind, RingStream s) {
        RingRequest r;
        if (freeCount > 0) {
            r = slots[free[--freeCount]];
        } else {
            if (created == slots.length) slots = Arrays.copyOf(slots, created * 2);
            r = slots[created] = new RingRequest(created);
            created++;
        }
        r.kind = kind;
        r.stream = s;
        r.state = RingRequest.IN_FLIGHT;
        s.requests++;
        live++;
        return r;
    }

    /** Its last CQE came: the slot is free for a new request, under a new generation. */
    void release(RingRequest r) {
        r.stream.requests--;
        live--;
        r.state = RingRequest.FREE;
        r.generation = (r.generation + 1) & GENERATION_MASK;
        r.stream = null;
        r.keepAlive = null;
        r.kind = 0;
        if (freeCount == free.length) free = Arrays.copyOf(free, freeCount * 2);
        free[freeCount++] = r.slot;
    }

    /** A multishot read of {@code s} into buffer group {@code group}. */
    RingRequest read(RingStream s, int group) {
        long sqe = ring.nextSqe();
        RingRequest r = acquire(RingRequest.READ, s);
        ring.prep(sqe, Uring.OP_READ_MULTISHOT, s.fd, 0, 0, 0, userData(r));
        address(sqe, s, Uring.SQE_BUFFER_SELECT);
        ring.sqes().set(JAVA_SHORT, sqe + Uring.SQE_BUF_GROUP, (short) group);
        r.sqe = ring.lastIndex();
        return r;
    }

    /** A write of {@code length} bytes at {@code address} to {@code s}, for {@code op} (kept reachable). */
    RingRequest write(RingStream s, RingOp op, long address, int length) {
        long sqe = ring.nextSqe();
        RingRequest r = acquire(RingRequest.WRITE, s);
        r.keepAlive = op;
        ring.prep(sqe, Uring.OP_WRITE, s.fd, address, length, -1L, userData(r));
        address(sqe, s, (byte) 0);
        r.sqe = ring.lastIndex();
        return r;
    }

    /**
     * Gives {@code r} up: if the kernel has not taken its SQE, it becomes a NOP (whose CQE still
     * comes); else a cancel is queued. Either way its CQEs from now on are only counted.
     */
    void cancel(RingRequest r) {
        r.state = RingRequest.CANCELLED;
        if (!ring.withdraw(r.sqe)) stop(r);
    }

    /** Asks the kernel to stop {@code r} (a read to pause): its CQEs still count, ending with ECANCELED; the cancel's own comes only if it fails. */
    void stop(RingRequest r) {
        long sqe = ring.prepCancel(userData(r), CANCEL_DATA);
        ring.sqes().set(JAVA_BYTE, sqe + Uring.SQE_FLAGS, Uring.SQE_CQE_SKIP_SUCCESS);
    }

    /** Turns {@code r}'s SQE into a NOP if the kernel has not taken it yet; whether it could. */
    boolean withdraw(RingRequest r) {
        return ring.withdraw(r.sqe);
    }

    /** A cancel of {@code r} whose CQE comes whatever its outcome, named {@link #SYNC_CANCEL}. */
    void cancelReporting(RingRequest r) {
        ring.prepCancel(userData(r), SYNC_CANCEL);
    }

    /** Gives back {@code s}'s fixed-file slot, if it has one: the table lets go of its file. */
    void releaseSlot(RingStream s) {
        if (s.slot >= 0) fixed.give(s.slot);
        s.slot = -1;
    }

    /** Writes the SQE's fd (or fixed slot, taken on the stream's first request) and flags. */
    private void address(long sqe, RingStream s, byte flags) {
        if (!s.slotTried) {
            s.slotTried = true;
            s.slot = fixed.take(s.fd);
        }
        if (s.slot >= 0) {
            ring.sqes().set(JAVA_INT, sqe + Uring.SQE_FD, s.slot);
            flags |= Uring.SQE_FIXED_FILE;
        }
        ring.sqes().set(JAVA_BYTE, sqe + Uring.SQE_FLAGS, flags);
    }
}
