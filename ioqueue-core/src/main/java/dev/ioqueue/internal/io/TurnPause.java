package dev.ioqueue.internal.io;

/**
 * How long a blocked thread whose place was refused waits before it asks again when the holder
 * does not tell the fd's turn queue as it lets go (the loop's own wait, operation or callback,
 * which may take the place again at once): 0.25 ms, doubling up to 8 ms. One per blocked call;
 * its thread only.
 */
final class TurnPause {
    private static final long FIRST_NANOS = 250_000L;
    private static final long MAX_NANOS = 8_000_000L;
    private long next = FIRST_NANOS;

    /** The pause to take now; the next one is twice as long, up to the maximum. */
    long next() {
        long pause = next;
        next = Math.min(2 * next, MAX_NANOS);
        return pause;
    }
}
