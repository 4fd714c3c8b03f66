package dev.ioqueue.internal.uring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ioqueue.internal.os.Uring;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The poller's reap on a real ring: a completion handler that throws never makes a CQE come twice. */
class UringPollerReapTest {
    @Test
    void aHandlerThatThrowsLeavesEveryCqeHandledOnce() {
        UringPoller poller = UringPoller.open();
        try {
            List<Long> seen = new ArrayList<>();
            poller.setSink(new UringPoller.CompletionSink() {
                @Override
                public void complete(long userData, int res, int flags) {
                    seen.add(userData);
                    if (seen.size() == 2) throw new IllegalStateException("a handler fails on the second CQE");
                }

                @Override
                public boolean expectsCompletions() {
                    return false;
                }
            });
            Ring ring = poller.ring();
            for (long i = 1; i <= 4; i++) ring.prep(ring.nextSqe(), Uring.OP_NOP, -1, 0, 0, 0, Long.MIN_VALUE | i);
            assertThrows(IllegalStateException.class, poller::submitAndReap);
            poller.submitAndReap(); // the CQEs after the failed one, and none before it again
            assertEquals(List.of(Long.MIN_VALUE | 1, Long.MIN_VALUE | 2, Long.MIN_VALUE | 3, Long.MIN_VALUE | 4), seen);
            assertEquals(4, ring.counters.completions);
        } finally {
            poller.close();
        }
    }
}
