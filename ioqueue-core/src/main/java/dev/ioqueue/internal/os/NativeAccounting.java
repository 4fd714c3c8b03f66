package dev.ioqueue.internal.os;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes of native memory held by open queues (their epoll event arrays, timespec and errno
 * segments): added when a queue's arena allocates, subtracted when it closes. Tests read it to
 * prove that closing queues gives all of it back.
 */
public final class NativeAccounting {
    private static final AtomicLong LIVE_BYTES = new AtomicLong();
    private static final AtomicLong LIVE_QUEUES = new AtomicLong();

    private NativeAccounting() {}

    public static void opened(long bytes) {
        LIVE_BYTES.addAndGet(bytes);
        LIVE_QUEUES.incrementAndGet();
    }

    public static void closed(long bytes) {
        LIVE_BYTES.addAndGet(-bytes);
        LIVE_QUEUES.decrementAndGet();
    }

    /** More native memory of an open queue (its ring, its provided buffers). */
    public static void allocated(long bytes) {
        LIVE_BYTES.addAndGet(bytes);
    }

    /** That memory was freed. */
    public static void released(long bytes) {
        LIVE_BYTES.addAndGet(-bytes);
    }

    /** Native bytes held by queues not yet closed. */
    public static long liveBytes() {
        return LIVE_BYTES.get();
    }

    /** Queues not yet closed. */
    public static long liveQueues() {
        return LIVE_QUEUES.get();
    }
}
