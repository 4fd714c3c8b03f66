package dev.ioqueue;

import java.lang.foreign.MemorySegment;
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
    private IoQueue queue;
    private int fd = -1;

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

    /**
     * Whether {@code result} shows the fd drained for now (a short read or write), so the next
     * submission waits for the OS instead of trying at once. Only the factories' operations know.
     */
    boolean drained(long result) {
        return false;
    }

    /** What it waits for between attempts. */
    public final ReadyEvent event() {
        return event;
    }

    /** Whether it is submitted and not yet completed, failed, dropped or cancelled. Owner thread. */
    public final boolean isPending() {
        return queue != null;
    }

    /**
     * Withdraws it if it is waiting for its fd; an attempt already made is not undone (a read that
     * has taken bytes into its buffer keeps them there). Owner thread.
     *
     * @return whether it was pending and is no more
     */
    public final boolean cancel() {
        IoQueue q = queue;
        if (q == null) return false;
        queue = null;
        q.cancel(fd, event, waiter);
        return true;
    }

    /** Called by {@link IoQueue#submit}, which checked the thread and the arguments. */
    final void start(IoQueue q, int fd, boolean tryNow) {
        if (queue != null) throw new IllegalStateException(this + " is already pending on fd " + this.fd);
        this.queue = q;
        this.fd = fd;
        if (tryNow && finish(q, attemptOrFail(), null)) return;
        q.await(fd, event, waiter);
    }

    /** Ends the operation on a result; false if it would block (and the caller waits again). */
    private boolean finish(IoQueue q, long result, Set<Event> events) {
        if (result == FAILED) return true;
        if (result == Fds.WOULD_BLOCK) {
            q.drained(fd, kind);
            if (!DeadFd.reported(events)) return false;
            end();
            if (event == ReadyEvent.WRITE) {
                failed(fd, DeadFd.writeFailure(fd, events));
            } else {
                completed(fd, Fds.EOF);
            }
            return true;
        }
        if (drained(result)) q.drained(fd, kind);
        end();
        completed(fd, result);
        return true;
    }

    private static final long FAILED = Long.MIN_VALUE;

    private long attemptOrFail() {
        try {
            return attempt(fd);
        } catch (RuntimeException e) {
            end();
            failed(fd, e);
            return FAILED;
        }
    }

    private void end() {
        queue = null;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + event + (queue != null ? ", pending on fd " + fd + "]" : "]");
    }

    /** The waiter the operation waits on; one per operation, reused by every wait. */
    private final class Waiter implements ReadyCallback {
        @Override
        public void onReady(int fd, Set<Event> events) {
            IoQueue q = queue;
            if (q == null) return;
            if (!finish(q, attemptOrFail(), events)) q.await(fd, event, this);
        }

        @Override
        public void onDropped(int fd) {
            if (queue == null) return;
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

    /** Reads until {@code dst} is full or end-of-file: completes with the total, or {@link Fds#EOF} if none. */
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

    /** Writes all of {@code src} from its position (advanced): completes with the total. */
    public static IoOperation writeFully(ByteBuffer src, IoCompletion done) {
        return BufferOps.write(src, done, true);
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
