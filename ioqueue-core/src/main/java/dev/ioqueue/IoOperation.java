package dev.ioqueue;

import dev.ioqueue.internal.RingStreams;
import dev.ioqueue.internal.RingTransfer;
import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.Set;

/**
 * An I/O operation the queue retries until it completes: the try-the-syscall / wait-on-EAGAIN loop,
 * written once. {@link IoQueue#submit} runs {@link #attempt} when the fd may be ready (at once if
 * nothing says otherwise); while it returns {@link Fds#WOULD_BLOCK} the queue waits for the fd
 * again, silently, so spurious wake-ups never reach {@link #completed}. If the fd reports HANGUP or
 * ERROR and the attempt still would block, the operation ends instead of spinning: a read completes
 * with {@link Fds#EOF}, a write fails with EPIPE.
 *
 * <p>The factories ({@link #read(ByteBuffer, IoCompletion)}, {@link #write}, {@link #writeFully},
 * {@link #accept}...) cover the usual calls; subclass it for anything else. An operation is
 * reusable: once completed, submit it again (a connection that keeps one read operation allocates
 * nothing per read). The fd must be non-blocking: a blocking one is refused at submission.
 *
 * <p>Owner thread of the queue it is submitted to only, like {@link IoQueue#await}. It runs on a
 * {@link ReadyCallback} waiter, so the one-waiter-per-(fd, event) rule covers it too.
 */
public abstract class IoOperation {
    private final ReadyEvent event;
    private final int kind;
    private final Waiter waiter = new Waiter();
    private WeakReference<IoQueue> queueRef;
    private boolean pending;
    /** The attempt just made threw and the operation was failed: nothing more to do. */
    private boolean attemptFailed;
    private int fd = -1;
    /** Its side on an io_uring queue's ring, made on first use there. */
    private RingSide ringSide;
    /** Whether the pending run is on the ring (completion I/O) rather than waiting for readiness. */
    private boolean onRing;

    /** An operation that waits for {@code event} between attempts. */
    protected IoOperation(ReadyEvent event) {
        this.event = Objects.requireNonNull(event, "event");
        this.kind = event.ordinal();
    }

    /**
     * Tries the operation once, without blocking.
     *
     * @return the result (zero or more), {@link Fds#EOF}, or {@link Fds#WOULD_BLOCK} to be run
     *     again when the fd is ready; a throw fails the operation ({@link #failed})
     */
    protected abstract long attempt(int fd);

    /** The operation is done with {@code result} (what {@link #attempt} returned). Owner thread. */
    protected abstract void completed(int fd, long result);

    /** The operation failed; by default the failure propagates from the loop. Owner thread. */
    protected void failed(int fd, RuntimeException failure) {
        throw failure;
    }

    /** The queue dropped the operation (see {@link ReadyCallback#onDropped}). Owner thread. */
    protected void dropped(int fd) {}

    /** {@link IoQueue#submitAnywhere}: the operation never started, because the queue or the fd went first. */
    final void droppedBeforeStart(int fd) {
        dropped(fd);
    }

    /** {@link IoQueue#submitAnywhere}: starting it failed ({@code submit} threw), on the owner thread. */
    final void failedBeforeStart(int fd, RuntimeException failure) {
        if (isPending()) end(); // a registration refused after the attempt: it is not pending any more
        failed(fd, failure);
    }

    /**
     * Whether {@code result} shows the fd drained for now (a short read or write), so the next
     * submission waits for the OS instead of trying at once. Only the factories' operations know.
     */
    boolean drained(long result) {
        return false;
    }

    /**
     * What a read completes with when the fd hung up with nothing more to read: {@link Fds#EOF},
     * or what a full read took before (then taken, so it counts once).
     */
    long endOfFile() {
        return Fds.EOF;
    }

    /** Whether it has nothing to move (an empty buffer): it then completes at once, whatever the fd. */
    boolean empty() {
        return false;
    }

    // ---- completion I/O: only the factories' reads (1) and writes (2) do it; the rest wait for readiness ----

    /** 1 for a read, 2 for a write the ring can perform; 0: readiness only. */
    int ringKind() {
        return 0;
    }

    /** A read: copies up to {@code length} bytes from {@code data} at {@code offset}; returns how many it took. */
    int ringFill(MemorySegment data, long offset, int length) {
        throw new UnsupportedOperationException();
    }

    /** Whether it must move more bytes before it completes. */
    boolean ringWantsMore() {
        return false;
    }

    /** A write: the address of the bytes still to write, staged in native memory if need be. */
    long ringSourceAddress() {
        throw new UnsupportedOperationException();
    }

    /** A write: how many bytes are still to write. */
    int ringSourceLength() {
        return 0;
    }

    /** A write: {@code count} bytes went out. */
    void ringWrote(int count) {}

    /** The result it completes with (and resets its counts); a read that took nothing at end-of-file gives {@link Fds#EOF}. */
    long ringResult(boolean endOfFile) {
        return 0;
    }

    /** What it waits for between attempts. */
    public final ReadyEvent event() {
        return event;
    }

    /** Whether it is submitted and not yet completed, failed, dropped or cancelled. Owner thread. */
    public final boolean isPending() {
        return queue() != null;
    }

    /**
     * Withdraws it if it is waiting for its fd; an attempt already made is not undone (a read that
     * has taken bytes into its buffer keeps them there). On an io_uring queue, a write the kernel
     * has already made (or is making) cannot be withdrawn: this returns false and it completes.
     * Owner thread of the queue it was submitted to; from another thread, post it there
     * ({@code queue.execute(operation::cancel)}).
     *
     * @return whether it was pending and is no more
     * @throws IllegalStateException off that queue's owner thread (the operation is left as it was)
     */
    public final boolean cancel() {
        IoQueue q = queue();
        if (q == null) return false;
        if (!q.isOwnerThread()) {
            throw new IllegalStateException("cancel() of " + this + " called on thread " + Thread.currentThread().getName()
                    + ", but its queue belongs to thread " + q.owner().getName() + ": post it there with queue.execute(operation::cancel)");
        }
        if (onRing) {
            // A read's bytes stay kept for the next read; a write the kernel already made completes.
            if (!q.streams().cancel(fd, ringSide)) return false;
            end();
            return true;
        }
        end();
        q.cancel(fd, event, waiter);
        return true;
    }

    /** Called by {@link IoQueue#submit}, which checked the thread, the arguments and that it is not pending. */
    final void start(IoQueue q, int fd, boolean tryNow, boolean inPlace) {
        // Weakly: an operation a program keeps must not keep a dead thread's queue (and its fds) alive.
        if (queueRef == null || queueRef.get() != q) queueRef = new WeakReference<>(q);
        pending = true;
        this.fd = fd;
        onRing = false;
        RingStreams streams = q.streams();
        if (streams != null && ringKind() != 0 && !empty()) {
            if (ringSide == null) ringSide = new RingSide();
            onRing = true;
            try {
                int started = ringKind() == 2 ? streams.startWrite(fd, ringSide) : streams.startRead(fd, ringSide, inPlace, tryNow);
                if (started == RingStreams.STARTED) return;
                if (started == RingStreams.TRY_FIRST) {
                    long result = attemptOnce();
                    // Bytes came at once: the ring reads ahead from now on, so the next read costs no syscall.
                    if (result > 0 && !attemptFailed) streams.readAhead(fd);
                    if (finish(q, result, null)) return;
                    if (streams.startRead(fd, ringSide, inPlace, false) == RingStreams.STARTED) return; // the ring reads from now on
                }
            } catch (RuntimeException | Error e) {
                end();
                throw e;
            }
            onRing = false; // the ring cannot move this fd's bytes: wait for readiness
        }
        if (tryNow && finish(q, attemptOnce(), null)) return;
        try {
            q.await(fd, event, waiter);
        } catch (RuntimeException | Error e) {
            end();
            throw e;
        }
    }

    /** Ends the operation on an attempt's outcome; false if it would block (and the caller waits again). */
    private boolean finish(IoQueue q, long result, Set<Event> events) {
        if (attemptFailed) {
            attemptFailed = false;
            return true;
        }
        if (result == Fds.WOULD_BLOCK) {
            q.drained(fd, kind);
            if (!DeadFd.reported(events)) return false;
            end();
            if (event == ReadyEvent.WRITE) {
                failed(fd, DeadFd.writeFailure(fd, events));
            } else {
                completed(fd, endOfFile());
            }
            return true;
        }
        if (drained(result)) q.drained(fd, kind);
        end();
        completed(fd, result);
        return true;
    }

    /** Runs the attempt; a throw ends the operation ({@link #failed} for an exception, rethrown for an Error). */
    private long attemptOnce() {
        try {
            return attempt(fd);
        } catch (RuntimeException e) {
            end();
            attemptFailed = true;
            failed(fd, e);
            return 0;
        } catch (Error e) {
            end();
            throw e;
        }
    }

    /** The queue it is pending on; null if none, or if that queue was closed or collected (it went with it). */
    private IoQueue queue() {
        if (!pending) return null;
        IoQueue q = queueRef.get();
        return q == null || q.isClosed() ? null : q;
    }

    private void end() {
        pending = false;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + event + (pending ? ", pending on fd " + fd + "]" : "]");
    }

    /** Runs the readiness path from the top, as a waiter's wake-up does. */
    private void attemptAndWait(IoQueue q, int fd, Set<Event> events) {
        if (finish(q, attemptOnce(), events)) return;
        try {
            q.await(fd, event, waiter);
        } catch (RuntimeException | Error e) {
            end();
            throw e;
        }
    }

    /** The operation on an io_uring queue's ring: the ring moves the bytes, this side copies and completes. */
    private final class RingSide implements RingTransfer {
        @Override
        public int fill(MemorySegment data, long offset, int length) {
            return ringFill(data, offset, length);
        }

        @Override
        public boolean wantsMore() {
            return ringWantsMore();
        }

        @Override
        public long sourceAddress() {
            return ringSourceAddress();
        }

        @Override
        public int sourceLength() {
            return ringSourceLength();
        }

        @Override
        public void wrote(int count) {
            ringWrote(count);
        }

        @Override
        public void complete(boolean endOfFile) {
            long result = ringResult(endOfFile);
            end();
            completed(fd, result);
        }

        @Override
        public void fail(RuntimeException failure) {
            ringResult(false); // reset its counts for the next submission
            end();
            failed(fd, failure);
        }

        @Override
        public void retryByReadiness() {
            onRing = false;
            IoQueue q = queue();
            if (q != null) attemptAndWait(q, fd, null);
        }

        @Override
        public ReadyCallback dropHandle() {
            return waiter;
        }
    }

    /** The waiter the operation waits on; one per operation, reused by every wait. */
    private final class Waiter implements ReadyCallback {
        @Override
        public void onReady(int fd, Set<Event> events) {
            IoQueue q = queue();
            if (q == null) return;
            attemptAndWait(q, fd, events);
        }

        @Override
        public void onDropped(int fd) {
            if (!pending) return;
            end();
            dropped(fd);
        }
    }

    // ---- the usual operations ----

    /** One read into {@code dst} from its position (advanced): completes with the count or {@link Fds#EOF}. */
    public static IoOperation read(ByteBuffer dst, IoCompletion done) {
        return BufferOps.read(dst, done);
    }

    /** One read into {@code dst}: completes with the count or {@link Fds#EOF}. */
    public static IoOperation read(MemorySegment dst, IoCompletion done) {
        return BufferOps.read(dst, done);
    }

    /** One read into {@code dst[off, off + len)}: completes with the count or {@link Fds#EOF}. */
    public static IoOperation read(byte[] dst, int off, int len, IoCompletion done) {
        Objects.checkFromIndexSize(off, len, dst.length);
        return BufferOps.read(MemorySegment.ofArray(dst).asSlice(off, len), done);
    }

    /**
     * Reads until {@code dst} is full or end-of-file: completes with the total (less than asked at
     * end-of-file), or {@link Fds#EOF} if end-of-file came before any byte.
     */
    public static IoOperation readFully(ByteBuffer dst, IoCompletion done) {
        return BufferOps.readFully(dst, done);
    }

    /** One write from {@code src}'s position (advanced): completes with the count written. */
    public static IoOperation write(ByteBuffer src, IoCompletion done) {
        return BufferOps.write(src, done, false);
    }

    /** One write of {@code src} (what fits): completes with the count written. */
    public static IoOperation write(MemorySegment src, IoCompletion done) {
        return BufferOps.write(src, done, false);
    }

    /** One write of {@code src[off, off + len)}: completes with the count written. */
    public static IoOperation write(byte[] src, int off, int len, IoCompletion done) {
        Objects.checkFromIndexSize(off, len, src.length);
        return BufferOps.write(MemorySegment.ofArray(src).asSlice(off, len), done, false);
    }

    /** Reads until {@code dst[off, off + len)} is full or end-of-file: as {@link #readFully(ByteBuffer, IoCompletion)}. */
    public static IoOperation readFully(byte[] dst, int off, int len, IoCompletion done) {
        Objects.checkFromIndexSize(off, len, dst.length);
        return BufferOps.readFully(ByteBuffer.wrap(dst, off, len), done);
    }

    /** Writes all of {@code src} from its position (advanced): completes with the total. */
    public static IoOperation writeFully(ByteBuffer src, IoCompletion done) {
        return BufferOps.write(src, done, true);
    }

    /** Writes all of {@code src[off, off + len)}: completes with {@code len}. */
    public static IoOperation writeFully(byte[] src, int off, int len, IoCompletion done) {
        Objects.checkFromIndexSize(off, len, src.length);
        return BufferOps.write(ByteBuffer.wrap(src, off, len), done, true);
    }

    /** Writes all of {@code src}: completes with its size. */
    public static IoOperation writeFully(MemorySegment src, IoCompletion done) {
        return BufferOps.write(src, done, true);
    }

    /** Accepts a connection on a listening socket: completes with the new non-blocking, close-on-exec fd. */
    public static IoOperation accept(IoCompletion done) {
        return BufferOps.accept(done);
    }
}
