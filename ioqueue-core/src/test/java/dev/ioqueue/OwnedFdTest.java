package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Owned fds ({@link Handle}): bound to one queue, closed there exactly once from any thread, after
 * their waiters and operations were told {@code dropped} once each and the kernel let go of their
 * ring requests; until then their number is theirs.
 */
class OwnedFdTest extends QueueTestSupport {

    // guards: a Handle's close leaked the fd when a dropped waiter's onDropped threw (outside finding D4)
    @Test
    void handleCloseClosesTheFdEvenIfOnDroppedThrows() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        Handle h = Handle.of(p.readFd());
        AssertionError thrown = new AssertionError("from onDropped");
        q.await(h, ReadyEvent.READ, throwingOnDrop(thrown));
        assertSame(thrown, assertThrows(AssertionError.class, h::close));
        assertFalse(h.isOpen());
        assertFalse(TestFds.isOpen(p.readFd()), "closed exactly once, and closed");
        h.close(); // later calls do nothing
        Fds.close(p.writeFd());
    }

    // guards: closing an unbound Handle left the calling thread's waits on its number registered (a
    // premature close of a number waited on as a plain fd)
    @Test
    void anUnboundHandlesCloseDropsTheCallingQueuesWaitsOnItsNumber() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        Handle h = Handle.of(p.readFd());
        q.await(h.fd(), ReadyEvent.READ, (fd, ev) -> { throw new AssertionError("ran after its handle closed"); });
        h.close();
        h.close(); // exactly once
        assertFalse(TestFds.isOpen(p.readFd()));
        assertFalse(q.running());
        Fds.Pipe reused = Fds.pipe();
        try {
            PrematureCloseTest.assertQueueStillWorks(q, reused);
        } finally {
            Fds.close(p.writeFd());
            reused.close();
        }
    }
}
