package dev.ioqueue.internal;

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
 * <p>{@link #forget} advances the fd's generation, so what an older request still posts is
 * recognised ({@link RingRequests} names requests) and dropped, its buffer given back. Owner thread
 * only.
 */
public final class RingStreams {
    private static final long KIND_READ = RingRequests.KIND_READ;
    private static final long KIND_WRITE = RingRequests.KIND_WRITE;
    private static final long KIND_CANCEL = RingRequests.KIND_CANCEL;
    private static final int SEQ_MASK = RingRequests.SEQ_MASK;
    /** Kept buffers per fd before its read is paused (cancelled, re-armed when a read drains them). */
    private int maxKept;

    private final Ring ring;
    private final RingRequests requests;
    private final java.util.function.Supplier<BufferRing> bufferSource;
    private BufferRing buffers; // made by the first read: a queue that only waits for readiness holds none
    private RingStream[] streams = new RingStream[64];
    private RingStream[] ready = new RingStream[64];
    private int readyHead;
    private int readyTail;
    private RingStream[] starved = new RingStream[8];
    private int starvedCount;
    private int inFlight;
    private int waiting;

    RingStreams(Ring ring, FixedFiles fixed, java.util.function.Supplier<BufferRing> bufferSource) {
        this.ring = ring;
        this.requests = new RingRequests(ring, fixed);
        this.bufferSource = bufferSource;
    }

    private BufferRing buffers() {
        if (buffers == null) {
            buffers = bufferSource.get();
            maxKept = Math.max(2, buffers.count() / 8);
        }
        return buffers;
    }

    private RingStream stream(int fd) {
        if (fd >= streams.length) streams = Arrays.copyOf(streams, Math.max(fd + 1, streams.length * 2));
        RingStream s = streams[fd];
        if (s == null) streams[fd] = s = new RingStream(fd);
        return s;
    }

    private RingStream find(int fd) {
        return fd < streams.length ? streams[fd] : null;
    }

    // ---- starting and cancelling operations ----

    /** Whether an operation for {@code kind} (0 read, 1 write) is pending on {@code fd} here. */
    public boolean hasOperation(int fd, int kind) {
        RingStream s = find(fd);
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
        RingStream s = stream(fd);
        if (s.unsupported) return NOT_ON_RING;
        boolean kept = s.readable();
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
        RingStream s = stream(fd);
        s.writer = op;
        s.writeDone = false;
        s.writeError = 0;
        waiting++;
        submitWrite(s);
    }

    /** Withdraws {@code op}; a read's bytes stay kept, a write in flight is cancelled. Whether it was pending. */
    public boolean cancel(int fd, RingTransfer op) {
        RingStream s = find(fd);
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
        RingStream s = find(fd);
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
            requests.cancel(KIND_READ, s.generation, fd);
            cancelled = true;
        }
        s.generation = (s.generation + 1) & SEQ_MASK; // what the old requests still post is stale now
        s.reading = false;
        if (buffers != null) s.dropKept(buffers);
        s.eof = false;
        s.error = 0;
        s.unsupported = false;
        s.pausing = false;
        s.writeDone = false;
        if (buffers != null) buffers.publish();
        if (cancelled) ring.enter(0, -1); // runs the cancellations: the requests release the file now
        requests.release(s); // and the fixed-file table lets go of it too
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

    private void arm(RingStream s) {
        if (buffers().available() == 0) {
            starve(s);
            return;
        }
        requests.read(s, buffers.groupId);
        s.reading = true;
        inFlight++;
    }

    private void submitWrite(RingStream s) {
        s.writeSeq = (s.writeSeq + 1) & SEQ_MASK;
        requests.write(s, s.writer.sourceAddress(), s.writer.sourceLength());
        s.writing = true;
        inFlight++;
    }

    /** Cancels the write in flight; its CQE is stale from now on, its buffer kept until then. */
    private void abandonWrite(RingStream s, RingTransfer op) {
        requests.cancel(KIND_WRITE, s.writeSeq, s.fd);
        s.abandoned = op;
        s.abandonedSeq = s.writeSeq;
        s.writing = false;
        s.writeSeq = (s.writeSeq + 1) & SEQ_MASK;
    }

    private void starve(RingStream s) {
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
            RingStream s = starved[i];
            starved[i] = null;
            if (s.reader != null && !s.reading && s.keptCount() == 0 && !s.eof && s.error == 0) arm(s);
        }
    }

    // ---- completions (called by the poller while it reaps, so only state changes here) ----

    /** Whether {@code userData} is one of this engine's requests. */
    static boolean owns(long userData) {
        return (userData & RingRequests.KIND_MASK) != 0;
    }

    void onCqe(long userData, int res, int flags) {
        long kind = userData & RingRequests.KIND_MASK;
        if (kind == KIND_CANCEL) return; // failed cancels: the request had finished already
        int fd = (int) userData;
        int seq = RingRequests.seq(userData);
        RingStream s = find(fd);
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

    private void onRead(RingStream s, int res, int flags, boolean more) {
        if (!more) {
            s.reading = false;
            s.pausing = false;
        }
        if (res > 0) {
            s.keep(flags >>> Uring.CQE_BUFFER_SHIFT, res);
            if (s.reading && !s.pausing && s.keptCount() >= maxKept) {
                s.pausing = true;
                requests.cancel(KIND_READ, s.generation, s.fd);
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
            if (s.readable()) enqueue(s);
            else if (!s.reading && res != -Errno.ENOBUFS) arm(s);
        }
    }

    private void onWrite(RingStream s, int res) {
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

    private void enqueue(RingStream s) {
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
                RingStream s = ready[readyHead];
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
            RingStream s = ready[readyHead];
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

    private int complete(RingStream s) {
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
        if (s.reader != null && (s.readable())) {
            ran++;
            deliverRead(s);
        }
        return ran;
    }

    /** Copies kept bytes into the reader; completes it unless it wants more and more may come. */
    private void deliverRead(RingStream s) {
        RingTransfer op = s.reader;
        boolean took = false;
        while (s.keptCount() > 0 && op.wantsMore()) {
            int n = op.fill(buffers.data(), buffers.offset(s.firstBuffer()) + s.firstOffset(), s.firstLength());
            if (n <= 0) break;
            took = true;
            int used = s.consumed(n);
            if (used >= 0) buffers.recycle(used);
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
        for (RingStream s : streams) {
            if (s == null) continue;
            if (s.reader != null) into.add(s.fd, s.reader.dropHandle());
            if (s.writer != null) into.add(s.fd, s.writer.dropHandle());
            s.reader = null;
            s.writer = null;
        }
        waiting = 0;
    }
}
