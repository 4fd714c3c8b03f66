package dev.ioqueue.internal.uring;

import java.util.Arrays;

/**
 * The streams with a completion due (bytes or a result came for their operation), in the order
 * they became due, each listed once ({@link RingStream#queued}). The engine's run step takes them.
 * Owner thread only; allocates only to grow.
 */
final class DueStreams {
    private RingStream[] ready = new RingStream[64];
    private int head;
    private int tail;

    /** Lists {@code s} unless it is listed already. */
    void add(RingStream s) {
        if (s.queued) return;
        s.queued = true;
        if (tail == ready.length) {
            int n = tail - head;
            if (head > 0) System.arraycopy(ready, head, ready, 0, n);
            else ready = Arrays.copyOf(ready, ready.length * 2);
            Arrays.fill(ready, n, tail, null);
            head = 0;
            tail = n;
        }
        ready[tail++] = s;
    }

    /** Takes the first; the caller made sure one is listed. */
    RingStream take() {
        RingStream s = ready[head];
        ready[head++] = null;
        if (head == tail) head = tail = 0;
        s.queued = false;
        return s;
    }

    boolean isEmpty() {
        return head == tail;
    }
}
