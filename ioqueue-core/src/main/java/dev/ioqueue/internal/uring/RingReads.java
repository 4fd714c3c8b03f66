package dev.ioqueue.internal.uring;

import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Uring;
import java.util.Arrays;

/**
 * The read half of {@link RingEngine}: one multishot read per stream into the provided buffers,
 * its bytes kept in order until a read operation copies them out; a read paused (cancelled) when a
 * stream keeps too much; when the buffers run out, kept bytes copied to the heap and reads nobody
 * waits on paused, so unread fds cannot starve the others. Owner thread only.
 */
final class RingReads {
    private final RingEngine engine;
    private final RingRequests requests;
    private final UringPoller poller;
    private BufferRing buffers; // made by the first read: a queue that only waits for readiness holds none
    /**
     * How much a stream keeps before its read is paused (re-armed when a read drains it): whole
     * buffers, a chunk each; buffers used in parts, bytes (an eighth of the buffers' bytes), since
     * small chunks share a buffer and pin only their bytes.
     */
    private int maxKept;
    private long maxKeptBytes;
    /** The kernel refused the provided buffers: every read on this queue waits for readiness. */
    private boolean off;
    private RingStream[] starved = new RingStream[8];
    private int starvedCount;

    RingReads(RingEngine engine, RingRequests requests, UringPoller poller) {
        this.engine = engine;
        this.requests = requests;
        this.poller = poller;
    }

    /** Starts a read; {@link RingEngine#startRead} says what the results mean. */
    int start(RingStream s, RingOp op, boolean inPlace, boolean tryFirst) {
        if (s.unsupported || off) return RingEngine.NOT_ON_RING;
        boolean kept = s.readable();
        if (!kept && s.read == null && tryFirst) return RingEngine.TRY_FIRST;
        if (!kept && s.read == null && !haveBuffers()) return RingEngine.NOT_ON_RING;
        s.reader = op;
        engine.waiting++;
        try {
            if (kept) {
                if (inPlace) deliver(s);
                else engine.enqueue(s);
            } else if (s.read == null) {
                arm(s);
            }
        } catch (RuntimeException | Error e) {
            if (s.reader == op) {
                s.reader = null;
                engine.waiting--;
            }
            throw e;
        }
        return RingEngine.STARTED;
    }

    /** Arms {@code s}'s read with no reader (its bytes are kept for the next one), unless one runs or the stream ended. */
    void readAhead(RingStream s) {
        if (s.read != null || s.eof || s.error != 0 || s.unsupported || s.closing || off || !haveBuffers()) return;
        arm(s);
    }

    /** Whether the provided buffers exist, made by the first read; if the kernel refuses them, reads wait for readiness on this queue. */
    private boolean haveBuffers() {
        if (buffers != null) return true;
        try {
            buffers = poller.buffers();
            maxKept = Math.max(2, buffers.count() / 8);
            maxKeptBytes = (long) maxKept * buffers.size;
            return true;
        } catch (RuntimeException refused) {
            off = true;
            return false;
        }
    }

    private void arm(RingStream s) {
        if (buffers.available() == 0) {
            starve(s); // re-armed once the run step gave buffers back (or spilled kept bytes)
            return;
        }
        s.read = requests.read(s, buffers.groupId);
        s.publish();
    }

    /** Withdraws the pending read {@code op}: its bytes stay kept for the next read. */
    boolean cancel(RingStream s, RingOp op) {
        if (s.reader != op) return false;
        s.reader = null;
        engine.waiting--;
        return true;
    }

    /** The stream closes: gives its read up and drops its kept bytes; returns its reader (to be told), or null. */
    RingOp forget(RingStream s) {
        RingOp reader = s.reader;
        if (reader != null) {
            s.reader = null;
            engine.waiting--;
        }
        if (s.read != null) {
            requests.cancel(s.read);
            s.read = null;
        }
        s.pausing = false;
        if (buffers != null) {
            s.dropKept(buffers);
            buffers.publish();
        }
        s.publish();
        return reader;
    }

    /** A CQE of read request {@code r}. */
    void onCqe(RingRequest r, int res, int flags) {
        RingStream s = r.stream;
        boolean more = (flags & Uring.CQE_F_MORE) != 0;
        boolean buffer = (flags & Uring.CQE_F_BUFFER) != 0;
        int bid = flags >>> Uring.CQE_BUFFER_SHIFT;
        int start = buffer ? buffers.filled(bid, res, flags) : 0;
        boolean live = !r.cancelled();
        if (!more) {
            if (s.read == r) {
                s.read = null;
                s.pausing = false;
            }
            requests.release(r);
        }
        if (!live) { // given up (the stream closes, or a NOP now): its bytes are dropped
            if (buffer && res > 0) buffers.release(bid);
            if (!more) engine.requestEnded(s);
            return;
        }
        if (res > 0) {
            if (s.keepAfterLast(bid, start, res)) buffers.release(bid); // one chunk, one hold: this CQE's bytes follow the last ones
            else s.keep(bid, start, res);
            if (s.read != null && !s.pausing && keepsTooMuch(s)) pause(s);
        } else if (res == 0) {
            s.eof = true;
        } else if (res == -Errno.ENOBUFS) {
            starve(s);
        } else if (res == -Errno.EINVAL || res == -Errno.EOPNOTSUPP || res == -Errno.EBADFD) {
            s.unsupported = true; // the ring cannot read this fd: readiness serves it
            s.error = -res;
        } else if (res != -Errno.ECANCELED && res != -Errno.EAGAIN && res != -Errno.EINTR) {
            s.error = -res;
        }
        if (s.reader != null) {
            if (s.readable()) engine.enqueue(s);
            else if (s.read == null && res != -Errno.ENOBUFS) arm(s);
        } else if (res != -Errno.ENOBUFS && RingStream.keepsSomething(s)) {
            engine.keptWithoutReader(s); // read ahead: a readiness waiter would never hear of these bytes from the OS
        }
        s.publish();
    }

    private boolean keepsTooMuch(RingStream s) {
        return buffers.incremental ? s.keptInBuffers() >= maxKeptBytes : s.keptCount() >= maxKept;
    }

    private void pause(RingStream s) {
        s.pausing = true;
        requests.stop(s.read);
    }

    /** Copies kept bytes into the reader; completes it unless it wants more and more may come. */
    void deliver(RingStream s) {
        try {
            deliverKept(s);
        } finally {
            s.publish();
        }
    }

    private void deliverKept(RingStream s) {
        RingOp op = s.reader;
        RingTransfer t = op.transfer();
        boolean took = false;
        boolean unusable = false;
        try {
            // As much as its buffer takes of what is kept, as read(2) takes what the fd holds: a
            // read with room for 261 kept bytes gets them all, however many CQEs brought them.
            while (true) { // spilled bytes are older than the chunks
                int n = s.fillFromSpill(t);
                if (n <= 0) break;
                took = true;
            }
            while (s.keptCount() > 0) {
                int n = t.fill(buffers.data(), buffers.offset(s.firstBuffer()) + s.firstOffset(), s.firstLength());
                if (n <= 0) break;
                took = true;
                int used = s.consumed(n);
                if (used >= 0) buffers.release(used);
            }
        } catch (IllegalStateException | WrongThreadException e) {
            // The read's memory: its arena was closed (or it is confined to another thread) while it
            // waited. Nothing was copied by the failed fill: the bytes stay kept for the next read.
            if (!took) {
                s.reader = null;
                engine.waiting--;
                s.publish(); // before the reader hears of it: its thread may look at once
                op.ringAborted(e); // fails it with an IOException, as epoll's attempt does
                return;
            }
            unusable = true; // what it took completes it
        }
        if (!unusable && t.wantsMore() && !s.eof && s.error == 0) {
            if (s.read == null && !s.unsupported) arm(s);
            return; // a full read waits for the rest
        }
        s.reader = null;
        engine.waiting--;
        int error = s.error;
        if (error != 0 && !took) {
            s.error = 0;
            s.publish(); // before the reader hears of it: its thread may look at once
            if (s.unsupported) op.ringRetryByReadiness(); // the ring cannot read this fd; readiness can
            else op.ringFailed(error);
        } else {
            // End-of-file is told once, with this read's bytes or alone; the next read asks the
            // kernel again: it is a moment's state (a FIFO may get a new writer meanwhile).
            boolean endOfFile = s.eof;
            s.eof = false;
            s.publish(); // before the reader hears of it: its thread may look at once
            op.ringCompleted(endOfFile);
        }
    }

    /**
     * The provided buffers ran out: copies every stream's kept bytes into the heap, releasing their
     * buffers, and pauses the reads nobody waits on (so an fd nobody reads cannot take them all
     * again, and its peer feels the back-pressure). Whether any buffer came back.
     */
    private boolean relieve() {
        for (int i = 0; i < engine.openCount(); i++) {
            RingStream s = engine.openStream(i);
            if (s.keptCount() == 0) continue;
            s.spill(buffers);
            if (s.reader == null && s.read != null && !s.pausing) pause(s);
        }
        return buffers.publish();
    }

    private void starve(RingStream s) {
        if (s.starved) return; // a flag, not a scan: thousands of streams may starve in one round
        s.starved = true;
        if (starvedCount == starved.length) starved = Arrays.copyOf(starved, starvedCount * 2);
        starved[starvedCount++] = s;
    }

    /**
     * After a run step: publishes the buffers given back, and re-arms the reads that waited for
     * some. Buffers run short at times (every stream's bytes of one round held until the run step
     * copies them out); if none came back even so, kept bytes nobody takes hold them all, and only
     * then are they spilled ({@link #relieve}).
     */
    void feedStarved() {
        if (buffers == null) return;
        buffers.publish();
        if (starvedCount == 0) return;
        if (buffers.available() == 0 && !relieve()) return;
        int n = starvedCount;
        starvedCount = 0;
        for (int i = 0; i < n; i++) {
            RingStream s = starved[i];
            starved[i] = null;
            s.starved = false;
            if (s.reader != null && s.read == null && !s.readable() && !s.closing) arm(s);
        }
    }
}
