package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.poll.Interest;
import dev.ioqueue.internal.uring.RingEngine;
import dev.ioqueue.internal.uring.RingOp;
import dev.ioqueue.internal.uring.RingStream;
import dev.ioqueue.internal.uring.RingTransfer;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The engine side of one I/O operation: the try-the-syscall / wait-on-EAGAIN loop, written once,
 * and on an io_uring queue the ring path for an owned fd. The facade's operation supplies its
 * {@link Hooks} (the syscall and the three endings) and, for the factories' operations, a
 * {@link Transfer}. One object for the operation's whole life, reused by every submission: it is
 * also its own waiter and its own ring operation, so a submission allocates nothing.
 *
 * <p>Owner thread of the queue it is pending on.
 */
public final class Operation extends Waiter implements RingOp {
    /** A read found end-of-file. */
    public static final long EOF = -1;
    /** The fd is not ready: wait for it. */
    public static final long WOULD_BLOCK = -2;

    /** What the facade's operation does. */
    public interface Hooks {
        /** The syscall: a result, {@link #EOF}, or {@link #WOULD_BLOCK}; an {@link UncheckedIOException} fails it. */
        long attempt(int fd);

        void completed(int fd, long result);

        void failed(int fd, IOException failure);

        void dropped(int fd);
    }

    private static final Transfer NO_TRANSFER = new Transfer() {
        @Override
        public long attempt(int fd) {
            throw new AssertionError("a user's operation attempts through its hooks");
        }
    };

    private final Hooks hooks;
    private final Transfer transfer;
    /** {@link Transfer#ringKind()}, asked once: a submission makes no call to learn it. */
    private final int ringKind;
    private final int kind;
    private QueueCore queue;
    private int fd = -1;
    private OwnedFd owned;
    private boolean pending;
    /**
     * The attempt just made threw and the operation was failed: nothing more to do. A flag, not a
     * result (a custom attempt may return any long); set after {@code failed} returns, so a
     * submission made from inside it (a nested attempt of the same operation) neither sees nor
     * clears it. Its caller takes it at once ({@link #finish}).
     */
    private boolean attemptFailed;
    /** Inside {@link #start} (submit): a buffer found unusable then is refused by a throw, later it fails the operation. */
    private boolean starting;
    /** Whether the pending run is on the ring (completion I/O) rather than waiting for readiness. */
    private boolean onRing;

    /** How many times its hooks were told something (what a failure during a submit may have come from). */
    private long tellings;
    /** Runnables {@code poll()} handed out for it that have not run ({@link BoundCallback}). Owner thread. */
    int handedOut;

    /** How many times it was told completed, failed or dropped so far. Owner thread of its queue. */
    public long tellings() {
        return tellings;
    }

    /** An operation waiting for {@code kind} (bits of {@code Interest}) between attempts. */
    public Operation(int kind, Hooks hooks, Transfer transfer) {
        this.kind = kind;
        this.hooks = hooks;
        this.transfer = transfer != null ? transfer : NO_TRANSFER;
        this.ringKind = this.transfer.ringKind();
    }

    public int kind() {
        return kind;
    }

    /**
     * Whether it is submitted and not yet completed, failed, dropped or cancelled, on a queue that
     * can still run it (open, or closing and about to drop it; its owner thread alive), or has a
     * Runnable {@code poll()} handed out that has not run (it tells it, even after the close).
     */
    public boolean isPending() {
        if (!pending) return false;
        if (handedOut > 0) return true;
        Ownership o = queue.ownership;
        return o.isDraining() || (!o.isClosed() && !o.ownerEnded());
    }

    /** The queue it is pending on, or ran on last; null before its first submission. */
    public QueueCore queue() {
        return queue;
    }

    /** The owned fd it runs on (pending, or during its ending), or null for a plain fd. */
    public OwnedFd owned() {
        return owned;
    }

    boolean empty() {
        return transfer.empty();
    }

    /** Whether a failure nobody handled closes the owned fd it ran on ({@link Transfer#failureClosesFd}). */
    boolean failureClosesFd() {
        return transfer.failureClosesFd();
    }

    /**
     * Withdraws it if it is waiting; an attempt already made is not undone. On a ring, a write the
     * kernel has made (or is making) cannot be withdrawn: false, and it completes. Owner thread of
     * its queue, which the caller checked.
     */
    public boolean cancel() {
        if (!isPending()) return false;
        if (onRing) {
            if (!queue.engine.cancel(owned.stream, this)) return false;
            end();
            return true;
        }
        // Its wake-up handed out by poll() as a Runnable: that Runnable runs it (as a waiter's, which
        // a cancel cannot withdraw either), whatever became of the fd since; withdrawn here, it would
        // act on (or be told dropped for) the fd it is pending on next.
        if (handedOut > 0) return false;
        end();
        queue.registrations.cancel(fd, kind, this);
        return true;
    }

    /** Started by {@link QueueCore#submit}, which checked everything; a throw leaves it not pending. */
    void start(QueueCore q, int fd, OwnedFd owned, boolean tryNow, boolean inPlace) {
        starting = true;
        try {
            begin(q, fd, owned, tryNow, inPlace);
        } finally {
            starting = false;
        }
    }

    private void begin(QueueCore q, int fd, OwnedFd owned, boolean tryNow, boolean inPlace) {
        if (pending) queue.pendingOperations--; // still pending on a queue that can no longer run it
        queue = q;
        pending = true;
        q.pendingOperations++;
        this.fd = fd;
        this.owned = owned;
        onRing = false;
        RingEngine engine = q.engine;
        if (engine != null && owned != null && ringKind != Transfer.NONE && !transfer.empty()) {
            RingStream s = owned.stream(engine);
            onRing = true;
            try {
                boolean write = ringKind == Transfer.WRITE;
                if (write && inPlace && !q.loop.dispatchingIo) {
                    // Outside the loop's I/O dispatch (a task, a timer, code around the loop): what
                    // the fd takes now is written now, as on epoll, so a write completes before
                    // submit returns on both backends and code counting unwritten bytes sees the
                    // same. The rest (if the fd would block) goes to the ring. A write made while
                    // the loop dispatches completions goes to the ring at once: the round's writes
                    // leave in the one io_uring_enter that ends it (as Netty's io_uring flushes at
                    // the end of a loop iteration), a syscall per write saved; a second write on
                    // the fd before then settles the first (QueueCore.submit), as epoll would.
                    long result = attemptOnce();
                    if (result != WOULD_BLOCK || attemptFailed) {
                        finish(result, 0);
                        return;
                    }
                }
                int started = write ? engine.startWrite(s, this) : engine.startRead(s, this, inPlace, tryNow);
                if (started == RingEngine.STARTED) return;
                if (started == RingEngine.TRY_FIRST) {
                    long result = attemptOnce();
                    // Bytes came at once: the ring reads ahead from now on, so the next read costs no syscall.
                    if (result > 0 && !attemptFailed) engine.readAhead(s);
                    if (finish(result, 0)) return;
                    if (engine.startRead(s, this, inPlace, false) == RingEngine.STARTED) return; // the ring reads from now on
                }
            } catch (RuntimeException | Error e) {
                end();
                throw e;
            }
            onRing = false; // the ring cannot move this fd's bytes: wait for readiness
        }
        if (tryNow && finish(attemptOnce(), 0)) return;
        waitAgain();
    }

    private void waitAgain() {
        try {
            queue.registrations.await(fd, kind, this, owned != null);
        } catch (RuntimeException | Error e) {
            end();
            throw e;
        }
    }

    /** Ends it on an attempt's outcome; false if it would block (and the caller waits again). */
    private boolean finish(long result, int events) {
        if (attemptFailed) {
            attemptFailed = false;
            return true;
        }
        if (result == WOULD_BLOCK) {
            queue.registrations.drained(fd, kind);
            if (kind == Interest.READ && owned != null && RingStream.keepsSomething(owned.stream)) {
                end(); // a hang otherwise: the OS will never report the bytes the ring took
                failed(OperationFailures.readAheadHidden(fd));
                return true;
            }
            if (!Interest.dead(events)) return false;
            end();
            if (kind == Interest.WRITE) {
                transfer.ringResult(false); // reset its counts: a failed write starts again at its next submission
                failed(OperationFailures.deadFdWrite(fd, events));
            } else {
                tellings++;
                hooks.completed(fd, transfer.endOfFile());
            }
            return true;
        }
        if (transfer.drained(result)) queue.registrations.drained(fd, kind);
        end();
        tellings++;
        hooks.completed(fd, result);
        return true;
    }

    /** Runs the attempt; a throw ends the operation (failed for an I/O failure, rethrown otherwise). */
    private long attemptOnce() {
        try {
            return transfer == NO_TRANSFER ? hooks.attempt(fd) : transfer.attempt(fd);
        } catch (UncheckedIOException e) {
            end();
            failed(e.getCause());
            attemptFailed = true;
            return 0;
        } catch (IllegalStateException | WrongThreadException e) {
            end();
            // The caller's own attempt (its bug), or a buffer refused at submit: thrown to the caller.
            if (transfer == NO_TRANSFER || starting) throw e;
            // The library's transfer: its buffer's arena was closed (or it is confined to another
            // thread) while the operation waited. The operation fails; the loop goes on.
            failed(OperationFailures.bufferUnusable(kind, fd, e));
            attemptFailed = true;
            return 0;
        } catch (RuntimeException | Error e) {
            end();
            throw e;
        }
    }

    private void failed(IOException failure) {
        failedOn(queue, fd, failure);
    }

    /**
     * Tells it {@code failure} on {@code q}'s thread: its own, or what a submit from another thread
     * threw there ({@code IoQueue.submitAnywhere}), as a failure in the loop would be told.
     */
    public void failedOn(QueueCore q, int fd, IOException failure) {
        Operation outer = q.failing();
        q.failing(this); // what its default failed() reports to the queue's failure sink
        try {
            tellings++;
            hooks.failed(fd, failure);
        } finally {
            q.failing(outer);
        }
    }

    private void end() {
        if (!pending) return;
        pending = false;
        queue.pendingOperations--;
        // A blocked thread's operation lets go of its place: the next blocked thread refused it
        // may have it. (The loop's own do not tell: they often take the place again at once.)
        if (owned != null && hooks instanceof Yielding) owned.passTurn(kind);
    }

    /** Runs the readiness path from the top, as a wake-up does ({@code events} 0: no wake-up, the ring handed it back). */
    private void attemptAndWait(int events) {
        long before = transfer.progress();
        long result = attemptOnce();
        if (result == WOULD_BLOCK && events != 0 && transfer.progress() == before) queue.registrations.spuriousWakeUps++;
        if (finish(result, events)) return;
        waitAgain();
    }

    // ---- a blocked thread's operation gives its place up to the loop's own ----

    @Override
    public boolean yieldsToLoop() {
        return hooks instanceof Yielding;
    }

    @Override
    public boolean takeTurn() {
        return hooks instanceof Yielding y && y.takeTurn();
    }

    @Override
    public boolean waitsForTurn() {
        return hooks instanceof Yielding y && y.waitsForTurn();
    }

    @Override
    public boolean callEnded() {
        return hooks instanceof Yielding y && y.callEnded();
    }

    @Override
    public void yieldPlace() {
        end();
        ((Yielding) hooks).yielded();
    }

    /** As {@link #yieldPlace}, for an operation on the ring: withdrawn from it first; false if the ring cannot (a write the kernel is making). */
    boolean yieldRingPlace() {
        if (!pending || !onRing || !queue.engine.cancel(owned.stream, this)) return false;
        yieldPlace();
        return true;
    }

    // ---- as a waiter (the readiness path) ----

    @Override
    public void ready(int fd, int events) {
        if (pending) attemptAndWait(events);
    }

    @Override
    public void dropped(int fd) {
        if (!pending) return;
        end();
        tellings++;
        hooks.dropped(fd);
    }

    // ---- as a ring operation ----

    @Override
    public RingTransfer transfer() {
        return transfer;
    }

    @Override
    public void ringCompleted(boolean endOfFile) {
        long result = transfer.ringResult(endOfFile);
        end();
        tellings++;
        hooks.completed(fd, result);
    }

    @Override
    public void ringFailed(int errno) {
        transfer.ringResult(false); // reset its counts for the next submission
        end();
        failed(Errors.io(OperationFailures.name(kind), fd, errno, null));
    }

    @Override
    public void ringAborted(RuntimeException failure) {
        transfer.ringResult(false);
        end();
        // Found inside submit (the ring's kept bytes delivered in place): refused by a throw, as the
        // syscall path refuses it there; nothing was taken, the kept bytes wait for the next read.
        if (starting) {
            throw failure instanceof WrongThreadException ? failure
                    : new IllegalStateException(OperationFailures.name(kind) + " on fd " + fd + ": " + OperationFailures.unusableReason(failure), failure);
        }
        failed(OperationFailures.bufferUnusable(kind, fd, failure));
    }

    @Override
    public void ringRetryByReadiness() {
        onRing = false;
        if (pending) attemptAndWait(0);
    }

    @Override
    public void ringDropped() {
        dropped(fd);
    }

    @Override
    public String toString() {
        return "operation[" + Registrations.KIND_NAMES[kind] + (pending ? ", pending on fd " + fd + "]" : "]");
    }
}
