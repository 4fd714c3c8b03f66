package dev.ioqueue.internal.uring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ioqueue.internal.os.Uring;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The poller on a real ring: a completion handler that throws never makes a CQE come twice; a
 * closed ring gives its thread's registration slot back.
 */
class UringPollerTest {
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

    @Test
    void aClosedRingGivesItsThreadsRegistrationBack() throws Exception {
        // A thread has 16 slots for registered ring fds; a registration holds its ring alive after
        // close until the thread exits, so without unregistering, the 17th ring of a thread that
        // makes and closes queues runs unregistered (and 16 closed rings stay in the kernel).
        List<Boolean> registered = new ArrayList<>();
        Thread t = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < 40; i++) {
                UringPoller poller = UringPoller.open();
                registered.add(poller.ring().registeredRing());
                poller.close();
            }
        });
        t.join();
        assertEquals(Collections.nCopies(40, true), registered);
    }
}
