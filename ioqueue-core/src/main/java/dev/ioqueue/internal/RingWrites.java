package dev.ioqueue.internal;

import dev.ioqueue.SyscallException;
import dev.ioqueue.internal.os.Errno;

/**
 * The write half of {@link RingStreams}: one write request per fd at a time, re-submitted until a
 * full write is done; withdrawing one exactly (a write the kernel has not been given becomes a
 * NOP; one in flight is cancelled synchronously, and one already made completes); a cancelled
 * write's buffer kept reachable until its CQE, since the kernel may still read it. Owner thread only.
 */
final class RingWrites {
    private final RingStreams streams;
    private final Ring ring;
    private final RingRequests requests;
    /** Reaps the ring's CQEs (the poller's), for a synchronous cancel. */
    private final Runnable reaper;
    private int syncCancelResult;

    RingWrites(RingStreams streams, Ring ring, RingRequests requests, Runnable reaper) {
        this.streams = streams;
        this.ring = ring;
        this.requests = requests;
        this.reaper = reaper;
    }

    /** Starts writing what {@code op} holds. A throw (its arena closed, the ring full) leaves nothing started. */
    void start(RingStream s, RingTransfer op) {
        long address = op.sourceAddress();
        int length = op.sourceLength();
        s.writer = op;
        s.writeDone = false;
        s.writeError = 0;
        s.writeFailure = null;
        streams.waiting++;
        try {
            submit(s, address, length);
        } catch (RuntimeException | Error e) {
            s.writer = null;
            streams.waiting--;
            throw e;
        }
    }

    private void submit(RingStream s, long address, int length) {
        s.writeSeq = (s.writeSeq + 1) & RingRequests.SEQ_MASK;
        s.writeSqe = requests.write(s, address, length);
        RingFds.inRing(s.fd);
        s.writing = true;
        streams.inFlight++;
    }

    /** Withdraws the pending write {@code op}; false if it was written (or is being written): it completes. */
    boolean cancel(RingStream s, RingTransfer op) {
        if (s.writeDone || (s.writing && !withdraw(s, op))) return false;
        s.writer = null;
        streams.waiting--;
        return true;
    }

    /** Stops the write in flight before it runs; false if the kernel ran it (or runs it) already. */
    private boolean withdraw(RingStream s, RingTransfer op) {
        if (!ring.withdraw(s.writeSqe)) {
            syncCancelResult = Integer.MIN_VALUE;
            requests.cancelReporting(RingRequests.KIND_WRITE, s.writeSeq, s.fd);
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
        abandon(s, op);
        return true;
    }

    /** The result of the synchronous cancel's CQE. */
    void cancelled(int result) {
        syncCancelResult = result;
    }

    /** Its CQE is stale from now on; the buffer stays reachable until then. */
    private void abandon(RingStream s, RingTransfer op) {
        s.abandoned = op;
        s.abandonedSeq = s.writeSeq;
        s.writing = false;
        s.writeSeq = (s.writeSeq + 1) & RingRequests.SEQ_MASK;
    }

    /** The fd is forgotten: its write is dropped (told through {@code into}); whether a cancel needs the ring entered. */
    boolean forget(RingStream s, Dropped into) {
        if (s.writer == null) return false;
        into.add(s.fd, s.writer.dropHandle());
        boolean cancel = false;
        if (s.writing && !ring.withdraw(s.writeSqe)) {
            requests.cancel(RingRequests.KIND_WRITE, s.writeSeq, s.fd);
            abandon(s, s.writer);
            cancel = true;
        } else if (s.writing) {
            abandon(s, null); // a NOP now: nothing reads the buffer
        }
        s.writer = null;
        s.writeDone = false;
        streams.waiting--;
        return cancel;
    }

    /** A write CQE: more to write, or the result is due (queued for the run step). */
    void onCqe(RingStream s, int seq, int res) {
        streams.inFlight--;
        if (s == null) return;
        if (s.abandoned != null && seq == s.abandonedSeq) s.abandoned = null;
        if (seq != s.writeSeq || !s.writing) return; // cancelled or forgotten
        s.writing = false;
        if (RingFds.epoch(s.fd) != s.epoch) {
            streams.staleAtReap(s);
            return;
        }
        if (s.withdrawing && res == -Errno.ECANCELED) return; // withdrawn: cancel() ends it
        RingTransfer w = s.writer;
        if (w == null) return;
        if (res >= 0) w.wrote(res);
        else if (res != -Errno.EAGAIN && res != -Errno.EINTR) s.writeError = -res;
        if (s.writeError == 0 && ((res > 0 && w.wantsMore()) || res < 0)) {
            try {
                submit(s, w.sourceAddress(), w.sourceLength()); // the rest, or again
                return;
            } catch (RuntimeException e) {
                s.writeFailure = e; // its buffer's arena closed meanwhile
            }
        }
        s.writeDone = true;
        streams.enqueue(s);
    }

    /** Completes the write whose result came, if any; whether one ran. */
    boolean complete(RingStream s) {
        if (s.writer == null || !s.writeDone) return false;
        RingTransfer w = s.writer;
        s.writer = null;
        s.writeDone = false;
        streams.waiting--;
        int error = s.writeError;
        RuntimeException failure = s.writeFailure;
        s.writeError = 0;
        s.writeFailure = null;
        if (failure != null) w.fail(failure);
        else if (error != 0) w.fail(new SyscallException("write", s.fd, error));
        else w.complete(false);
        return true;
    }
}
