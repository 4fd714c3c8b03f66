package dev.ioqueue.internal.uring;

/**
 * What one ring has done, for {@code IoQueue.stats()}: plain counters the owner thread bumps where
 * the work happens (no atomics, nothing allocated), read by any thread as a racy snapshot (a value
 * may lag by a round; a {@code long} is read whole on the 64-bit JVMs this library runs on).
 */
public final class RingCounters {
    /** {@code io_uring_enter} calls: to submit, to sleep, or both. */
    public long enters;
    /** SQEs the kernel took from the submission queue. */
    public long submissions;
    /** CQEs reaped, the ring's own poll of its epoll fd included. */
    public long completions;
    /** Completions handed to operations in the loop's run step (a read's bytes, a write's end), as a round counts them. */
    public long delivered;
    /** Bytes a multishot read brought that no read has copied out yet, on every stream of the ring. */
    public long keptBytes;
}
