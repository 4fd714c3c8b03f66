package dev.ioqueue;

import dev.ioqueue.internal.core.Operation;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.core.Transfer;
import dev.ioqueue.internal.io.SegmentTransfers;
import dev.ioqueue.internal.io.Transfers;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Objects;

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
 * nothing per read). The fd must be non-blocking: a blocking one is refused at submission. On an
 * io_uring queue, the factories' reads and writes on a {@link Handle} are performed by the ring
 * (completion I/O); on a plain fd, and on epoll, they try the syscall and wait for readiness. The
 * ring reads ahead for such a handle's next library read, so a subclass's own read on it cannot see
 * the bytes the ring keeps: if it would block while the ring keeps some, it fails
 * ({@link #failed}) with an {@link IOException} saying so, instead of waiting for a readiness the
 * OS will not report.
 *
 * <p>Owner thread of the queue it is submitted to only, like {@link IoQueue#await}. It runs on a
 * waiter of its fd, so the one-waiter-per-(fd, event) rule covers it too.
 */
public abstract class IoOperation {
    private final ReadyEvent event;
    private final Operation engine;

    /** An operation that waits for {@code event} between attempts. */
    protected IoOperation(ReadyEvent event) {
        this(event, null);
    }

    /** A factory's operation: {@code transfer} makes the syscall and knows its buffer. */
    IoOperation(ReadyEvent event, Transfer transfer) {
        this.event = Objects.requireNonNull(event, "event");
        this.engine = new Operation(event.kind, new Hooks(), transfer);
    }

    /**
     * Tries the operation once, without blocking.
     *
     * @return the result (zero or more), {@link Fds#EOF}, or {@link Fds#WOULD_BLOCK} to be run
     *     again when the fd is ready; a {@link java.io.UncheckedIOException} (such as
     *     {@link SyscallException}) fails the operation with its cause ({@link #failed}); any other
     *     throw ends the operation and propagates from the loop, as a throwing callback's does
     */
    protected abstract long attempt(int fd);

    /** The operation is done with {@code result} (what {@link #attempt} returned). Owner thread. */
    protected abstract void completed(int fd, long result);

    /**
     * The operation failed. By default the failure goes to the queue's {@link FailureHandler}
     * (logged), and a {@link Handle} it ran on is closed; the loop goes on. Owner thread.
     */
    protected void failed(int fd, IOException failure) {
        IoQueue.unhandledFailure(fd, failure);
    }

    /**
     * The queue dropped the operation before it completed: its {@link Handle} was closed, its fd
     * unregistered or closed through {@link Fds#close}, or the queue closed. Owner thread.
     */
    protected void dropped(int fd) {}

    /** What it waits for between attempts. */
    public final ReadyEvent event() {
        return event;
    }

    /** Whether it is submitted and not yet completed, failed, dropped or cancelled. Any thread (a snapshot). */
    public final boolean isPending() {
        return engine.isPending();
    }

    /**
     * Withdraws it if it is waiting for its fd; an attempt already made is not undone (a read that
     * has taken bytes into its buffer keeps them there). On an io_uring queue, a write the kernel
     * has already made (or is making) cannot be withdrawn: this returns false and it completes. Nor
     * can one waiting for readiness whose wake-up {@link IoQueue#poll} handed out: it returns false,
     * and the operation runs (or is told dropped) when that Runnable runs, as a waiter's handed-out
     * callback does. (One the ring performs is withdrawn as usual; its handed-out Runnable then
     * does nothing.)
     * Owner thread of the queue it was submitted to; from another thread, post it there
     * ({@code queue.execute(operation::cancel)}).
     *
     * @return whether it was pending and is no more
     * @throws IllegalStateException off that queue's owner thread (the operation is left as it was)
     */
    public final boolean cancel() {
        if (!engine.isPending()) return false;
        QueueCore q = engine.queue();
        if (!q.ownership.isOwner()) {
            throw new IllegalStateException("cancel() of " + this + " called on thread " + Thread.currentThread().getName()
                    + ", but its queue belongs to thread " + q.ownership.ownerName()
                    + ": post it there with queue.execute(operation::cancel)");
        }
        return engine.cancel();
    }

    /** The engine side, for the queue. */
    final Operation engine() {
        return engine;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + event + (engine.isPending() ? ", pending]" : "]");
    }

    /** What the engine calls: this operation's own methods. */
    private final class Hooks implements Operation.Hooks {
        @Override
        public long attempt(int fd) {
            return IoOperation.this.attempt(fd);
        }

        @Override
        public void completed(int fd, long result) {
            IoOperation.this.completed(fd, result);
        }

        @Override
        public void failed(int fd, IOException failure) {
            IoOperation.this.failed(fd, failure);
        }

        @Override
        public void dropped(int fd) {
            IoOperation.this.dropped(fd);
        }
    }

    /** A factory's operation: its transfer moves the bytes, its completion hears the outcome. */
    private static final class Factory extends IoOperation {
        private final IoCompletion done;

        Factory(ReadyEvent event, Transfer transfer, IoCompletion done) {
            super(event, transfer);
            this.done = Objects.requireNonNull(done, "completion");
        }

        @Override
        protected long attempt(int fd) {
            throw new AssertionError("its transfer makes the attempt");
        }

        @Override
        protected void completed(int fd, long result) {
            done.completed(fd, result);
        }

        @Override
        protected void failed(int fd, IOException failure) {
            done.failed(fd, failure);
        }

        @Override
        protected void dropped(int fd) {
            done.dropped(fd);
        }
    }

    // ---- the usual operations ----

    /** One read into {@code dst} from its position (advanced): completes with the count or {@link Fds#EOF}. */
    public static IoOperation read(ByteBuffer dst, IoCompletion done) {
        return new Factory(ReadyEvent.READ, Transfers.read(dst), done);
    }

    /** One read into {@code dst}: completes with the count or {@link Fds#EOF}. */
    public static IoOperation read(MemorySegment dst, IoCompletion done) {
        return new Factory(ReadyEvent.READ, SegmentTransfers.read(dst), done);
    }

    /** One read into {@code dst[off, off + len)}: completes with the count or {@link Fds#EOF}. */
    public static IoOperation read(byte[] dst, int off, int len, IoCompletion done) {
        Objects.checkFromIndexSize(off, len, dst.length);
        return new Factory(ReadyEvent.READ, SegmentTransfers.read(MemorySegment.ofArray(dst).asSlice(off, len)), done);
    }

    /**
     * Reads until {@code dst} is full or end-of-file: completes with the total (less than asked at
     * end-of-file), or {@link Fds#EOF} if end-of-file came before any byte.
     */
    public static IoOperation readFully(ByteBuffer dst, IoCompletion done) {
        return new Factory(ReadyEvent.READ, Transfers.readFully(dst), done);
    }

    /** One write from {@code src}'s position (advanced): completes with the count written. */
    public static IoOperation write(ByteBuffer src, IoCompletion done) {
        return new Factory(ReadyEvent.WRITE, Transfers.write(src, false), done);
    }

    /** One write of {@code src} (what fits): completes with the count written. */
    public static IoOperation write(MemorySegment src, IoCompletion done) {
        return new Factory(ReadyEvent.WRITE, SegmentTransfers.write(src, false), done);
    }

    /** One write of {@code src[off, off + len)}: completes with the count written. */
    public static IoOperation write(byte[] src, int off, int len, IoCompletion done) {
        Objects.checkFromIndexSize(off, len, src.length);
        return new Factory(ReadyEvent.WRITE, SegmentTransfers.write(MemorySegment.ofArray(src).asSlice(off, len), false), done);
    }

    /**
     * Reads until {@code dst[off, off + len)} is full or end-of-file: as
     * {@link #readFully(MemorySegment, IoCompletion)} on that range.
     */
    public static IoOperation readFully(byte[] dst, int off, int len, IoCompletion done) {
        Objects.checkFromIndexSize(off, len, dst.length);
        return new Factory(ReadyEvent.READ, SegmentTransfers.readFully(MemorySegment.ofArray(dst).asSlice(off, len)), done);
    }

    /**
     * Reads until {@code dst} is full or end-of-file: completes with the total (less than its size
     * at end-of-file), or {@link Fds#EOF} if end-of-file came before any byte. Once it has
     * completed or failed, its next submission fills {@code dst} again from its start; one
     * cancelled or dropped part way goes on where it stopped (as a ByteBuffer's position would).
     */
    public static IoOperation readFully(MemorySegment dst, IoCompletion done) {
        return new Factory(ReadyEvent.READ, SegmentTransfers.readFully(dst), done);
    }

    /** Writes all of {@code src} from its position (advanced): completes with the total. */
    public static IoOperation writeFully(ByteBuffer src, IoCompletion done) {
        return new Factory(ReadyEvent.WRITE, Transfers.write(src, true), done);
    }

    /** Writes all of {@code src[off, off + len)}: as {@link #writeFully(MemorySegment, IoCompletion)} on that range. */
    public static IoOperation writeFully(byte[] src, int off, int len, IoCompletion done) {
        Objects.checkFromIndexSize(off, len, src.length);
        return new Factory(ReadyEvent.WRITE, SegmentTransfers.write(MemorySegment.ofArray(src).asSlice(off, len), true), done);
    }

    /**
     * Writes all of {@code src}: completes with its size. Once it has completed or failed, its
     * next submission writes {@code src} again from its start; one cancelled or dropped part way
     * goes on where it stopped.
     */
    public static IoOperation writeFully(MemorySegment src, IoCompletion done) {
        return new Factory(ReadyEvent.WRITE, SegmentTransfers.write(src, true), done);
    }

    /** Accepts a connection on a listening socket: completes with the new non-blocking, close-on-exec fd. */
    public static IoOperation accept(IoCompletion done) {
        return new Factory(ReadyEvent.READ, Transfers.accept(), done);
    }
}
