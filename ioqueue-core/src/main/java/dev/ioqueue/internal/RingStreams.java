package dev.ioqueue.internal;

import dev.ioqueue.PrematureCloseError;
import dev.ioqueue.SyscallException;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Uring;
import java.util.Arrays;
import java.util.Collection;

/**
 * Completion I/O on one queue's ring: per fd, one multishot read into the provided buffers, whose
 * bytes are kept in arrival order until a read operation copies them out (so a cancelled read
 * loses nothing: the bytes wait for the next one), and one write at a time, re-submitted until a
 * full write is done. Operations complete in the loop's run step, never inside the wait.
 *
 * <p>A CQE names its request by user data: kind (2 bits), a sequence number (30 bits: the fd's
 * generation for reads, its write count for writes), the fd (32 bits). {@link #forget} advances
 * the generation, so what an older request still posts is recognised and dropped (its buffer given
 * back). Owner thread only.
 */
public final class RingStreams {
    static final long KIND_READ = 1L << 62;
    static final long KIND_WRITE = 2L << 62;
    static final long KIND_CANCEL = 3L << 62;
    private static final long KIND_MASK = 3L << 62;
    private static final int SEQ_MASK = (1 << 30) - 1;
    /** Kept buffers per fd before its read is paused (cancelled, re-armed when a read drains them). */
    private int maxKept;

    private final Ring ring;
    private final FixedFiles fixed;
    private final java.util.function.Supplier<BufferRing> bufferSource;
    private BufferRing buffers; // made by the first read: a queue that only waits for readiness holds none
    private final Dropped dropped = new Dropped();
    private Stream[] streams = new Stream[64];
    private Stream[] ready = new Stream[64];
    private int readyHead;
    private int readyTail;
    private Stream[] starved = new Stream[8];
    private int starvedCount;
    private int inFlight;
    private int waiting;

    RingStreams(Ring ring, FixedFiles fixed, java.util.function.Supplier<BufferRing> bufferSource) {
        this.ring = ring;
        this.fixed = fixed;
        this.bufferSource = bufferSource;
    }

    private BufferRing buffers() {
        if (buffers == null) {
            buffers = bufferSource.get();
            maxKept = Math.max(2, buffers.count() / 8);
        }
        return buffers;
    }

    /** One fd's completion I/O state; kept while the number is in use here. */
    private static final class Stream {
        final int fd;
        /** Its fixed-file slot (a Handle's fd), or -1: requests name the fd itself. */
        int slot = -1;
        boolean slotTried;
        int generation = 1;
        boolean reading; // a multishot read is in flight (until its CQE without MORE)
        boolean pausing; // its cancel is asked for
        boolean eof;
        int error; // errno of a failed read, until a read reports it
        boolean unsupported; // the kernel refused a multishot read here: readiness serves this fd
        int[] kept = new int[12]; // (bid, offset, length) triples
        int keptHead;
        int keptCount;
        RingTransfer reader;
        RingTransfer writer;
        int writeSeq;
        boolean writing;
        /** A cancelled write the kernel may still read from: kept reachable until its CQE. */
        RingTransfer abandoned;
        int abandonedSeq;
        boolean writeDone;
        int writeError;
        boolean queued;

        Stream(int fd) {
            this.fd = fd;
        }

        int at(int i) {
            return 3 * ((keptHead + i) % (kept.length / 3));
        }
    }

    private Stream stream(int fd) {
        if (fd >= streams.length) streams = Arrays.copyOf(streams, Math.max(fd + 1, streams.length * 2));
        Stream s = streams[fd];
        if (s == null) streams[fd] = s = new Stream(fd);
        return s;
    }

    private Stream find(int fd) {
        return fd < streams.length ? streams[fd] : null;
    }

    // ---- starting and cancelling operations ----

    /** Whether an operation for {@code kind} (0 read, 1 write) is pending on {@code fd} here. */
    public boolean hasOperation(int fd, int kind) {
        Stream s = find(fd);
        return s != null && (kind == 0 ? s.reader != null : kind == 1 && s.writer != null);
    }

    /** {@link #startRead}: the ring took the read. */
    public static final int STARTED = 0;
    /** {@link #startRead}: nothing is kept and no ring read runs: try the syscall first, then start again without. */
    public static final int TRY_FIRST = 1;
    /** {@link #startRead}: the ring cannot read this fd; wait for readiness. */
    public static final int NOT_ON_RING = 2;

    /**
     * Starts a read: completed now (when {@code inPlace} and bytes, end-of-file or an error are
     * kept), else when the ring brings them. With {@code tryFirst} and no ring read running, the
     * caller tries the syscall itself first (a ready fd then costs no ring round trip): see
     * {@link #TRY_FIRST}.
     */
    public int startRead(int fd, RingTransfer op, boolean inPlace, boolean tryFirst) {
        Stream s = stream(fd);
        if (s.unsupported) return NOT_ON_RING;
        boolean kept = s.keptCount > 0 || s.eof || s.error != 0;
        if (!kept && !s.reading && tryFirst) return TRY_FIRST;
        s.reader = op;
        waiting++;
        if (kept) {
            if (inPlace) deliverRead(s);
            else enqueue(s);
        } else if (!s.reading) {
            arm(s);
        }
        return STARTED;
    }

    /** Starts a write of what {@code op} holds; it completes when the ring has written it (all of it, for a full write). */
    public void startWrite(int fd, RingTransfer op) {
        Stream s = stream(fd);
        s.writer = op;
        s.writeDone = false;
        s.writeError = 0;
        waiting++;
        submitWrite(s);
    }

    /** Withdraws {@code op}; a read's bytes stay kept, a write in flight is cancelled. Whether it was pending. */
    public boolean cancel(int fd, RingTransfer op) {
        Stream s = find(fd);
        if (s == null) return false;
        if (s.reader == op) {
            s.reader = null;
            waiting--;
            return true;
        }
        if (s.writer == op) {
            s.writer = null;
            waiting--;
            if (s.writing) abandonWrite(s, op);
            return true;
        }
        return false;
    }

    /**
     * Drops all kept of {@code fd} (its bytes, its operations, told through {@code into}) and
     * cancels its requests, waiting until the kernel let go of the file, so a close that follows
     * really closes it. Whether an operation was pending.
     */
    public boolean forget(int fd, Dropped into) {
        Stream s = find(fd);
        if (s == null) return false;
        boolean had = false;
        if (s.reader != null) {
            into.add(fd, s.reader.dropHandle());
            s.reader = null;
            waiting--;
            had = true;
        }
        boolean cancelled = false;
        if (s.writer != null) {
            into.add(fd, s.writer.dropHandle());
            if (s.writing) {
                abandonWrite(s, s.writer);
                cancelled = true;
            }
            s.writer = null;
            waiting--;
            had = true;
        }
        if (s.reading) {
            cancelRequest(KIND_READ, s.generation, fd);
            cancelled = true;
        }
        s.generation = (s.generation + 1) & SEQ_MASK; // what the old requests still post is stale now
        s.reading = false;
        while (s.keptCount > 0) popKept(s);
        s.eof = false;
        s.error = 0;
        s.unsupported = false;
        s.pausing = false;
        s.writeDone = false;
        if (buffers != null) buffers.publish();
        if (cancelled) ring.enter(0, -1); // runs the cancellations: the requests release the file now
        if (s.slot >= 0) fixed.give(s.slot); // and the table lets go of it too
        s.slot = -1;
        s.slotTried = false;
        return had;
    }

    /** Operations waiting for the ring. */
    public int waiting() {
        return waiting;
    }

    /** Requests in the kernel (reads armed, writes), which the loop must sleep in the ring for. */
    int inFlight() {
        return inFlight;
    }

    // ---- requests ----

    /** The fd a request names: a Handle's fd gets a fixed-file slot on first use. */
    private int target(Stream s) {
        if (!s.slotTried) {
            s.slotTried = true;
            if (HandleFds.contains(s.fd)) s.slot = fixed.take(s.fd);
        }
        return s.slot;
    }

    /** Writes the SQE's fd (or fixed slot) and flags. */
    private void address(long sqe, Stream s, byte flags) {
        int slot = target(s);
        if (slot >= 0) {
            ring.sqes().set(java.lang.foreign.ValueLayout.JAVA_INT, sqe + Uring.SQE_FD, slot);
            flags |= Uring.SQE_FIXED_FILE;
        }
        ring.sqes().set(java.lang.foreign.ValueLayout.JAVA_BYTE, sqe + Uring.SQE_FLAGS, flags);
    }

    private void arm(Stream s) {
        if (buffers().available() == 0) {
            starve(s);
            return;
        }
        long sqe = ring.nextSqe();
        ring.prep(sqe, Uring.OP_READ_MULTISHOT, s.fd, 0, 0, 0, KIND_READ | ((long) s.generation << 32) | (s.fd & 0xFFFF_FFFFL));
        address(sqe, s, Uring.SQE_BUFFER_SELECT);
        ring.sqes().set(java.lang.foreign.ValueLayout.JAVA_SHORT, sqe + Uring.SQE_BUF_GROUP, (short) buffers.groupId);
        s.reading = true;
        inFlight++;
    }

    private void submitWrite(Stream s) {
        s.writeSeq = (s.writeSeq + 1) & SEQ_MASK;
        long sqe = ring.nextSqe();
        ring.prep(sqe, Uring.OP_WRITE, s.fd, s.writer.sourceAddress(), s.writer.sourceLength(), -1L,
                KIND_WRITE | ((long) s.writeSeq << 32) | (s.fd & 0xFFFF_FFFFL));
        address(sqe, s, (byte) 0);
        s.writing = true;
        inFlight++;
    }

    private void cancelRequest(long kind, int seq, int fd) {
        long sqe = ring.nextSqe();
        ring.prep(sqe, Uring.OP_ASYNC_CANCEL, -1, kind | ((long) seq << 32) | (fd & 0xFFFF_FFFFL), 0, 0, KIND_CANCEL);
        ring.sqes().set(java.lang.foreign.ValueLayout.JAVA_BYTE, sqe + Uring.SQE_FLAGS, Uring.SQE_CQE_SKIP_SUCCESS);
    }

    /** Cancels the write in flight; its CQE is stale from now on, its buffer kept until then. */
    private void abandonWrite(Stream s, RingTransfer op) {
        cancelRequest(KIND_WRITE, s.writeSeq, s.fd);
        s.abandoned = op;
        s.abandonedSeq = s.writeSeq;
        s.writing = false;
        s.writeSeq = (s.writeSeq + 1) & SEQ_MASK;
    }

    private void starve(Stream s) {
        for (int i = 0; i < starvedCount; i++) if (starved[i] == s) return;
        if (starvedCount == starved.length) starved = Arrays.copyOf(starved, starvedCount * 2);
        starved[starvedCount++] = s;
    }

    /** Re-arms the reads that waited for buffers, once some came back. */
    private void feedStarved() {
        if (buffers == null) return;
        if (!buffers.publish() && buffers.available() == 0) return;
        int n = starvedCount;
        starvedCount = 0;
        for (int i = 0; i < n; i++) {
            Stream s = starved[i];
            starved[i] = null;
            if (s.reader != null && !s.reading && s.keptCount == 0 && !s.eof && s.error == 0) arm(s);
        }
    }

    // ---- completions (called by the poller while it reaps, so only state changes here) ----

    /** Whether {@code userData} is one of this engine's requests. */
    static boolean owns(long userData) {
        return (userData & KIND_MASK) != 0;
    }

    void onCqe(long userData, int res, int flags) {
        long kind = userData & KIND_MASK;
        if (kind == KIND_CANCEL) return; // failed cancels: the request had finished already
        int fd = (int) userData;
        int seq = (int) (userData >>> 32) & SEQ_MASK;
        Stream s = find(fd);
        boolean more = (flags & Uring.CQE_F_MORE) != 0;
        if (kind == KIND_READ) {
            boolean buffer = (flags & Uring.CQE_F_BUFFER) != 0;
            if (buffer) buffers.taken();
            if (!more) inFlight--;
            if (s == null || seq != s.generation) { // a forgotten file's read: give its buffer back
                if (buffer) buffers.recycle(flags >>> Uring.CQE_BUFFER_SHIFT);
                return;
            }
            onRead(s, res, flags, more);
        } else {
            inFlight--;
            if (s != null && s.abandoned != null && seq == s.abandonedSeq) s.abandoned = null;
            if (s == null || seq != s.writeSeq || !s.writing) return; // cancelled or forgotten
            onWrite(s, res);
        }
    }

    private void onRead(Stream s, int res, int flags, boolean more) {
        if (!more) {
            s.reading = false;
            s.pausing = false;
        }
        if (res > 0) {
            keep(s, flags >>> Uring.CQE_BUFFER_SHIFT, res);
            if (s.reading && !s.pausing && s.keptCount >= maxKept) {
                s.pausing = true;
                cancelRequest(KIND_READ, s.generation, s.fd);
            }
        } else if (res == 0) {
            s.eof = true;
        } else if (res == -Errno.ENOBUFS || res == -Errno.ECANCELED || res == -Errno.EAGAIN || res == -Errno.EINTR) {
            if (res == -Errno.ENOBUFS) starve(s);
        } else if (res == -Errno.EINVAL || res == -Errno.EOPNOTSUPP || res == -Errno.EBADFD) {
            s.unsupported = true; // not a stream the ring can read (a regular file?): readiness serves it
            s.error = -res;
        } else {
            s.error = -res;
        }
        if (s.reader != null) {
            if (s.keptCount > 0 || s.eof || s.error != 0) enqueue(s);
            else if (!s.reading && res != -Errno.ENOBUFS) arm(s);
        }
    }

    private void onWrite(Stream s, int res) {
        s.writing = false;
        RingTransfer w = s.writer;
        if (w == null) return;
        if (res == -Errno.EAGAIN || res == -Errno.EINTR) {
            submitWrite(s);
            return;
        }
        if (res < 0) {
            s.writeError = -res;
        } else {
            w.wrote(res);
            if (w.wantsMore() && res > 0) {
                submitWrite(s);
                return;
            }
        }
        s.writeDone = true;
        enqueue(s);
    }

    private void keep(Stream s, int bid, int length) {
        if (s.keptCount * 3 == s.kept.length) {
            int[] grown = new int[s.kept.length * 2];
            for (int i = 0; i < s.keptCount; i++) System.arraycopy(s.kept, s.at(i), grown, 3 * i, 3);
            s.kept = grown;
            s.keptHead = 0;
        }
        int at = s.at(s.keptCount++);
        s.kept[at] = bid;
        s.kept[at + 1] = 0;
        s.kept[at + 2] = length;
    }

    private void popKept(Stream s) {
        buffers.recycle(s.kept[s.at(0)]);
        s.keptHead = (s.keptHead + 1) % (s.kept.length / 3);
        s.keptCount--;
    }

    private void enqueue(Stream s) {
        if (s.queued) return;
        s.queued = true;
        if (readyTail == ready.length) {
            int n = readyTail - readyHead;
            if (readyHead > 0) System.arraycopy(ready, readyHead, ready, 0, n);
            else ready = Arrays.copyOf(ready, ready.length * 2);
            Arrays.fill(ready, n, readyTail, null);
            readyHead = 0;
            readyTail = n;
        }
        ready[readyTail++] = s;
    }

    // ---- the loop's run step ----

    public boolean isEmpty() {
        return readyHead == readyTail;
    }

    /** Completes the operations whose bytes or results came; returns how many. A throw leaves the rest for next time. */
    public int run() {
        int ran = 0;
        try {
            while (readyHead != readyTail) {
                Stream s = ready[readyHead];
                ready[readyHead++] = null;
                if (readyHead == readyTail) readyHead = readyTail = 0;
                s.queued = false;
                ran += complete(s);
            }
        } finally {
            feedStarved();
        }
        return ran;
    }

    /** Hands the due completions out as tasks (for {@code poll}); returns how many. */
    public int drain(Collection<? super Runnable> out) {
        int n = 0;
        while (readyHead != readyTail) {
            Stream s = ready[readyHead];
            ready[readyHead++] = null;
            if (readyHead == readyTail) readyHead = readyTail = 0;
            s.queued = false;
            int generation = s.generation;
            Runnable task = () -> {
                if (s.generation == generation) {
                    complete(s);
                    feedStarved();
                }
            };
            out.add(task);
            n++;
        }
        return n;
    }

    private int complete(Stream s) {
        int ran = 0;
        if (s.writer != null && s.writeDone) {
            RingTransfer w = s.writer;
            s.writer = null;
            s.writeDone = false;
            waiting--;
            ran++;
            int error = s.writeError;
            s.writeError = 0;
            if (error != 0) w.fail(new SyscallException("write", s.fd, error));
            else w.complete(false);
        }
        if (s.reader != null && (s.keptCount > 0 || s.eof || s.error != 0)) {
            ran++;
            deliverRead(s);
        }
        return ran;
    }

    /** Copies kept bytes into the reader; completes it unless it wants more and more may come. */
    private void deliverRead(Stream s) {
        RingTransfer op = s.reader;
        boolean took = false;
        while (s.keptCount > 0 && op.wantsMore()) {
            int at = s.at(0);
            int bid = s.kept[at];
            int offset = s.kept[at + 1];
            int length = s.kept[at + 2];
            int n = op.fill(buffers.data(), buffers.offset(bid) + offset, length);
            if (n <= 0) break;
            took = true;
            if (n == length) popKept(s);
            else {
                s.kept[at + 1] = offset + n;
                s.kept[at + 2] = length - n;
            }
        }
        if (op.wantsMore() && !s.eof && s.error == 0) {
            if (!s.reading && !s.unsupported) arm(s);
            return; // a full read waits for the rest
        }
        s.reader = null;
        waiting--;
        int error = s.error;
        if (error != 0 && !took) {
            s.error = 0;
            if (s.unsupported) op.retryByReadiness(); // the ring cannot read this fd; readiness can
            else op.fail(new SyscallException("read", s.fd, error));
        } else {
            op.complete(s.eof);
        }
    }

    /** Drops every operation (told through {@code into}) and cancels every request; the ring drains before it is freed. */
    void close(Dropped into) {
        for (Stream s : streams) {
            if (s == null) continue;
            if (s.reader != null) into.add(s.fd, s.reader.dropHandle());
            if (s.writer != null) into.add(s.fd, s.writer.dropHandle());
            s.reader = null;
            s.writer = null;
        }
        waiting = 0;
    }
}
