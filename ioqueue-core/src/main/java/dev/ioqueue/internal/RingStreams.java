package dev.ioqueue.internal;

import dev.ioqueue.PrematureCloseError;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.SocketCalls;
import dev.ioqueue.internal.os.Unistd;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Collection;
import java.util.function.Supplier;

/**
 * Completion I/O on one queue's ring: per stream fd (pipe, FIFO, stream socket), one multishot read
 * whose bytes are kept in order until a read operation copies them out ({@link RingReads}: a
 * cancelled read loses nothing), and one write at a time ({@link RingWrites}). Here: the fds'
 * {@link RingStream}s, CQE dispatch, the queue of streams with completions due (run in the loop's
 * run step, never inside the wait), forgetting an fd, and staleness: a number closed through the
 * library anywhere advances its epoch ({@link RingFds}), and state made under an older epoch
 * belongs to the old file.
 *
 * <p>{@link #forget} advances the fd's generation, so what an older request still posts is
 * recognised ({@link RingRequests} names requests) and dropped, its buffer given back. Owner thread
 * only.
 */
public final class RingStreams {
    /** {@link #startRead}/{@link #startWrite}: the ring took the operation. */
    public static final int STARTED = 0;
    /** {@link #startRead}: nothing is kept and no ring read runs: try the syscall first, then start again without. */
    public static final int TRY_FIRST = 1;
    /** The ring does not move this fd's bytes: wait for readiness. */
    public static final int NOT_ON_RING = 2;

    private final Ring ring;
    private final RingReads reads;
    private final RingWrites writes;
    private RingStream[] streams = new RingStream[64];
    private RingStream[] ready = new RingStream[64];
    private int readyHead;
    private int readyTail;
    /** Requests in the kernel (reads armed, writes): the loop must sleep in the ring for them. */
    int inFlight;
    /** Operations waiting for the ring. */
    int waiting;
    /** Operations of numbers found closed elsewhere while the loop reaped: told at the next run step. */
    private final Dropped staleDrops = new Dropped();
    private Throwable staleFailure;

    RingStreams(Ring ring, FixedFiles fixed, Supplier<BufferRing> bufferSource, Runnable reaper) {
        this.ring = ring;
        RingRequests requests = new RingRequests(ring, fixed);
        this.reads = new RingReads(this, requests, bufferSource);
        this.writes = new RingWrites(this, ring, requests, reaper);
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

    /** Every stream slot (null where none), for a scan. */
    RingStream[] all() {
        return streams;
    }

    // ---- operations ----

    /**
     * Before a wait or an operation for {@code event} on {@code fd}: raises the premature close if
     * the ring's state of it went stale ({@link #staleCheck}), and refuses a second READ or WRITE
     * (one waiter per fd and event per thread, ring operations included).
     */
    public void checkBeforeUse(int fd, dev.ioqueue.ReadyEvent event, Thread owner, Dropped dropped) {
        Throwable stale = staleCheck(fd, dropped);
        if (stale != null || !dropped.isEmpty()) Failures.rethrow(dropped.tell(stale));
        if (hasOperation(fd, event.ordinal())) {
            throw new IllegalStateException("fd " + fd + " already has a " + event + " operation in the io_uring of thread "
                    + owner.getName() + ": one waiter per fd and event per thread");
        }
    }

    /** Whether an operation for {@code kind} (0 read, 1 write) is pending on {@code fd} here. */
    public boolean hasOperation(int fd, int kind) {
        RingStream s = find(fd);
        return s != null && (kind == 0 ? s.reader != null : kind == 1 && s.writer != null);
    }

    /**
     * Starts a read: completed now (when {@code inPlace} and bytes, end-of-file or an error are
     * kept), else when the ring brings them. With {@code tryFirst} and no ring read running, the
     * caller tries the syscall itself first (a ready fd then costs no ring round trip): see
     * {@link #TRY_FIRST}. A throw leaves nothing started.
     */
    public int startRead(int fd, RingTransfer op, boolean inPlace, boolean tryFirst) {
        RingStream s = stream(fd);
        if (s.fresh()) s.epoch = RingFds.epoch(fd);
        return isStream(s) ? reads.start(s, op, inPlace, tryFirst) : NOT_ON_RING;
    }

    /** Arms the fd's multishot read with no read waiting (its bytes are kept for the next one), if none runs. */
    public void readAhead(int fd) {
        RingStream s = find(fd);
        if (s != null && s.kind == RingStream.STREAM) reads.readAhead(s);
    }

    /**
     * Starts a write of what {@code op} holds; it completes when the ring has written it (all of
     * it, for a full write). A throw (the buffer's arena closed, the ring full) leaves nothing started.
     */
    public int startWrite(int fd, RingTransfer op) {
        RingStream s = stream(fd);
        if (s.fresh()) s.epoch = RingFds.epoch(fd);
        if (!isStream(s)) return NOT_ON_RING;
        writes.start(s, op);
        return STARTED;
    }

    /**
     * Whether the ring may move this fd's bytes: a pipe or FIFO, or a stream socket (asked once per
     * number). Anything else keeps its own read sizes (a datagram, an eventfd's 8 bytes, a tty's
     * line), which a multishot read into fixed-size buffers would split or merge: it waits for
     * readiness and reads with the caller's own buffer.
     */
    private static boolean isStream(RingStream s) {
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
        if (s.reader == op) return reads.cancel(s, op);
        return s.writer == op && writes.cancel(s, op);
    }

    /**
     * Drops all kept of {@code fd} (its bytes, its operations, told through {@code into}) and
     * cancels its requests, waiting until the kernel let go of the file, so a close that follows
     * really closes it. Whether an operation was pending.
     */
    public boolean forget(int fd, Dropped into) {
        RingStream s = find(fd);
        if (s == null) return false;
        boolean had = s.reader != null || s.writer != null;
        boolean cancelled = writes.forget(s, into);
        cancelled |= reads.forget(s, into);
        s.generation = (s.generation + 1) & RingRequests.SEQ_MASK; // what the old reads still post is stale now
        s.eof = false;
        s.error = 0;
        s.unsupported = false;
        s.kind = RingStream.UNKNOWN; // the number's next file may be of another kind
        if (cancelled) ring.enter(0, -1); // runs the cancellations: the requests release the file now
        reads.requests().release(s); // and the fixed-file table lets go of it too
        RingFds.outOfRing(fd);
        return had;
    }

    /** Operations waiting for the ring. */
    public int waiting() {
        return waiting;
    }

    int inFlight() {
        return inFlight;
    }

    // ---- staleness ----

    /**
     * Before a new wait or operation on {@code fd}: if the number was closed through the library
     * since its state here was made (on any thread), that state belongs to the old file: forgets
     * it, telling its operations through {@code into}, and returns a {@link PrematureCloseError} if
     * any waited (else null).
     */
    public Throwable staleCheck(int fd, Dropped into) {
        RingStream s = find(fd);
        if (s == null) return null;
        int epoch = RingFds.epoch(fd);
        if (epoch == s.epoch) return null;
        Throwable failure = null;
        if (!s.fresh() && forget(fd, into)) {
            failure = new PrematureCloseError(fd, "found when it was used again (closed elsewhere while ring operations waited on it)");
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
    void staleAtReap(RingStream s) {
        int epoch = RingFds.epoch(s.fd);
        if (forget(s.fd, staleDrops)) {
            staleFailure = Failures.add(staleFailure, new PrematureCloseError(s.fd,
                    "found while polling (closed elsewhere while ring operations waited on it)"));
        }
        s.epoch = epoch;
    }

    /** Tells the operations of numbers found closed elsewhere, and raises the premature close. */
    private void tellStale() {
        if (staleDrops.isEmpty() && staleFailure == null) return;
        Throwable failure = staleFailure;
        staleFailure = null;
        Failures.rethrow(staleDrops.tell(failure));
    }

    // ---- completions (called by the poller while it reaps, so only state changes here) ----

    /** Whether {@code userData} is one of this engine's requests. */
    static boolean owns(long userData) {
        return (userData & RingRequests.KIND_MASK) != 0;
    }

    void onCqe(long userData, int res, int flags) {
        long kind = userData & RingRequests.KIND_MASK;
        if (kind == RingRequests.KIND_CANCEL) { // failed cancels (the request had finished already), and synchronous ones
            if (userData == RingRequests.SYNC_CANCEL) writes.cancelled(res);
            return;
        }
        int fd = (int) userData;
        int seq = RingRequests.seq(userData);
        RingStream s = find(fd);
        if (kind == RingRequests.KIND_WRITE) {
            writes.onCqe(s, seq, res);
            return;
        }
        boolean current = s != null && seq == s.generation;
        boolean closed = current && RingFds.epoch(fd) != s.epoch;
        reads.onCqe(s, current && !closed, res, flags);
        if (closed) staleAtReap(s);
    }

    void enqueue(RingStream s) {
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

    private RingStream dequeue() {
        RingStream s = ready[readyHead];
        ready[readyHead++] = null;
        if (readyHead == readyTail) readyHead = readyTail = 0;
        s.queued = false;
        return s;
    }

    // ---- the loop's run step ----

    /** Whether nothing is due: no completion, no dropped operation to tell. */
    public boolean isEmpty() {
        return readyHead == readyTail && staleDrops.isEmpty() && staleFailure == null;
    }

    /** Completes the operations whose bytes or results came; returns how many. A throw leaves the rest for next time. */
    public int run() {
        int ran = 0;
        try {
            tellStale();
            while (readyHead != readyTail) ran += complete(dequeue());
        } finally {
            reads.feedStarved();
        }
        return ran;
    }

    /** Before the loop sleeps: a read that waited for buffers must not wait for a wake-up that never comes. */
    void beforeWait() {
        reads.feedStarved();
    }

    /** Just before the loop enters the ring: see {@link RingReads#beforeEnter}. */
    void beforeEnter() {
        reads.beforeEnter();
    }

    /** Hands the due completions out as tasks (for {@code poll}); returns how many. */
    public int drain(Collection<? super Runnable> out) {
        tellStale();
        int n = 0;
        while (readyHead != readyTail) {
            RingStream s = dequeue();
            int generation = s.generation;
            Runnable task = () -> {
                if (s.generation != generation) return; // forgotten meanwhile: its operations were told
                try {
                    complete(s);
                } finally {
                    reads.feedStarved();
                }
            };
            out.add(task);
            n++;
        }
        reads.feedStarved(); // handed-out completions may never run: starved reads must not wait for them
        return n;
    }

    /** Completes what is due on {@code s}; if a completion throws, what is still due stays queued. */
    private int complete(RingStream s) {
        int ran = 0;
        try {
            if (writes.complete(s)) ran++;
            if (s.reader != null && s.readable()) {
                ran++;
                reads.deliver(s);
            }
        } finally {
            if ((s.writer != null && s.writeDone) || (s.reader != null && s.readable())) enqueue(s);
        }
        return ran;
    }

    /** Drops every operation (told through {@code into}); the poller then cancels every request and drains the ring. */
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
