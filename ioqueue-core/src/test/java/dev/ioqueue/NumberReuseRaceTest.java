package dev.ioqueue;

import static dev.ioqueue.UringTest.onRingThread;
import static dev.ioqueue.UringTest.runUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ioqueue.internal.os.Faults;
import dev.ioqueue.internal.os.Syscall;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
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
            Thread closer = closeHeldAfterClose2(number, closed, started, closerFailure);
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

    @Test
    void aWaitOnTheSharedQueueAskedWhileAnotherThreadFinishesClosingTheNumberIsTheNewFilesAndKept() throws Exception {
        // The shared queue drops a wait asked for before a close of its number (it was meant for the
        // closed file); the new file's owner got the number once close(2) returned, so its wait,
        // asked while the closer is still inside Fds.close, is the new file's and must be kept.
        assumeTrue(Faults.ENABLED);
        IoQueue shared = IoQueue.shared();
        CountDownLatch closed = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<Throwable> closerFailure = new AtomicReference<>();
        Fds.Pipe theirs = Fds.pipe();
        int number = theirs.readFd();
        CompletableFuture<Set<Event>> old = shared.whenReady(number, ReadyEvent.READ); // published there: its close hands off
        Thread closer = closeHeldAfterClose2(number, closed, release, closerFailure);
        await(closed);
        CountDownLatch closeDone = new CountDownLatch(1);
        shared.execute(() -> await(closeDone)); // the shared loop takes the wait in only once the close is done
        Fds.Pipe mine = Fds.pipe();
        try {
            CompletableFuture<CompletableFuture<Set<Event>>> asking = CompletableFuture.supplyAsync(
                    () -> shared.whenReady(mine.readFd(), ReadyEvent.READ), java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
            Thread.sleep(100); // the wait is asked for while the closer is held
            release.countDown();
            join(closer);
            closeDone.countDown();
            assertEquals(null, closerFailure.get());
            CompletableFuture<Set<Event>> fresh = asking.get(10, TimeUnit.SECONDS);
            ExecutionException e = assertThrows(ExecutionException.class, () -> old.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof WaitDroppedException, String.valueOf(e.getCause()));
            assumeTrue(mine.readFd() == number, "another thread took the number first");
            TestFds.writeByte(mine.writeFd(), 5);
            assertEquals(Set.of(Event.READ), fresh.get(10, TimeUnit.SECONDS), "the new file's wait was kept");
        } finally {
            release.countDown();
            closeDone.countDown();
            mine.close();
            Fds.close(theirs.writeFd());
        }
    }

    @Test
    void theRingNeverReadsAheadIntoANumberClosedAndMadeAgainElsewhereBeforeItsNextEnter() throws Exception {
        // A read that found bytes at once may leave the ring reading ahead, with nothing pending:
        // another thread may then close the fd and make the number again before this loop enters
        // the ring. A request naming the number would take the new file's bytes as the old one's.
        for (boolean handle : new boolean[] {false, true}) {
            onRingThread(q -> {
                Fds.Pipe first = Fds.pipe();
                Handle owner = handle ? Handle.of(first.readFd()) : null;
                int number = first.readFd();
                TestFds.writeByte(first.writeFd(), 1);
                long[] got = {-9};
                q.submit(number, IoOperation.read(ByteBuffer.allocate(8), (fd, r) -> got[0] = r));
                assertEquals(1, got[0], "completed in place, by read(2)"); // the loop has not entered the ring since
                Fds.Pipe second = remadeElsewhere(owner != null ? owner::close : () -> Fds.close(number), first.writeFd());
                try {
                    assumeTrue(second.readFd() == number, "another thread took the number first");
                    for (int i = 0; i < 3; i++) q.runOnce(java.time.Duration.ZERO); // enters the ring
                    ByteBuffer bytes = ByteBuffer.allocate(8);
                    long[] r = {-9};
                    q.submit(number, IoOperation.read(bytes, (fd, n) -> r[0] = n));
                    runUntil(q, () -> r[0] != -9);
                    assertEquals("new", new String(bytes.array(), 0, (int) r[0]), handle ? "Handle" : "plain fd");
                } finally {
                    second.close();
                }
            });
        }
    }

    @Test
    void aReadArmedButNotYetSubmittedWhenAnotherThreadClosesAndRemakesItsNumberNeverTakesTheNewFilesBytes() throws Exception {
        // Closing an fd on another thread while a read waits on it is a premature close: the read
        // is dropped and the loop says so. The number's next file must not pay for it: the old
        // read's request, not yet given to the kernel, would bind to the new file and eat its bytes.
        onRingThread(q -> {
            Fds.Pipe first = Fds.pipe();
            int number = first.readFd();
            List<String> old = new ArrayList<>();
            q.submit(number, IoOperation.read(ByteBuffer.allocate(8), new IoCompletion() {
                @Override
                public void completed(int fd, long result) {
                    old.add("completed " + result);
                }

                @Override
                public void dropped(int fd) {
                    old.add("dropped");
                }
            })); // nothing to read: the ring read is armed, and the loop has not entered the ring since
            Fds.Pipe second = remadeElsewhere(() -> Fds.close(number), first.writeFd());
            try {
                assumeTrue(second.readFd() == number, "another thread took the number first");
                assertThrows(PrematureCloseError.class, () -> {
                    for (int i = 0; i < 5; i++) q.runOnce(java.time.Duration.ZERO);
                });
                assertEquals(List.of("dropped"), old);
                ByteBuffer bytes = ByteBuffer.allocate(8);
                long[] r = {-9};
                q.submit(number, IoOperation.read(bytes, (fd, n) -> r[0] = n));
                runUntil(q, () -> r[0] != -9);
                assertEquals("new", new String(bytes.array(), 0, (int) r[0]));
            } finally {
                second.close();
            }
        });
    }

    /**
     * On another thread: closes a pipe's read end ({@code closeReadEnd}) and {@code writeEnd}, makes
     * a new pipe (which usually gets the read end's number again) and writes "new" into it.
     */
    private static Fds.Pipe remadeElsewhere(Runnable closeReadEnd, int writeEnd) {
        AtomicReference<Fds.Pipe> made = new AtomicReference<>();
        Thread other = new Thread(() -> {
            closeReadEnd.run();
            Fds.close(writeEnd);
            Fds.Pipe p = Fds.pipe();
            made.set(p);
            Fds.write(p.writeFd(), ByteBuffer.wrap("new".getBytes()));
        });
        other.start();
        join(other);
        return made.get();
    }

    /**
     * Starts a thread that closes {@code number} through {@link Fds#close}, held right after its
     * close(2) returned (before the rest of {@code Fds.close}): it counts {@code closed} down there
     * and waits for {@code release}. What the close throws goes to {@code failure}.
     */
    private static Thread closeHeldAfterClose2(int number, CountDownLatch closed, CountDownLatch release, AtomicReference<Throwable> failure) {
        Thread closer = new Thread(() -> {
            try {
                Faults.afterNth(Syscall.CLOSE, 1, () -> {
                    closed.countDown();
                    await(release);
                });
                Fds.close(number);
            } catch (Throwable t) {
                failure.set(t);
            } finally {
                Faults.clear();
                closed.countDown();
            }
        });
        closer.start();
        return closer;
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
