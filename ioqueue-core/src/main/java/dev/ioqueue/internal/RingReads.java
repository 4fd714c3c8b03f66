package dev.ioqueue.internal;

import dev.ioqueue.SyscallException;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Uring;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * The read half of {@link RingStreams}: one multishot read per fd into the provided buffers, its
 * bytes kept in order until a read operation copies them out; a read paused (cancelled) when an fd
 * keeps too much; when the buffers run out, kept bytes copied to the heap and reads nobody waits
 * on paused, so unread fds cannot starve the others. Owner thread only.
 */
final class RingReads {
    private final RingStreams streams;
    private final RingRequests requests;
    private final Supplier<BufferRing> bufferSource;
    private BufferRing buffers; // made by the first read: a queue that only waits for readiness holds none
    /** Kept buffers per fd before its read is paused (re-armed when a read drains them). */
    private int maxKept;
    /** The kernel refused the provided buffers: every read on this queue waits for readiness. */
    private boolean off;
    private RingStream[] starved = new RingStream[8];
    private int starvedCount;
    /** Streams whose read was armed since the loop last entered the ring ({@link #beforeEnter}). */
    private RingStream[] armed = new RingStream[8];
    private int armedCount;

    RingReads(RingStreams streams, RingRequests requests, Supplier<BufferRing> bufferSource) {
        this.streams = streams;
        this.requests = requests;
        this.bufferSource = bufferSource;
    }

    RingRequests requests() {
        return requests;
    }

    /**
     * Starts a read on a stream fd; {@link RingStreams#startRead} says what the results mean.
     */
    int start(RingStream s, RingTransfer op, boolean inPlace, boolean tryFirst) {
        if (s.unsupported || off) return RingStreams.NOT_ON_RING;
        boolean kept = s.readable();
        if (!kept && !s.reading && tryFirst) return RingStreams.TRY_FIRST;
        if (!kept && !s.reading && !haveBuffers()) return RingStreams.NOT_ON_RING;
        s.reader = op;
        streams.waiting++;
        try {
            if (kept) {
                if (inPlace) deliver(s);
                else streams.enqueue(s);
            } else if (!s.reading) {
                arm(s);
            }
        } catch (RuntimeException | Error e) {
            if (s.reader == op) {
                s.reader = null;
                streams.waiting--;
            }
            throw e;
        }
        return RingStreams.STARTED;
    }

    /**
     * Arms {@code s}'s read with no reader, unless one runs, the stream ended, or buffers were
     * refused; only through a fixed-file slot ({@link RingRequests#boundSlot}). A request naming
     * the fd number binds whatever file the number names when the kernel takes the SQE, at the
     * next enter; with nothing pending, another thread may close the number and make it again
     * before that, and the read would swallow the new file's bytes as the old one's.
     */
    void readAhead(RingStream s) {
        if (s.reading || s.eof || s.error != 0 || s.unsupported || off || !requests.boundSlot(s) || !haveBuffers()) return;
        arm(s);
    }

    /** Whether the provided buffers exist, made by the first read; if the kernel refuses them, reads wait for readiness on this queue. */
    private boolean haveBuffers() {
        if (buffers != null) return true;
        try {
            buffers = bufferSource.get();
            maxKept = Math.max(2, buffers.count() / 8);
            return true;
        } catch (SyscallException refused) {
            off = true;
            return false;
        }
    }

    private void arm(RingStream s) {
        if (buffers.available() == 0) {
            starve(s); // re-armed once the run step gave buffers back (or spilled kept bytes)
            return;
        }
        s.readSqe = requests.read(s, buffers.groupId);
        RingFds.inRing(s.fd);
        s.reading = true;
        streams.inFlight++;
        if (armedCount == armed.length) armed = Arrays.copyOf(armed, armedCount * 2);
        armed[armedCount++] = s;
    }

    /**
     * Just before the loop enters the ring: a read armed since the last enter names its fd number,
     * which the kernel resolves now. If another thread closed the number meanwhile (and may have
     * made it again), the stream is stale: forgotten, its SQE withdrawn, before the kernel could
     * bind it to the number's next file.
     */
    void beforeEnter() {
        for (int i = 0; i < armedCount; i++) {
            RingStream s = armed[i];
            armed[i] = null;
            if (s.reading && RingFds.epoch(s.fd) != s.epoch) streams.staleAtReap(s);
        }
        armedCount = 0;
    }

    /** Withdraws the pending read {@code op}: its bytes stay kept for the next read. */
    boolean cancel(RingStream s, RingTransfer op) {
        if (s.reader != op) return false;
        s.reader = null;
        streams.waiting--;
        return true;
    }

    /** The fd is forgotten: drops its read and kept bytes; whether a cancel needs the ring entered. */
    boolean forget(RingStream s, Dropped into) {
        if (s.reader != null) {
            into.add(s.fd, s.reader.dropHandle());
            s.reader = null;
            streams.waiting--;
        }
        boolean cancel = s.reading && !requests.withdraw(s.readSqe); // not yet taken by the kernel: a NOP
        if (cancel) requests.cancel(RingRequests.KIND_READ, s.generation, s.fd);
        s.reading = false;
        s.pausing = false;
        if (buffers != null) {
            s.dropKept(buffers);
            buffers.publish();
        }
        return cancel;
    }

    /** A read CQE; {@code current}: of the stream's present generation and file. */
    void onCqe(RingStream s, boolean current, int res, int flags) {
        boolean more = (flags & Uring.CQE_F_MORE) != 0;
        boolean buffer = (flags & Uring.CQE_F_BUFFER) != 0;
        if (buffer) buffers.taken();
        if (!more) streams.inFlight--;
        if (!current) { // a forgotten or closed file's read: give its buffer back
            if (buffer) buffers.recycle(flags >>> Uring.CQE_BUFFER_SHIFT);
            return;
        }
        if (!more) {
            s.reading = false;
            s.pausing = false;
        }
        if (res > 0) {
            s.keep(flags >>> Uring.CQE_BUFFER_SHIFT, res);
            if (s.reading && !s.pausing && s.keptCount() >= maxKept) pause(s);
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
            if (s.readable()) streams.enqueue(s);
            else if (!s.reading && res != -Errno.ENOBUFS) arm(s);
        }
    }

    private void pause(RingStream s) {
        s.pausing = true;
        requests.cancel(RingRequests.KIND_READ, s.generation, s.fd);
    }

    /** Copies kept bytes into the reader; completes it unless it wants more and more may come. */
    void deliver(RingStream s) {
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
        streams.waiting--;
        int error = s.error;
        if (error != 0 && !took) {
            s.error = 0;
            if (s.unsupported) op.retryByReadiness(); // the ring cannot read this fd; readiness can
            else op.fail(new SyscallException("read", s.fd, error));
        } else {
            // End-of-file is told once, with this read's bytes or alone; the next read asks the
            // kernel again: it is a moment's state (a FIFO may get a new writer meanwhile).
            boolean endOfFile = s.eof;
            s.eof = false;
            op.complete(endOfFile);
        }
    }

    /**
     * The provided buffers ran out: copies every fd's kept bytes into the heap and gives their
     * buffers back, and pauses the reads nobody waits on (so an fd nobody reads cannot take them
     * all again, and its peer feels the back-pressure). Whether any buffer came back.
     */
    private boolean relieve() {
        int freed = 0;
        for (RingStream s : streams.all()) {
            if (s == null || s.keptCount() == 0) continue;
            freed += s.spill(buffers);
            if (s.reader == null && s.reading && !s.pausing) pause(s);
        }
        return buffers.publish() && freed > 0;
    }

    private void starve(RingStream s) {
        for (int i = 0; i < starvedCount; i++) if (starved[i] == s) return;
        if (starvedCount == starved.length) starved = Arrays.copyOf(starved, starvedCount * 2);
        starved[starvedCount++] = s;
    }

    /**
     * After a run step: publishes the buffers given back, and re-arms the reads that waited for
     * some. Buffers run short at times (every fd's bytes of one round held until the run step
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
            if (s.reader != null && !s.reading && !s.readable()) arm(s);
        }
    }
}
