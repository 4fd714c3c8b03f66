package dev.ioqueue.internal;

/**
 * One fd's completion I/O state on a ring ({@link RingStreams}): its requests in flight, its
 * pending operations, and the bytes its multishot read brought before a read asked, kept in
 * arrival order as (buffer id, offset, length) chunks of the provided buffers. Lives while the
 * number is in use on the queue. Owner thread only.
 */
final class RingStream {
    static final int UNKNOWN = 0;
    static final int STREAM = 1;
    static final int OTHER = 2;

    final int fd;
    /** What the number's file is, as far as the ring cares: UNKNOWN until asked, STREAM, or OTHER. */
    int kind;
    /** Its fixed-file slot (a Handle's fd), or -1: requests name the fd itself. */
    int slot = -1;
    boolean slotTried;
    /** Names its reads in user data; advanced when the fd is forgotten, so older CQEs are stale. */
    int generation = 1;
    /** A multishot read is in flight (until its CQE without MORE). */
    boolean reading;
    /** The ring index of that read's SQE, to withdraw it before the kernel sees it. */
    int readSqe;
    /** That read's cancel is asked for: too much is kept. */
    boolean pausing;
    boolean eof;
    /** Errno of a failed read, until a read reports it. */
    int error;
    /** The kernel refused a multishot read here: readiness serves this fd. */
    boolean unsupported;
    RingTransfer reader;
    RingTransfer writer;
    /** Names the write in flight in user data. */
    int writeSeq;
    boolean writing;
    /** A synchronous cancel of the write is under way. */
    boolean withdrawing;
    /** The ring index of the write's SQE, to withdraw it before the kernel sees it. */
    int writeSqe;
    boolean writeDone;
    int writeError;
    /** What re-submitting the rest of a write threw (its buffer's arena closed meanwhile). */
    RuntimeException writeFailure;
    /** A cancelled write the kernel may still read from: kept reachable until its CQE. */
    RingTransfer abandoned;
    int abandonedSeq;
    /** In the queue of streams with completions due. */
    boolean queued;
    /** The number's epoch ({@link RingFds}) when its state was made: another value means a close elsewhere made it stale. */
    int epoch;

    private int[] kept = new int[12]; // (bid, offset, length) triples, a circular queue
    /** Older kept bytes copied out of the provided buffers when they ran short: read before the chunks. */
    private java.lang.foreign.MemorySegment spill;
    private int spillStart;
    private int spillEnd;
    private int keptHead;
    private int keptCount;

    RingStream(int fd) {
        this.fd = fd;
    }

    /** Whether a read would complete now: bytes kept, end-of-file, or an error to report. */
    boolean readable() {
        return hasData() || eof || error != 0;
    }

    /** Whether nothing is kept, in flight or pending: a stream as new. */
    boolean fresh() {
        return !reading && !writing && !hasData() && !eof && error == 0 && reader == null && writer == null && abandoned == null;
    }

    /** Whether bytes are kept (in buffers or spilled). */
    boolean hasData() {
        return keptCount > 0 || spillEnd > spillStart;
    }

    /**
     * Copies every kept chunk into the heap, after what was spilled before, giving its buffer back
     * to {@code buffers}: the provided buffers ran short, and bytes nobody asked for must not keep
     * other fds' reads waiting. Returns how many buffers it gave back.
     */
    int spill(BufferRing buffers) {
        int freed = keptCount;
        if (freed == 0) return 0;
        long bytes = spillEnd - spillStart;
        for (int i = 0; i < keptCount; i++) bytes += kept[at(i) + 2];
        if (spill == null || spill.byteSize() < bytes) {
            java.lang.foreign.MemorySegment grown = java.lang.foreign.MemorySegment.ofArray(new byte[(int) Math.max(bytes, 2 * (spill == null ? 0 : spill.byteSize()))]);
            if (spillEnd > spillStart) java.lang.foreign.MemorySegment.copy(spill, spillStart, grown, 0, spillEnd - spillStart);
            spillEnd -= spillStart;
            spillStart = 0;
            spill = grown;
        } else if (spillStart > 0) {
            java.lang.foreign.MemorySegment.copy(spill, spillStart, spill, 0, spillEnd - spillStart);
            spillEnd -= spillStart;
            spillStart = 0;
        }
        while (keptCount > 0) {
            int length = firstLength();
            java.lang.foreign.MemorySegment.copy(buffers.data(), buffers.offset(firstBuffer()) + firstOffset(), spill, spillEnd, length);
            spillEnd += length;
            buffers.recycle(consumed(length));
        }
        return freed;
    }

    /** Copies spilled bytes into {@code op}; how many it took. */
    int fillFromSpill(RingTransfer op) {
        if (spillEnd == spillStart) return 0;
        int n = op.fill(spill, spillStart, spillEnd - spillStart);
        spillStart += Math.max(0, n);
        if (spillStart == spillEnd) spillStart = spillEnd = 0;
        return n;
    }

    int keptCount() {
        return keptCount;
    }

    private int at(int i) {
        return 3 * ((keptHead + i) % (kept.length / 3));
    }

    /** Keeps {@code length} bytes of buffer {@code bid}, after what is kept. */
    void keep(int bid, int length) {
        if (keptCount * 3 == kept.length) {
            int[] grown = new int[kept.length * 2];
            for (int i = 0; i < keptCount; i++) System.arraycopy(kept, at(i), grown, 3 * i, 3);
            kept = grown;
            keptHead = 0;
        }
        int at = at(keptCount++);
        kept[at] = bid;
        kept[at + 1] = 0;
        kept[at + 2] = length;
    }

    int firstBuffer() {
        return kept[at(0)];
    }

    int firstOffset() {
        return kept[at(0) + 1];
    }

    int firstLength() {
        return kept[at(0) + 2];
    }

    /**
     * {@code n} bytes of the first chunk were copied out; returns its buffer id if that used it up
     * (the caller gives the buffer back), else -1.
     */
    int consumed(int n) {
        int at = at(0);
        if (n < kept[at + 2]) {
            kept[at + 1] += n;
            kept[at + 2] -= n;
            return -1;
        }
        int bid = kept[at];
        keptHead = (keptHead + 1) % (kept.length / 3);
        keptCount--;
        return bid;
    }

    /** Drops every kept byte, giving its buffer back to {@code buffers}. */
    void dropKept(BufferRing buffers) {
        while (keptCount > 0) buffers.recycle(consumed(Integer.MAX_VALUE));
        spill = null;
        spillStart = spillEnd = 0;
    }

    @Override
    public String toString() {
        return "RingStream[fd " + fd + ", " + keptCount + " chunks kept" + (reading ? ", reading" : "")
                + (writing ? ", writing" : "") + "]";
    }
}
