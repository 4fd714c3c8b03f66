package dev.ioqueue.internal.uring;

import java.lang.foreign.MemorySegment;

/**
 * One owned fd's completion I/O state on a ring ({@link RingEngine}): its pending operations, its
 * requests in flight, and the bytes its multishot read brought before a read asked, kept in
 * arrival order as (buffer id, offset, length) chunks of the provided buffers. Made when the fd's
 * first ring operation starts, and lives until the fd is closed: the number cannot name another
 * file meanwhile (its owner closes it only after {@link RingEngine#close} reported the kernel let
 * go), so nothing here needs to tell files apart. Owner thread only.
 */
public final class RingStream {
    static final int UNKNOWN = 0;
    static final int STREAM = 1;
    static final int OTHER = 2;

    final int fd;
    /** The ring's counters: this stream's kept bytes count in {@link RingCounters#keptBytes}. */
    private final RingCounters counters;
    /** What the fd's file is, as far as the ring cares: UNKNOWN until asked, STREAM, or OTHER. */
    int kind;
    /** Its fixed-file slot, or -1: requests name the fd itself. */
    int slot = -1;
    boolean slotTried;
    /** Its place in the engine's list of open streams. */
    int index = -1;
    /** Requests of this stream the kernel has not finished (in flight or cancelled). */
    int requests;
    /** The multishot read in flight, until its last CQE, or null. */
    RingRequest read;
    /** That read's cancel is asked for: too much is kept. */
    boolean pausing;
    boolean eof;
    /** Errno of a failed read, until a read reports it. */
    int error;
    /** The kernel refused a multishot read here: readiness serves this fd. */
    boolean unsupported;
    RingOp reader;
    RingOp writer;
    /** The write in flight, or null. */
    RingRequest write;
    /** A synchronous cancel of the write is under way. */
    boolean withdrawing;
    boolean writeDone;
    int writeError;
    /** What re-submitting the rest of a write threw (its buffer's arena closed meanwhile). */
    RuntimeException writeFailure;
    /** In the queue of streams with completions due. */
    boolean queued;
    /** In the list of streams whose read waits for provided buffers ({@link RingReads}). */
    boolean starved;
    /** Closing: its operations are gone, its requests cancelled; {@link #released} runs once the last one ends. */
    boolean closing;
    Runnable released;

    /** (bid, offset, length) triples, a circular queue of {@link #keptMask} + 1 (a power of two) triples. */
    private int[] kept = new int[3 * FIRST_CHUNKS];
    private int keptMask = FIRST_CHUNKS - 1;
    /** Room for this many chunks at first (a power of two; doubled when full). */
    private static final int FIRST_CHUNKS = 4;
    /** Older kept bytes copied out of the provided buffers when they ran short: read before the chunks. */
    private MemorySegment spill;
    private int spillStart;
    private int spillEnd;
    private int keptHead;
    private int keptCount;
    /** Kept bytes still in the provided buffers (not spilled). */
    private long inBuffers;

    RingStream(int fd, RingCounters counters) {
        this.fd = fd;
        this.counters = counters;
    }

    /** What the owner last published for a look from another thread: {@link #KEPT_BIT}, {@link #READING_BIT}, {@link #ERROR_BIT} (release/acquire). */
    @SuppressWarnings("unused") // through PUBLISHED
    private int published;

    /** {@link #readable()}: a read would complete now. */
    public static final int KEPT_BIT = 1;
    /** A ring read is armed: the kernel may take the fd's bytes before the owner has reaped them. */
    public static final int READING_BIT = 2;
    /** The ring's read took an error (a peer's reset...) kept for the next read: the fd's own ERROR is gone with it. */
    public static final int ERROR_BIT = 4;
    private static final java.lang.invoke.VarHandle PUBLISHED;

    static {
        try {
            PUBLISHED = java.lang.invoke.MethodHandles.lookup().findVarHandle(RingStream.class, "published", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Publishes what a look from another thread reads ({@link #lookState}): a store only when it changed. Owner thread. */
    void publish() {
        int now = (keeps() ? KEPT_BIT : 0) | (read != null ? READING_BIT : 0) | (failed() ? ERROR_BIT : 0);
        if (now != (int) PUBLISHED.get(this)) PUBLISHED.setRelease(this, now);
    }

    /**
     * Any thread: {@link #KEPT_BIT} and {@link #READING_BIT} as the owner last published them (after
     * each completion it took, each read it served, each ring read it armed).
     */
    public int lookState() {
        return (int) PUBLISHED.getAcquire(this);
    }

    /** Whether a read would complete now: bytes kept, end-of-file, or an error to report. */
    boolean readable() {
        return hasData() || eof || error != 0;
    }

    /**
     * Whether it keeps what the OS will not report again: bytes, an end of file, or an error (not
     * the ring's refusal of the fd, which readiness serves: the OS reports that fd as ever).
     */
    boolean keeps() {
        return hasData() || eof || failed();
    }

    /** Whether a read failed with an error its next read reports (the ring's refusal of the fd is not one). */
    private boolean failed() {
        return error != 0 && !unsupported;
    }

    /** Whether bytes are kept (in buffers or spilled). */
    boolean hasData() {
        return keptCount > 0 || spillEnd > spillStart;
    }

    /**
     * Copies every kept chunk into the heap, after what was spilled before, releasing its hold on
     * its buffer: the provided buffers ran short, and bytes nobody asked for must not keep other
     * fds' reads waiting.
     */
    void spill(BufferRing buffers) {
        if (keptCount == 0) return;
        long bytes = spillEnd - spillStart;
        for (int i = 0; i < keptCount; i++) bytes += kept[at(i) + 2];
        if (spill == null || spill.byteSize() < bytes) {
            MemorySegment grown = MemorySegment.ofArray(new byte[(int) Math.max(bytes, 2 * (spill == null ? 0 : spill.byteSize()))]);
            if (spillEnd > spillStart) MemorySegment.copy(spill, spillStart, grown, 0, spillEnd - spillStart);
            spillEnd -= spillStart;
            spillStart = 0;
            spill = grown;
        } else if (spillStart > 0) {
            MemorySegment.copy(spill, spillStart, spill, 0, spillEnd - spillStart);
            spillEnd -= spillStart;
            spillStart = 0;
        }
        while (keptCount > 0) {
            int length = firstLength();
            MemorySegment.copy(buffers.data(), buffers.offset(firstBuffer()) + firstOffset(), spill, spillEnd, length);
            spillEnd += length;
            buffers.release(take(length)); // still kept, now in the heap: the count stays
        }
    }

    /** Copies spilled bytes into {@code op}; how many it took. */
    int fillFromSpill(RingTransfer op) {
        if (spillEnd == spillStart) return 0;
        int n = op.fill(spill, spillStart, spillEnd - spillStart);
        spillStart += Math.max(0, n);
        counters.keptBytes -= Math.max(0, n);
        if (spillStart == spillEnd) spillStart = spillEnd = 0;
        return n;
    }

    int keptCount() {
        return keptCount;
    }

    /** Kept bytes still in the provided buffers (not spilled to the heap). */
    long keptInBuffers() {
        return inBuffers;
    }

    private int at(int i) {
        return 3 * ((keptHead + i) & keptMask); // a mask, not %: an idiv per look, several per read
    }

    /** Keeps {@code length} bytes of buffer {@code bid} from {@code offset}, after what is kept. */
    void keep(int bid, int offset, int length) {
        if (keptCount * 3 == kept.length) {
            int[] grown = new int[kept.length * 2];
            for (int i = 0; i < keptCount; i++) System.arraycopy(kept, at(i), grown, 3 * i, 3);
            kept = grown;
            keptMask = 2 * keptMask + 1;
            keptHead = 0;
        }
        int at = at(keptCount++);
        kept[at] = bid;
        kept[at + 1] = offset;
        kept[at + 2] = length;
        inBuffers += length;
        counters.keptBytes += length;
    }

    /**
     * Keeps {@code length} bytes of buffer {@code bid} from {@code offset} by growing the last kept
     * chunk, if they follow it in the same buffer (a buffer used in parts); whether they did.
     */
    boolean keepAfterLast(int bid, int offset, int length) {
        if (keptCount == 0) return false;
        int at = at(keptCount - 1);
        if (kept[at] != bid || kept[at + 1] + kept[at + 2] != offset) return false;
        kept[at + 2] += length;
        inBuffers += length;
        counters.keptBytes += length;
        return true;
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
     * (the caller releases its hold on the buffer), else -1.
     */
    int consumed(int n) {
        counters.keptBytes -= Math.min(n, firstLength());
        return take(n);
    }

    /** {@link #consumed} without counting: the bytes moved, they were not read. */
    private int take(int n) {
        int at = at(0);
        if (n < kept[at + 2]) {
            kept[at + 1] += n;
            kept[at + 2] -= n;
            inBuffers -= n;
            return -1;
        }
        inBuffers -= kept[at + 2];
        int bid = kept[at];
        keptHead = (keptHead + 1) & keptMask;
        keptCount--;
        return bid;
    }

    /** Drops every kept byte, releasing its hold on its buffer. */
    void dropKept(BufferRing buffers) {
        while (keptCount > 0) buffers.release(consumed(Integer.MAX_VALUE));
        counters.keptBytes -= spillEnd - spillStart;
        spill = null;
        spillStart = spillEnd = 0;
    }

    @Override
    public String toString() {
        return "RingStream[fd " + fd + ", " + keptCount + " chunks kept" + (read != null ? ", reading" : "")
                + (write != null ? ", writing" : "") + (closing ? ", closing" : "") + "]";
    }

    // ---- what the core asks of a handle's stream (null: none yet) ----

    /** Whether {@code s} keeps bytes, an end of file or an error for its next read ({@link #keeps}). */
    public static boolean keepsSomething(RingStream s) {
        return s != null && s.keeps();
    }

    /** Whether {@link RingEngine#close} was called for {@code s} and its requests have not all ended yet. */
    public static boolean releasing(RingStream s) {
        return s.closing && s.index >= 0;
    }

    /** The operation for {@code kind} (0 read, 1 write) pending on {@code s}, or null. */
    public static RingOp operation(RingStream s, int kind) {
        return s == null ? null : kind == 0 ? s.reader : kind == 1 ? s.writer : null;
    }

    /** Whether an operation for {@code kind} (0 read, 1 write) is pending on {@code s}. */
    public static boolean hasOperation(RingStream s, int kind) {
        return s != null && (kind == 0 ? s.reader != null : kind == 1 && s.writer != null);
    }
}
