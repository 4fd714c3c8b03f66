package dev.ioqueue;

import static dev.ioqueue.UringTest.onRingThread;
import static dev.ioqueue.UringTest.runUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ioqueue.internal.os.Faults;
import dev.ioqueue.internal.os.Syscall;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A number closed through the library on one thread can be handed out for a new file the moment
 * close(2) returns; another thread that starts working on that new file at once must not be taken
 * for a user of the old one. Found by loading the 2-loop echo server (sockets accepted on one loop
 * got the number another loop was closing): a false {@link PrematureCloseError} dropped a live
 * connection's read. The fault seam stops the closing thread right after close(2) to stage it.
 */
class NumberReuseRaceTest {
    @Test
    void aNumberMadeAgainWhileAnotherThreadIsStillClosingItServesTheNewFile() throws Exception {
        assumeTrue(Faults.ENABLED);
        onRingThread(q -> {
            CountDownLatch closed = new CountDownLatch(1);
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Throwable> closerFailure = new AtomicReference<>();
            Fds.Pipe theirs = Fds.pipe();
            int number = theirs.readFd();
            Thread closer = new Thread(() -> {
                try {
                    Faults.afterNth(Syscall.CLOSE, 1, () -> { // between close(2) and what Fds.close does after it
                        closed.countDown();
                        await(started);
                    });
                    Fds.close(number);
                } catch (Throwable t) {
                    closerFailure.set(t);
                } finally {
                    Faults.clear();
                    closed.countDown();
                }
            });
            closer.start();
            await(closed);
            Fds.Pipe mine = Fds.pipe();
            try {
                long[] got = {-9};
                if (mine.readFd() == number) {
                    q.submit(mine.readFd(), IoOperation.read(ByteBuffer.allocate(8), (fd, r) -> got[0] = r));
                }
                started.countDown();
                join(closer);
                assertEquals(null, closerFailure.get());
                assumeTrue(mine.readFd() == number, "another thread took the number first");
                TestFds.writeByte(mine.writeFd(), 5);
                runUntil(q, () -> got[0] != -9); // no PrematureCloseError out of the loop
                assertEquals(1, got[0], "the new file's read completed with its byte");
            } finally {
                started.countDown();
                mine.close();
                Fds.close(theirs.writeFd());
            }
        });
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(10, TimeUnit.SECONDS), "timed out");
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private static void join(Thread t) {
        try {
            t.join(10_000);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        assertTrue(!t.isAlive(), "the closing thread is stuck");
    }
}
