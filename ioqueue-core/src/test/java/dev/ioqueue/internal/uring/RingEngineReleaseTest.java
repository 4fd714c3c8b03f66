package dev.ioqueue.internal.uring;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ioqueue.Fds;
import org.junit.jupiter.api.Test;

/**
 * A closing stream let go of while completions are taken runs its release (the fd's close, and
 * what waits on it) later, where user code may run: in the loop's run step. The engine is not
 * empty until then, so the loop does not sleep on it, even if the reap that let it go threw.
 */
class RingEngineReleaseTest {
    @Test
    void aReleaseLetGoInAReapThatThrewRunsInTheNextRunStep() throws Exception {
        UringPoller poller = UringPoller.open();
        RingEngine engine = new RingEngine(poller);
        Fds.Pipe p1 = Fds.pipe(), p2 = Fds.pipe();
        try {
            RingStream s1 = engine.open(p1.readFd());
            RingStream s2 = engine.open(p2.readFd());
            s1.kind = RingStream.STREAM;
            s2.kind = RingStream.STREAM;
            engine.readAhead(s1);
            engine.readAhead(s2);
            poller.submitAndReap(); // both reads with the kernel
            engine.onKeptWithoutReader(fd -> {
                throw new IllegalStateException("a handler fails");
            });
            boolean[] released = {false};
            engine.close(s1, () -> released[0] = true, null); // its read's cancel is queued
            poller.ring().enter(0, -1); // the cancel goes; its CQE waits
            Fds.close(p2.writeFd()); // s2's read ends with an end of file after it: its handler throws
            assertThrows(IllegalStateException.class, () -> poller.awaitCompletions(1_000_000_000L));
            assertFalse(RingStream.releasing(s1), "let go of: the kernel finished its requests");
            assertFalse(released[0], "no user code while completions are taken");
            assertFalse(engine.isEmpty(), "the loop must not sleep on a release due");
            engine.run();
            assertTrue(released[0]);
            assertTrue(engine.isEmpty());
        } finally {
            poller.close();
            for (int fd : new int[] {p1.readFd(), p1.writeFd(), p2.readFd()}) Fds.close(fd);
        }
    }
}
