package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What a handle's close runs on an io_uring queue ({@link Handle#whenClosed} stages, which run on
 * the closing thread) runs after the ring's completions were taken and given back: a stage that
 * closes another handle, or the queue, reaps again without taking a completion twice.
 */
class RingCloseHooksTest {
    @Test
    void aWhenClosedStageThatClosesAnotherHandleTakesNoCompletionTwice() throws Exception {
        for (int round = 0; round < 20; round++) {
            UringTest.onRingThread(q -> {
                Fds.Pipe p1 = Fds.pipe(), p2 = Fds.pipe(), p3 = Fds.pipe();
                Handle h1 = Handle.of(p1.readFd()), h2 = Handle.of(p2.readFd()), h3 = Handle.of(p3.readFd());
                List<String> seen = new ArrayList<>();
                ByteBuffer into = ByteBuffer.allocate(64);
                q.submit(h1, IoOperation.read(ByteBuffer.allocate(64), (fd, n) -> seen.add("h1 " + n)));
                q.submit(h2, IoOperation.read(ByteBuffer.allocate(64), (fd, n) -> seen.add("h2 " + n)));
                q.submit(h3, IoOperation.read(into, (fd, n) -> seen.add("h3 " + Arrays.toString(Arrays.copyOf(into.array(), (int) n)))));
                q.runOnce(Duration.ZERO); // the three ring reads are with the kernel
                h1.whenClosed().thenRun(h2::close);
                Fds.write(p3.writeFd(), new byte[] {'A'}, 0, 1);
                h1.close(); // waits for h1's cancelled read; its stage closes h2, which waits for its own
                assertFalse(h2.isOpen());
                QueueTestSupport.runUntil(q, () -> !seen.isEmpty());
                q.runOnce(Duration.ofMillis(20));
                assertEquals(List.of("h3 [65]"), seen, "the one byte written, once");
                assertEquals(1, q.stats().ownedFds());
                h3.close();
                for (int fd : new int[] {p1.writeFd(), p2.writeFd(), p3.writeFd()}) Fds.close(fd);
            });
        }
    }

    @Test
    void aWhenClosedStageThatClosesTheQueueEndsItCleanly() throws Exception {
        UringTest.onRingThread(q -> {
            Fds.Pipe p1 = Fds.pipe(), p2 = Fds.pipe();
            Handle h1 = Handle.of(p1.readFd()), h2 = Handle.of(p2.readFd());
            List<String> seen = new ArrayList<>();
            q.submit(h1, IoOperation.read(ByteBuffer.allocate(8), QueueTestSupport.told(seen, "h1")));
            q.submit(h2, IoOperation.read(ByteBuffer.allocate(8), QueueTestSupport.told(seen, "h2")));
            q.runOnce(Duration.ZERO);
            h1.whenClosed().thenRun(q::close);
            Fds.write(p2.writeFd(), new byte[] {'B'}, 0, 1);
            h1.close();
            assertTrue(q.isClosed());
            assertFalse(h2.isOpen(), "the queue's close closed its handles");
            assertEquals(List.of("h1 dropped", "h2 dropped"), seen, "each told once");
            Fds.close(p1.writeFd());
            Fds.close(p2.writeFd());
        });
    }
}
