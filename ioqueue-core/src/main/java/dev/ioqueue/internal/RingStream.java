package dev.ioqueue.internal;

/**
 * One fd's completion I/O state on a ring ({@link RingStreams}): its requests in flight, its
 * pending operations, and the bytes its multishot read brought before a read asked, kept in
 * arrival order as (buffer id, offset, length) chunks of the provided buffers. Lives while the
 * number is in use on the queue. Owner thread only.
 */
final class RingStream {
    final int fd;
    /** Its fixed-file slot (a Handle's fd), or -1: requests name the fd itself. */
    int slot = -1;
    boolean slotTried;
    /** Names its reads in user data; advanced when the fd is forgotten, so older CQEs are stale. */
    int generation = 1;
    /** A multishot read is in flight (until its CQE without MORE). */
    boolean reading;
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
    boolean writeDone;
    int writeError;
    /** A cancelled write the kernel may still read from: kept reachable until its CQE. */
    RingTransfer abandoned;
    int abandonedSeq;
    /** In the queue of streams with completions due. */
    boolean queued;

    private int[] kept = new int[12]; // (bid, offset, length) triples, a circular queue
    private int keptHead;
    private int keptCount;

    RingStream(int fd) {
        this.fd = fd;
    }

    /** Whether a read would complete now: bytes kept, end-of-file, or an error to report. */
    boolean readable() {
        return keptCount > 0 || eof || error != 0;
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

    /** Drops every kept chunk, giving its buffer back to {@code buffers}. */
    void dropKept(BufferRing buffers) {
        while (keptCount > 0) buffers.recycle(consumed(Integer.MAX_VALUE));
    }

    @Override
    public String toString() {
        return "RingStream[fd " + fd + ", " + keptCount + " chunks kept" + (reading ? ", reading" : "")
                + (writing ? ", writing" : "") + "]";
    }
}
