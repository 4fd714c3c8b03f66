package dev.ioqueue.internal.uring;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayDeque;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A stream's kept chunks: a circular queue that wraps and grows, read back in arrival order. */
class RingStreamTest {
    private final RingCounters counters = new RingCounters();
    private final RingStream s = new RingStream(-1, counters);

    @Test
    void keptChunksComeBackInArrivalOrderAcrossWrapsAndGrowth() {
        ArrayDeque<int[]> expected = new ArrayDeque<>();
        Random random = new Random(21);
        int next = 0;
        for (int step = 0; step < 10_000; step++) {
            // Bursts of up to 40 chunks (the queue starts with room for 4) then partial drains: every
            // head position meets every size the queue grows to.
            if (random.nextInt(3) > 0 || expected.isEmpty()) {
                for (int k = random.nextInt(40); k >= 0; k--) {
                    int[] chunk = {next % 1000, random.nextInt(4096), 1 + random.nextInt(100)};
                    next++;
                    s.keep(chunk[0], chunk[1], chunk[2]);
                    expected.add(chunk);
                }
            } else {
                for (int k = random.nextInt(expected.size()) + 1; k > 0; k--) takeFirst(expected);
            }
            assertEquals(expected.size(), s.keptCount());
        }
        while (!expected.isEmpty()) takeFirst(expected);
        assertEquals(0, counters.keptBytes);
    }

    private void takeFirst(ArrayDeque<int[]> expected) {
        int[] chunk = expected.peek();
        assertEquals(chunk[0], s.firstBuffer());
        assertEquals(chunk[1], s.firstOffset());
        assertEquals(chunk[2], s.firstLength());
        if (chunk[2] > 1) { // a part first, then the rest: the chunk stays first until used up
            assertEquals(-1, s.consumed(1));
            chunk[1]++;
            chunk[2]--;
            assertEquals(chunk[1], s.firstOffset());
        }
        assertEquals(chunk[0], s.consumed(chunk[2]));
        expected.poll();
    }
}
