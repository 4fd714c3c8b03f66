package dev.ioqueue.internal.core;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ioqueue.Fds;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An owned fd's close steps raced on purpose: the thread that asks for the close tells the threads
 * blocked on it (their pollers) before anything else, and the number is closed only once that tell
 * is done, its queue let go and no thread is inside a syscall on it, whichever comes last.
 */
class OwnedFdCloseTest {
    // guards: a release (the watchdog's or the Cleaner's of a dead queue, a queue's close) racing a
    // close on another thread closed the number while that thread was still telling the blocked
    // threads' pollers, whose late tell then dropped the waits of whatever file took the number
    // (a leftover of the last note)
    @Test
    void aReleaseRacingACloseStillTellingTheBlockedThreadsClosesOnlyOnceTold() throws Exception {
        try (Telling t = new Telling()) {
            Thread closer = Thread.ofPlatform().start(t.fd::beginClose);
            t.awaitTelling();
            t.fd.released(); // as the watchdog releasing a dead queue's handles
            assertFalse(t.fd.isClosed(), "closed before the closing thread told the blocked threads");
            assertTrue(numberOpen(t.number), "the number was closed under the tell");
            t.goOn();
            closer.join();
            assertTrue(t.fd.isClosed());
            assertFalse(numberOpen(t.number));
        }
    }

    @Test
    void withAThreadInsideASyscallTheLastOfTellReleaseAndLeaveCloses() throws Exception {
        try (Telling t = new Telling()) {
            assertTrue(t.fd.acquire());
            Thread closer = Thread.ofPlatform().start(t.fd::beginClose);
            t.awaitTelling();
            assertFalse(t.fd.acquire(), "no syscall starts once closing");
            t.fd.released();
            t.fd.release(); // the thread inside leaves: still being told
            assertFalse(t.fd.isClosed());
            assertTrue(numberOpen(t.number));
            t.goOn();
            closer.join();
            assertTrue(t.fd.isClosed());
            assertFalse(numberOpen(t.number));
        }
    }

    @Test
    void aReleaseThatSetsClosingTellsAndClosesAtOnce() throws Exception {
        Fds.Pipe p = Fds.pipe();
        try {
            OwnedFd o = new OwnedFd(p.readFd(), "Handle");
            o.released();
            assertTrue(o.isClosed());
            assertFalse(numberOpen(p.readFd()));
            o.released(); // again: nothing
            assertFalse(o.beginClose(), "the close was asked already");
        } finally {
            Fds.close(p.writeFd());
        }
    }

    /** A virtual thread's blocking wait starts the pollers where blocked threads wait (once per process). */
    private static void startBlockedThreadsPollers() {
        try (Fds.Pipe p = Fds.pipe()) {
            Thread.ofVirtual().start(() -> {
                try {
                    Fds.awaitReady(p.readFd(), dev.ioqueue.ReadyEvent.READ, java.time.Duration.ofMillis(1));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        assertTrue(OwnedFd.toldOfCloses() != null, "the pollers started");
    }

    private static boolean numberOpen(int fd) {
        return Files.exists(Path.of("/proc/self/fd/" + fd));
    }

    /** An owned pipe read end whose close's tell to the blocked threads stops until {@link #goOn()}; the real tell still runs for every fd. */
    private static final class Telling implements AutoCloseable {
        final Fds.Pipe pipe = Fds.pipe();
        final int number = pipe.readFd();
        final OwnedFd fd = new OwnedFd(number, "Handle");
        private final OwnedFd.BlockedThreads real;
        private final CountDownLatch telling = new CountDownLatch(1);
        private final CountDownLatch goOn = new CountDownLatch(1);

        private final OwnedFd.BlockedThreads hook;

        Telling() {
            startBlockedThreadsPollers(); // they set the hook once, as they start: not while this one is in place
            real = OwnedFd.toldOfCloses();
            hook = closing -> {
                if (closing == fd) {
                    telling.countDown();
                    try {
                        goOn.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                if (real != null) real.closing(closing);
            };
            OwnedFd.closesTold(hook);
        }

        void awaitTelling() throws InterruptedException {
            assertTrue(telling.await(10, TimeUnit.SECONDS), "the close never told");
        }

        void goOn() {
            goOn.countDown();
        }

        @Override
        public void close() {
            goOn.countDown();
            if (OwnedFd.toldOfCloses() == hook) OwnedFd.closesTold(real);
            Fds.close(pipe.writeFd());
            if (!fd.isClosed()) {
                fd.released();
            }
        }
    }
}
