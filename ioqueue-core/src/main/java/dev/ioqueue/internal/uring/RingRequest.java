package dev.ioqueue.internal.uring;

/**
 * One request the engine gave the kernel, from its SQE to its last CQE, in one place (as tokio's
 * {@code Lifecycle}): {@link #IN_FLIGHT} while the stream still wants its result,
 * {@link #CANCELLED} once the stream gave it up (its CQEs are then only counted, and a write's
 * buffer is kept reachable until the last one, since the kernel may still read it), and
 * {@link #FREE} after its last CQE, when its slot is reused under a new generation. The CQE names
 * it by slot and generation ({@link RingRequests#userData}), never by fd number. Owner thread only.
 */
final class RingRequest {
    static final int FREE = 0;
    static final int IN_FLIGHT = 1;
    static final int CANCELLED = 2;
    static final byte READ = 1;
    static final byte WRITE = 2;

    final int slot;
    /** Advanced each time the slot is freed (30 bits), so a CQE of an older request is stale. */
    int generation;
    int state = FREE;
    byte kind;
    RingStream stream;
    /** The ring index of its SQE, to withdraw it before the kernel takes it. */
    int sqe;
    /** A write's operation (and so its buffer), reachable until the last CQE. */
    RingOp keepAlive;

    RingRequest(int slot) {
        this.slot = slot;
    }

    boolean cancelled() {
        return state == CANCELLED;
    }

    @Override
    public String toString() {
        String what = kind == READ ? "read" : kind == WRITE ? "write" : "free";
        return "RingRequest[" + what + " #" + slot + "/" + generation + (state == CANCELLED ? ", cancelled]" : "]");
    }
}
