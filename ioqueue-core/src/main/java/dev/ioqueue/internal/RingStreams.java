package dev.ioqueue.internal;

import dev.ioqueue.SyscallException;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.SocketCalls;
import dev.ioqueue.internal.os.Unistd;
import dev.ioqueue.internal.os.Uring;
import java.lang.foreign.MemorySegment;
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
    /** The kernel refused the provided buffers: every read on this queue waits for readiness. */
    private boolean readsOff;
    /** Reaps the ring's CQEs (the poller's), for a synchronous cancel. */
    private final Runnable reaper;
    private int syncCancelResult;
    /** Operations of numbers found closed elsewhere while the loop reaped: told at the next run step. */
    private final Dropped staleDrops = new Dropped();
    private Throwable staleFailure;

    RingStreams(Ring ring, FixedFiles fixed, java.util.function.Supplier<BufferRing> bufferSource, Runnable reaper) {
        this.ring = ring;
        this.reaper = reaper;
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

    /**
     * Before a new wait or operation on {@code fd}: if the number was closed through the library
     * since its state here was made (on any thread), that state belongs to the old file: forgets
     * it, telling its operations through {@code into}, and returns a {@link dev.ioqueue.PrematureCloseError}
     * if any waited (else null).
     */
    public Throwable staleCheck(int fd, Dropped into) {
        RingStream s = find(fd);
        if (s == null) return null;
        int epoch = RingFds.epoch(fd);
        if (epoch == s.epoch) return null;
        Throwable failure = null;
        if (!s.fresh() && forget(fd, into)) {
            failure = new dev.ioqueue.PrematureCloseError(fd, "found when it was used again (closed elsewhere while ring operations waited on it)");
        }
        s.epoch = epoch;
        return failure;
    }

    /** A nudge came (a number some ring uses was closed elsewhere): forgets every stream made stale. */
    void checkEpochs() {
        for (RingStream s : streams) {
            if (s != null && !s.fresh() && RingFds.epoch(s.fd) != s.epoch) staleAtReap(s);
        }
    }

    /** Forgets a stream found stale while reaping; its operations are told at the next run step. */
    private void staleAtReap(RingStream s) {
        int epoch = RingFds.epoch(s.fd);
        if (forget(s.fd, staleDrops)) {
            staleFailure = Failures.add(staleFailure, new dev.ioqueue.PrematureCloseError(s.fd,
                    "found while polling (closed elsewhere while ring operations waited on it)"));
        }
        s.epoch = epoch;
    }

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
        if (s.fresh()) s.epoch = RingFds.epoch(fd);
        if (s.unsupported || readsOff || !isStream(s)) return NOT_ON_RING;
        boolean kept = s.readable();
        if (!kept && !s.reading && tryFirst) return TRY_FIRST;
        if (!kept && !s.reading) {
            try {
                buffers(); // made by the first read; if the kernel refuses them, reads wait for readiness
            } catch (SyscallException refused) {
                readsOff = true;
                return NOT_ON_RING;
            }
        }
        s.reader = op;
        waiting++;
        try {
            if (kept) {
                if (inPlace) deliverRead(s);
                else enqueue(s);
            } else if (!s.reading) {
                arm(s);
            }
        } catch (RuntimeException | Error e) {
            if (s.reader == op) {
                s.reader = null;
                waiting--;
            }
            throw e;
        }
        return STARTED;
    }

    /**
     * Starts a write of what {@code op} holds; it completes when the ring has written it (all of
     * it, for a full write). A throw (the buffer's arena closed, the ring full) leaves nothing started.
     */
    public int startWrite(int fd, RingTransfer op) {
        RingStream s = stream(fd);
        if (s.fresh()) s.epoch = RingFds.epoch(fd);
        if (!isStream(s)) return NOT_ON_RING;
        long address = op.sourceAddress();
        int length = op.sourceLength();
        s.writer = op;
        s.writeDone = false;
        s.writeError = 0;
        s.writeFailure = null;
        waiting++;
        try {
            submitWrite(s, address, length);
        } catch (RuntimeException | Error e) {
            s.writer = null;
            waiting--;
            throw e;
        }
        return STARTED;
    }

    /**
     * Whether the ring may move this fd's bytes: a pipe or FIFO, or a stream socket (asked once per
     * number). Anything else keeps its own read sizes (a datagram, an eventfd's 8 bytes, a tty's
     * line), which a multishot read into fixed-size buffers would split or merge: it waits for
     * readiness and reads with the caller's own buffer.
     */
    private boolean isStream(RingStream s) {
        if (s.kind == RingStream.UNKNOWN) {
            MemorySegment errno = Native.threadErrno();
            boolean stream = Unistd.fcntl(s.fd, Unistd.F_GETPIPE_SZ, errno) >= 0
                    || SocketCalls.intOption(s.fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_TYPE, errno) == SocketCalls.SOCK_STREAM;
            s.kind = stream ? RingStream.STREAM : RingStream.OTHER;
        }
        return s.kind == RingStream.STREAM;
    }

    /**
     * Withdraws {@code op}; whether it was pending and is no more. A read's bytes stay kept for the
     * next read. A write the kernel has not been given is turned into a no-op; one in flight is
     * cancelled synchronously (one {@code io_uring_enter}), and if the kernel already wrote it (or
     * is writing it), the withdrawal fails and the write completes as usual.
     */
    public boolean cancel(int fd, RingTransfer op) {
        RingStream s = find(fd);
        if (s == null) return false;
        if (s.reader == op) {
            s.reader = null;
            waiting--;
            return true;
        }
        if (s.writer != op) return false;
        if (s.writeDone || (s.writing && !withdrawWrite(s, op))) return false; // written: it completes
        s.writer = null;
        waiting--;
        return true;
    }

    /** Stops the write in flight before it runs; false if the kernel ran it (or runs it) already. */
    private boolean withdrawWrite(RingStream s, RingTransfer op) {
        if (!ring.withdraw(s.writeSqe)) {
            syncCancelResult = Integer.MIN_VALUE;
            requests.cancelReporting(KIND_WRITE, s.writeSeq, s.fd);
            s.withdrawing = true; // its ECANCELED, if it comes now, is no failure
            try {
                ring.enter(0, -1);
                reaper.run(); // the cancel's CQE, and the write's if it finished
            } finally {
                s.withdrawing = false;
            }
            if (syncCancelResult != 0) return false; // ENOENT: written already; EALREADY: being written
            if (!s.writing) return true; // its ECANCELED came already
        }
        s.abandoned = op; // the kernel may read its buffer until the write's CQE
        s.abandonedSeq = s.writeSeq;
        s.writing = false;
        s.writeSeq = (s.writeSeq + 1) & SEQ_MASK;
        return true;
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
            if (s.writing && !ring.withdraw(s.writeSqe)) {
                abandonWrite(s, s.writer);
                cancelled = true;
            } else if (s.writing) {
                s.writing = false; // a no-op now; its CQE is stale
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
        s.kind = RingStream.UNKNOWN; // the number's next file may be of another kind
        s.pausing = false;
        s.writeDone = false;
        if (buffers != null) buffers.publish();
        if (cancelled) ring.enter(0, -1); // runs the cancellations: the requests release the file now
        requests.release(s); // and the fixed-file table lets go of it too
        RingFds.outOfRing(fd);
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
        if (buffers().available() == 0 && !relieve()) {
            starve(s);
            return;
        }
        requests.read(s, buffers.groupId);
        RingFds.inRing(s.fd);
        s.reading = true;
        inFlight++;
    }

    private void submitWrite(RingStream s, long address, int length) {
        s.writeSeq = (s.writeSeq + 1) & SEQ_MASK;
        s.writeSqe = requests.write(s, address, length);
        RingFds.inRing(s.fd);
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

    /**
     * The provided buffers ran out: copies every fd's kept bytes into the heap and gives their
     * buffers back, and pauses the reads nobody waits on (so an fd nobody reads cannot take them
     * all again, and its peer feels the back-pressure). Whether any buffer came back.
     */
    private boolean relieve() {
        int freed = 0;
        for (RingStream s : streams) {
            if (s == null || s.keptCount() == 0) continue;
            freed += s.spill(buffers);
            if (s.reader == null && s.reading && !s.pausing) {
                s.pausing = true;
                requests.cancel(KIND_READ, s.generation, s.fd);
            }
        }
        return buffers.publish() && freed > 0;
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
            if (s.reader != null && !s.reading && !s.readable()) arm(s);
        }
    }

    // ---- completions (called by the poller while it reaps, so only state changes here) ----

    /** Whether {@code userData} is one of this engine's requests. */
    static boolean owns(long userData) {
        return (userData & RingRequests.KIND_MASK) != 0;
    }

    void onCqe(long userData, int res, int flags) {
        long kind = userData & RingRequests.KIND_MASK;
        if (kind == KIND_CANCEL) { // failed cancels (the request had finished already), and synchronous ones
            if (userData == RingRequests.SYNC_CANCEL) syncCancelResult = res;
            return;
        }
        int fd = (int) userData;
        int seq = RingRequests.seq(userData);
        RingStream s = find(fd);
        boolean more = (flags & Uring.CQE_F_MORE) != 0;
        if (kind == KIND_READ) {
            boolean buffer = (flags & Uring.CQE_F_BUFFER) != 0;
            if (buffer) buffers.taken();
            if (!more) inFlight--;
            if (s == null || seq != s.generation || RingFds.epoch(fd) != s.epoch) { // a forgotten or closed file's read
                if (buffer) buffers.recycle(flags >>> Uring.CQE_BUFFER_SHIFT);
                if (s != null && seq == s.generation) {
                    if (!more) s.reading = false;
                    staleAtReap(s);
                }
                return;
            }
            onRead(s, res, flags, more);
        } else {
            inFlight--;
            if (s != null && s.abandoned != null && seq == s.abandonedSeq) s.abandoned = null;
            if (s == null || seq != s.writeSeq || !s.writing) return; // cancelled or forgotten
            if (RingFds.epoch(fd) != s.epoch) {
                s.writing = false;
                staleAtReap(s);
                return;
            }
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
            if (res == -Errno.ENOBUFS && !relieve()) starve(s);
        } else if (res == -Errno.EINVAL || res == -Errno.EOPNOTSUPP || res == -Errno.EBADFD) {
            s.unsupported = true; // not a stream the ring can read (a regular file?): readiness serves it
            s.error = -res;
        } else {
            s.error = -res;
        }
        if (s.reader != null) {
            if (s.readable()) enqueue(s);
            else if (!s.reading) arm(s);
        }
    }

    private void onWrite(RingStream s, int res) {
        s.writing = false;
        if (s.withdrawing && res == -Errno.ECANCELED) return; // withdrawn: cancel() ends it
        RingTransfer w = s.writer;
        if (w == null) return;
        if (res >= 0) w.wrote(res);
        else if (res != -Errno.EAGAIN && res != -Errno.EINTR) s.writeError = -res;
        if (s.writeError == 0 && ((res > 0 && w.wantsMore()) || res < 0)) {
            try {
                submitWrite(s, w.sourceAddress(), w.sourceLength()); // the rest, or again
                return;
            } catch (RuntimeException e) {
                s.writeFailure = e; // its buffer's arena closed meanwhile
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
        return readyHead == readyTail && staleDrops.isEmpty() && staleFailure == null;
    }

    /** Tells the operations of numbers found closed elsewhere, and raises the premature close. */
    private void tellStale() {
        if (staleDrops.isEmpty() && staleFailure == null) return;
        Throwable failure = staleFailure;
        staleFailure = null;
        Failures.rethrow(staleDrops.tell(failure));
    }

    /** Completes the operations whose bytes or results came; returns how many. A throw leaves the rest for next time. */
    public int run() {
        int ran = 0;
        try {
            tellStale();
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
        tellStale();
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
            RuntimeException failure = s.writeFailure;
            s.writeError = 0;
            s.writeFailure = null;
            if (failure != null) w.fail(failure);
            else if (error != 0) w.fail(new SyscallException("write", s.fd, error));
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
        while (op.wantsMore()) { // spilled bytes are older than the chunks
            int n = s.fillFromSpill(op);
            if (n <= 0) break;
            took = true;
        }
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
