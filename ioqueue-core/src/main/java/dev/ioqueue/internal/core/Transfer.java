package dev.ioqueue.internal.core;

import dev.ioqueue.internal.uring.RingTransfer;

/**
 * What an I/O factory's operation knows of its buffer, beyond the syscall: whether a result shows
 * the fd drained, what it completes with at end-of-file, whether it has nothing to move, and its
 * side on a ring. A user's own operation has none of this ({@link Operation} then asks only its
 * attempt). Owner thread only.
 */
public interface Transfer extends RingTransfer {
    /** No completion I/O: readiness and the syscall only. */
    int NONE = 0;
    /** A read the ring can perform. */
    int READ = 1;
    /** A write the ring can perform. */
    int WRITE = 2;

    /** The attempt on the readiness path: the result, {@code -1} at end-of-file, {@code -2} would block; may throw. */
    long attempt(int fd);

    /** Whether {@code result} shows the fd drained for now (a short read or write), so the next submission waits. */
    default boolean drained(long result) {
        return false;
    }

    /** What a read completes with when the fd hung up with nothing more to read (taking what a full read moved). */
    default long endOfFile() {
        return -1;
    }

    /**
     * What the attempts since the last result moved (a {@code readFully} or {@code writeFully}
     * goes on across wake-ups): an attempt that would block having moved more was no spurious
     * wake-up ({@link dev.ioqueue.QueueStats#spuriousWakeUps}).
     */
    default long progress() {
        return 0;
    }

    /** Whether it has nothing to move (an empty buffer): it then completes at once, whatever the fd. */
    default boolean empty() {
        return false;
    }

    /**
     * Whether a failure nobody handled closes the owned fd it ran on (a connection's read or write:
     * yes, as a channel is closed on an I/O error); an accept's does not (EMFILE and the like are
     * the process's trouble, not the listener's).
     */
    default boolean failureClosesFd() {
        return true;
    }

    /** {@link #READ}, {@link #WRITE}, or {@link #NONE}. */
    default int ringKind() {
        return NONE;
    }

    /** The result of the ring path (and resets its counts for the next submission). */
    default long ringResult(boolean endOfFile) {
        return 0;
    }

    @Override
    default int fill(java.lang.foreign.MemorySegment data, long offset, int length) {
        throw new UnsupportedOperationException();
    }

    @Override
    default boolean wantsMore() {
        return false;
    }

    @Override
    default long sourceAddress() {
        throw new UnsupportedOperationException();
    }

    @Override
    default int sourceLength() {
        return 0;
    }

    @Override
    default void wrote(int count) {}
}
