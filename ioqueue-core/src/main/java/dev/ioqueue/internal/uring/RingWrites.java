package dev.ioqueue.internal.uring;

import dev.ioqueue.internal.os.Errno;
import java.util.Arrays;

/**
 * The write half of {@link RingEngine}: one write request per stream at a time, re-submitted until
 * a full write is done; withdrawing one exactly (a write the kernel has not been given becomes a
 * NOP; one in flight is cancelled synchronously, and one already made completes). A given-up
 * write's request keeps its operation, and so its buffer, reachable until its last CQE, since the
 * kernel may still read it ({@link RingRequest}). Owner thread only.
 */
final class RingWrites {
    private final RingEngine engine;
    private final RingRequests requests;
    private final UringPoller poller;
    private int syncCancelResult;
    private final RingCounters counters;
    /** How many writes in a chain {@link #settle} completes at most (as nested in-place submits on epoll). */
    private static final int MAX_SETTLED = 16;
    /** Told what a completion run out of turn ({@link #settle}, {@link #settleStaged}) threw. */
    private java.util.function.Consumer<Throwable> settledFailure = dev.ioqueue.internal.base.Failures::rethrow;
    /** Streams whose write was queued since the last enter (its SQE has not reached the kernel yet). */
    private RingStream[] staged = new RingStream[16];
    private int stagedCount;
    /** {@link RingCounters#enters} when the list began. */
    private long stagedSince;

    RingWrites(RingEngine engine, RingRequests requests, UringPoller poller) {
        this.engine = engine;
        this.requests = requests;
        this.poller = poller;
        this.counters = poller.counters();
    }

    /** Starts writing what {@code op} holds. A throw (its arena closed, the ring full) leaves nothing started. */
    void start(RingStream s, RingOp op) {
        RingTransfer t = op.transfer();
        long address = t.sourceAddress();
        int length = t.sourceLength();
        s.writer = op;
        s.writeDone = false;
        s.writeError = 0;
        s.writeFailure = null;
        engine.waiting++;
        try {
            s.write = requests.write(s, op, address, length);
        } catch (RuntimeException | Error e) {
            s.writer = null;
            engine.waiting--;
            throw e;
        }
        forgetStagedIfEntered();
        if (stagedCount == staged.length) staged = Arrays.copyOf(staged, stagedCount * 2);
        staged[stagedCount++] = s;
    }

    /** An enter since the list began gave its writes to the kernel (every one: the ring submits all): they are no longer staged. */
    private void forgetStagedIfEntered() {
        if (stagedCount > 0 && stagedSince != counters.enters) {
            for (int i = 0; i < stagedCount; i++) staged[i] = null; // mostly one: a loop, not Arrays.fill's checks
            stagedCount = 0;
        }
        stagedSince = counters.enters;
    }

    /**
     * The streams whose write was queued since the last {@code io_uring_enter} (so the list never
     * holds more than one submission queue's worth), taken: the list starts again empty; null if none.
     */
    RingStream[] takeStaged() {
        forgetStagedIfEntered();
        if (stagedCount == 0) return null;
        RingStream[] taken = Arrays.copyOf(staged, stagedCount);
        Arrays.fill(staged, 0, stagedCount, null);
        stagedCount = 0;
        return taken;
    }

    /** Withdraws the pending write {@code op}; false if it was written (or is being written): it completes. */
    boolean cancel(RingStream s, RingOp op) {
        if (s.writer != op) return false;
        if (s.writeDone || (s.write != null && !withdraw(s))) return false;
        s.writer = null;
        engine.waiting--;
        return true;
    }

    /** Stops the write in flight before it runs; false if the kernel ran it (or runs it) already. */
    private boolean withdraw(RingStream s) {
        RingRequest r = s.write;
        if (!requests.withdraw(r)) {
            syncCancelResult = Integer.MIN_VALUE;
            requests.cancelReporting(r);
            s.withdrawing = true; // its ECANCELED, if it comes now, is no failure
            try {
                poller.submitAndReap(); // the cancel's CQE, and the write's if it finished
            } finally {
                s.withdrawing = false;
            }
            if (syncCancelResult != 0) { // ENOENT: written already; EALREADY: being written
                RingRequest rest = s.write;
                // Written in part, its CQE taken in that reap: the rest was queued, not yet submitted.
                // It is withdrawn, so the write stops where it is (the buffer's position says how far).
                if (rest == null || rest == r || !requests.withdraw(rest)) return false;
                r = rest;
            } else if (s.write == null) {
                return true; // its ECANCELED came already
            }
        }
        r.state = RingRequest.CANCELLED; // a NOP, or cancelled: its last CQE frees it
        s.write = null;
        return true;
    }

    /** The result of the synchronous cancel's CQE. */
    void cancelled(int result) {
        syncCancelResult = result;
    }

    /** The stream closes: gives its write up; returns its writer (to be told), or null. */
    RingOp forget(RingStream s) {
        RingOp writer = s.writer;
        if (writer == null) return null;
        if (s.write != null) {
            requests.cancel(s.write);
            s.write = null;
        }
        s.writer = null;
        s.writeDone = false;
        engine.waiting--;
        return writer;
    }

    /** The CQE of write request {@code r}: more to write, or the result is due (queued for the run step). */
    void onCqe(RingRequest r, int res) {
        RingStream s = r.stream;
        boolean live = !r.cancelled() && s.write == r;
        requests.release(r);
        if (!live) {
            engine.requestEnded(s);
            return;
        }
        s.write = null;
        if (s.withdrawing && res == -Errno.ECANCELED) return; // withdrawn: cancel() ends it
        RingOp w = s.writer;
        RingTransfer t = w.transfer();
        if (res >= 0) t.wrote(res);
        else if (res != -Errno.EAGAIN && res != -Errno.EINTR) s.writeError = -res;
        if (s.writeError == 0 && ((res > 0 && t.wantsMore()) || res < 0)) {
            try {
                s.write = requests.write(s, w, t.sourceAddress(), t.sourceLength()); // the rest, or again
                return;
            } catch (RuntimeException e) {
                s.writeFailure = e; // its buffer's arena closed meanwhile
            }
        }
        s.writeDone = true;
        engine.enqueue(s);
    }

    /** Completes the write whose result came, if any; whether one ran. */
    boolean complete(RingStream s) {
        if (s.writer == null || !s.writeDone) return false;
        RingOp w = s.writer;
        s.writer = null;
        s.writeDone = false;
        engine.waiting--;
        int error = s.writeError;
        RuntimeException failure = s.writeFailure;
        s.writeError = 0;
        s.writeFailure = null;
        if (failure != null) w.ringAborted(failure);
        else if (error != 0) w.ringFailed(error);
        else w.ringCompleted(false);
        return true;
    }

    // ---- completions out of turn (RingEngine#settleWrite, #settleStaged, #submitStaged say why) ----

    void onSettledFailure(java.util.function.Consumer<Throwable> sink) {
        settledFailure = sink;
    }

    /** Completes {@code s}'s written write, if any, out of turn; what its completion throws goes to {@link #settledFailure}. */
    private boolean completeSettled(RingStream s) {
        try {
            if (!complete(s)) return false;
        } catch (Throwable t) {
            settledFailure.accept(t);
        }
        counters.delivered++;
        return true;
    }

    boolean settle(RingStream s) {
        // A settled write's completion may make another write (to the ring, being inside a
        // completion): settled in turn, as epoll would have written it in place, up to the depth
        // epoll's in-place writes stop nesting at.
        for (int i = 0; i < MAX_SETTLED && s.writer != null; i++) {
            if (!s.writeDone && s.write != null) poller.submitAndReap();
            if (!completeSettled(s)) return false; // still with the kernel: the fd would block
        }
        return s.writer == null;
    }

    void settleStaged() {
        for (int i = 0; i < MAX_SETTLED; i++) {
            RingStream[] taken = takeStaged();
            if (taken == null) return;
            poller.submitAndReap();
            for (RingStream s : taken) completeSettled(s);
        }
    }

    void submitStaged(Throwable thrown) {
        if (!poller.ring().hasUnsubmitted()) return;
        try {
            poller.submitAndReap();
        } catch (Throwable t) {
            dev.ioqueue.internal.base.Failures.add(thrown, t);
        }
    }
}
