package dev.ioqueue.internal.uring;

import dev.ioqueue.internal.base.Failures;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.SocketCalls;
import dev.ioqueue.internal.os.Unistd;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Collection;

/**
 * Completion I/O on one queue's ring, for owned fds only: per stream fd (pipe, FIFO, stream
 * socket), one multishot read whose bytes are kept in order until a read operation copies them out
 * ({@link RingReads}: a cancelled read loses nothing), and one write at a time ({@link RingWrites}).
 * Here: the open {@link RingStream}s, CQE dispatch through the request table
 * ({@link RingRequests}: user data names a request, never an fd), the queue of streams with
 * completions due (run in the loop's run step, never inside the wait), and closing a stream only
 * once the kernel has let go of every request on it.
 *
 * <p>Made by the loop on its poller's ring, which hands it every CQE but its own. Owner thread only.
 */
public final class RingEngine implements UringPoller.CompletionSink {
    /** {@link #startRead}/{@link #startWrite}: the ring took the operation. */
    public static final int STARTED = 0;
    /** {@link #startRead}: nothing is kept and no ring read runs: try the syscall first, then start again without. */
    public static final int TRY_FIRST = 1;
    /** The ring does not move this fd's bytes: wait for readiness. */
    public static final int NOT_ON_RING = 2;

    private final RingRequests requests;
    private final RingReads reads;
    private final RingWrites writes;
    private RingStream[] open = new RingStream[16];
    private int openCount;
    /**
     * What streams released while completions were taken run ({@link #requestEnded}): later, where
     * user code may run (it closes the fd and completes what waits on that).
     */
    private final java.util.ArrayDeque<Runnable> releases = new java.util.ArrayDeque<>();
    private final DueStreams due = new DueStreams();
    /** Operations waiting for the ring. */
    int waiting;
    private final RingCounters counters;
    private final UringPoller poller;
    /** Told the fd of a stream whose ring kept bytes (or an end) with no read waiting for them. */
    private java.util.function.IntConsumer keptWithoutReader = fd -> {};

    public RingEngine(UringPoller poller) {
        this.counters = poller.counters();
        this.poller = poller;
        this.requests = new RingRequests(poller.ring(), poller.fixedFiles());
        this.reads = new RingReads(this, requests, poller);
        this.writes = new RingWrites(this, requests, poller);
        poller.setSink(this);
    }

    /**
     * Tells {@code sink} (on the owner thread, while completions are taken) the fd of each stream
     * whose ring read bytes, an end of file or an error with no read waiting: the ring took what
     * the OS would have reported readable, so the queue wakes the fd's readiness waiter itself.
     */
    public void onKeptWithoutReader(java.util.function.IntConsumer sink) {
        keptWithoutReader = sink;
    }

    /**
     * Where what a write's completion throws goes when it runs out of turn, inside another call (a
     * second write's submit, a close): not out of that call, which goes on, but to {@code sink}
     * (the loop, which rethrows it as it would the completion's throw in its run step).
     */
    public void onSettledFailure(java.util.function.Consumer<Throwable> sink) {
        writes.onSettledFailure(sink);
    }

    void keptWithoutReader(RingStream s) {
        keptWithoutReader.accept(s.fd);
    }

    // ---- streams ----

    /** A stream for the owned fd {@code fd}; the caller keeps it with the fd until {@link #close}. */
    public RingStream open(int fd) {
        RingStream s = new RingStream(fd, counters);
        if (openCount == open.length) open = Arrays.copyOf(open, openCount * 2);
        s.index = openCount;
        open[openCount++] = s;
        return s;
    }

    int openCount() {
        return openCount;
    }

    RingStream openStream(int i) {
        return open[i];
    }

    private void removeOpen(RingStream s) {
        int i = s.index;
        if (i < 0) return;
        RingStream last = open[--openCount];
        open[i] = last;
        last.index = i;
        open[openCount] = null;
        s.index = -1;
    }

    /**
     * Closes {@code s}: its operations are dropped (told after the engine's state is consistent),
     * its kept bytes given back, its requests cancelled; once the kernel has finished the last of
     * them, its fixed-file slot is given back and {@code released} runs (at once if none was in
     * flight). Until then the caller must not close the fd. What the dropped operations threw is
     * added to {@code failure} ({@link Failures#add}: one close's failures lie flat on its first, as
     * epoll's do) and returned, after every one was told.
     */
    public Throwable close(RingStream s, Runnable released, Throwable failure) {
        if (s.closing) return failure;
        s.closing = true;
        s.released = released;
        RingOp reader = reads.forget(s);
        RingOp writer = writes.forget(s);
        failure = tellDropped(writer, reader, failure);
        if (s.requests == 0) {
            try {
                finish(s);
            } catch (Throwable t) {
                failure = Failures.add(failure, t);
            }
        }
        return failure;
    }

    /**
     * Drops the operations of {@code s} (its fd is unregistered, not closed): a read's bytes stay
     * kept, a write in flight is withdrawn (one {@code io_uring_enter}) unless the kernel wrote it,
     * and then completes. Each dropped one is told {@code dropped}, after the state is consistent.
     */
    public void dropOperations(RingStream s) {
        RingOp reader = s.reader;
        if (reader != null) reads.cancel(s, reader);
        RingOp writer = s.writer;
        // Withdrawn for sure, or it completes: a write the kernel made (or makes) reports its bytes,
        // as epoll's in-place write did, instead of being told dropped and sent again.
        if (writer != null && !writes.cancel(s, writer)) writer = null;
        Failures.rethrow(tellDropped(writer, reader, null));
    }

    /** Tells each not null, the write first, then the read, as epoll tells an fd's waiters; returns {@code failure} with what they threw added. */
    private static Throwable tellDropped(RingOp writer, RingOp reader, Throwable failure) {
        try {
            if (writer != null) writer.ringDropped();
        } catch (Throwable t) {
            failure = Failures.add(failure, t);
        }
        try {
            if (reader != null) reader.ringDropped();
        } catch (Throwable t) {
            failure = Failures.add(failure, t);
        }
        return failure;
    }

    /**
     * A request of {@code s} ended (a CQE is being handled); a closing stream whose last one it was
     * is let go of, and its {@code released} (which closes the fd and completes what waits on that,
     * user code) waits for {@link #runReleases}: no user code runs while CQEs are taken, nor inside
     * a library call that reaps on its way (a cancel, a settled write).
     */
    void requestEnded(RingStream s) {
        if (s.closing && s.requests == 0) {
            Runnable released = let(s);
            if (released != null) releases.add(released);
        }
    }

    /**
     * Runs what streams released meanwhile run, each once, whatever another threw; returns
     * {@code failure} with what they threw added. The loop's run step calls it, a close that waited
     * for its stream's requests, and the queue's close. Owner thread.
     */
    public Throwable runReleases(Throwable failure) {
        Runnable released;
        while ((released = releases.poll()) != null) {
            try {
                released.run();
            } catch (Throwable t) {
                failure = Failures.add(failure, t);
            }
        }
        return failure;
    }

    private void finish(RingStream s) {
        Runnable released = let(s);
        if (released != null) released.run();
    }

    /** Lets go of {@code s}'s place and fixed-file slot; returns what must run now that it is released. */
    private Runnable let(RingStream s) {
        removeOpen(s);
        requests.releaseSlot(s);
        Runnable released = s.released;
        s.released = null;
        return released;
    }

    /**
     * A second write is asked for while {@code s}'s write is with the ring (a write made inside an
     * I/O completion goes there at once): submits what is queued and reaps, one
     * {@code io_uring_enter}; if that write is then done, it completes now, as an in-place write
     * would have before the second one came, so two writes in a row behave as on epoll. Whether
     * no write is pending now (if one still is, the fd would block: the second is refused, as on
     * epoll).
     */
    public boolean settleWrite(RingStream s) {
        return writes.settle(s);
    }

    /**
     * Before a close made on the owner thread: lets every write queued since the last
     * {@code io_uring_enter} (made inside an I/O completion, so not yet given to the kernel) go out, one
     * {@code io_uring_enter}, and completes those written, as epoll wrote them in place before the
     * close came (a completion may so act on the fd about to close, or on another, while both are
     * open). Their completions' own writes are settled in turn, up to the depth of
     * {@link #settleWrite}. A write the fd cannot take stays pending, as on epoll. What a
     * completion throws goes to {@link #onSettledFailure}; the others still complete.
     */
    public void settleStaged() {
        writes.settleStaged();
    }

    /**
     * A round ends with a throw: the writes made in its completions are given to the kernel now
     * (their completions come in a later round), so their bytes leave as epoll's in-place writes
     * did, even if the loop never runs again. A failure to submit is suppressed onto {@code thrown}.
     */
    public void submitStaged(Throwable thrown) {
        writes.submitStaged(thrown);
    }

    // ---- operations ----

    /**
     * Starts a read: completed now (when {@code inPlace} and bytes, end-of-file or an error are
     * kept), else when the ring brings them. With {@code tryFirst} and no ring read running, the
     * caller tries the syscall itself first (a ready fd then costs no ring round trip): see
     * {@link #TRY_FIRST}. A throw leaves nothing started.
     */
    public int startRead(RingStream s, RingOp op, boolean inPlace, boolean tryFirst) {
        return isStream(s) ? reads.start(s, op, inPlace, tryFirst) : NOT_ON_RING;
    }

    /** Arms the stream's multishot read with no read waiting (its bytes are kept for the next one), if none runs. */
    public void readAhead(RingStream s) {
        if (s.kind == RingStream.STREAM) reads.readAhead(s);
    }

    /**
     * Starts a write of what {@code op} holds; it completes when the ring has written it (all of
     * it, for a full write). A throw (the buffer's arena closed, the ring full) leaves nothing started.
     */
    public int startWrite(RingStream s, RingOp op) {
        if (!isStream(s)) return NOT_ON_RING;
        writes.start(s, op);
        return STARTED;
    }

    /**
     * Whether the ring may move this fd's bytes: a pipe or FIFO, or a stream socket (asked once per
     * stream). Anything else keeps its own read sizes (a datagram, an eventfd's 8 bytes, a tty's
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
    public boolean cancel(RingStream s, RingOp op) {
        if (s.reader == op) return reads.cancel(s, op);
        return s.writer == op && writes.cancel(s, op);
    }

    /** What the ring has done, for the queue's statistics. */
    public RingCounters counters() {
        return counters;
    }

    /** Operations waiting for the ring. */
    public int waiting() {
        return waiting;
    }

    // ---- completions (called by the poller while it reaps, so only state changes here) ----

    @Override
    public boolean expectsCompletions() {
        return requests.live() > 0;
    }

    @Override
    public void complete(long userData, int res, int flags) {
        if (userData == RingRequests.SYNC_CANCEL) {
            writes.cancelled(res);
            return;
        }
        RingRequest r = requests.find(userData);
        if (r == null) return; // a failed cancel's CQE: the request had finished already
        if (r.kind == RingRequest.WRITE) writes.onCqe(r, res);
        else reads.onCqe(r, res, flags);
    }

    void enqueue(RingStream s) {
        due.add(s);
    }

    // ---- the loop's run step ----

    /** Whether no completion (nor release) is due. */
    public boolean isEmpty() {
        return due.isEmpty() && releases.isEmpty();
    }

    /** Runs the releases, then completes the operations whose bytes or results came; returns how many. A throw leaves the rest for next time. */
    public int run() {
        if (!releases.isEmpty()) Failures.rethrow(runReleases(null));
        int ran = 0;
        try {
            while (!due.isEmpty()) ran += complete(due.take());
        } finally {
            reads.feedStarved();
        }
        return ran;
    }

    /** Before the loop sleeps: a read that waited for buffers must not wait for a wake-up that never comes. */
    public void beforeWait() {
        reads.feedStarved();
    }

    /** Runs the releases (a close must not wait for a task nobody runs), then hands the due completions out as tasks (for {@code poll}); returns how many. */
    public int drain(Collection<? super Runnable> out) {
        if (!releases.isEmpty()) Failures.rethrow(runReleases(null));
        int n = 0;
        while (!due.isEmpty()) {
            RingStream s = due.take();
            Runnable task = () -> {
                if (s.closing) return; // closed meanwhile: its operations were told
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
            counters.delivered += ran;
        } finally {
            if ((s.writer != null && s.writeDone) || (s.reader != null && s.readable())) enqueue(s);
        }
        return ran;
    }
}
