package dev.ioqueue.internal.uring;

import dev.ioqueue.internal.epoll.EpollPoller;
import dev.ioqueue.internal.os.NativeAccounting;

/**
 * A ring poller's native parts and nothing else ({@link UringPoller}'s ring, fixed-file table,
 * provided buffers and epoll poller): what a Cleaner may hold without keeping the queue (or an
 * operation's callback) reachable, and their release, once each. Owner thread, except the
 * releases (any thread, once the owner ended or the queue is unreachable).
 */
final class RingNatives {
    private final Ring ring;
    private final EpollPoller epoll;
    private final int bufferCount;
    private final int bufferSize;
    private final boolean incremental;
    final FixedFiles fixed;
    private BufferRing buffers;
    private boolean closed;
    private boolean ringReleased;

RingNatives(Ring ring, EpollPoller epoll, int bufferCount, int bufferSize, boolean incremental, int fixedFiles) {
        this.ring = ring;
        this.incremental = incremental;
        this.epoll = epoll;
        this.bufferCount = bufferCount;
        this.bufferSize = bufferSize;
        this.fixed = new FixedFiles(ring, fixedFiles);
        NativeAccounting.allocated(Ring.accountedBytes());
    }

    /** The provided buffers, made on first use (owner thread). */
    synchronized BufferRing buffers() {
        if (buffers == null) {
            buffers = new BufferRing(ring, UringPoller.BUFFER_GROUP, bufferCount, bufferSize, incremental);
            NativeAccounting.allocated(BufferRing.bytes(bufferCount, bufferSize));
        }
        return buffers;
    }

    synchronized boolean closed() {
        return closed;
    }

    synchronized boolean ringReleased() {
        return ringReleased;
    }

    /** Releases everything; {@code drained}: on the owner thread, every request ended (its memory can be unmapped). */
    void close(boolean drained) {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        releaseRing(drained);
        epoll.close();
    }

    /**
     * The ring and what only it uses: its fd (the kernel ends its requests and fixed files,
     * unless the owner's kernel thread still holds the ring through its registration: a main
     * thread after main returned, a detached native thread), its file table and provided
     * buffers. Once: by {@link #close}, or earlier when the owner thread ended
     * ({@link UringPoller#afterOwnerEnded}), since no other thread uses them.
     */
    void releaseRing(boolean drained) {
        synchronized (this) {
            if (ringReleased) return;
            ringReleased = true;
        }
        ring.close(); // first: the kernel lets go of the buffers before they are freed
        fixed.free();
        if (buffers != null) {
            buffers.free(drained); // else retired: a request may outlive the close (the owner's kernel thread lives on)
            NativeAccounting.released(BufferRing.bytes(bufferCount, bufferSize));
        }
        NativeAccounting.released(Ring.accountedBytes());
    }
}
