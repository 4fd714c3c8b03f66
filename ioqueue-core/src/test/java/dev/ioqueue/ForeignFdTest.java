package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ForeignFdTest extends QueueTestSupport {
    @Test
    void nonBlockingFlagCanBeReadAndChanged() {
        int[] raw = TestFds.rawBlockingPipe();
        try {
            assertFalse(Fds.isNonBlocking(raw[0]), "pipe(2) makes blocking fds");
            Fds.setNonBlocking(raw[0], true);
            assertTrue(Fds.isNonBlocking(raw[0]));
            assertEquals(Fds.WOULD_BLOCK, TestFds.readByte(raw[0]), "a read now returns at once");
            Fds.setNonBlocking(raw[0], false);
            assertFalse(Fds.isNonBlocking(raw[0]));
        } finally {
            TestFds.rawClose(raw[0]);
            TestFds.rawClose(raw[1]);
        }
    }

    @Test
    void closeOnExecCanBeReadAndChanged() {
        int[] raw = TestFds.rawPipe();
        try {
            boolean before = Fds.isCloseOnExec(raw[0]);
            Fds.setCloseOnExec(raw[0], !before);
            assertEquals(!before, Fds.isCloseOnExec(raw[0]));
            Fds.setCloseOnExec(raw[0], true);
            assertTrue(Fds.isCloseOnExec(raw[0]));
        } finally {
            TestFds.rawClose(raw[0]);
            TestFds.rawClose(raw[1]);
        }
    }

    @Test
    void dupGivesAnotherCloseOnExecFdForTheSameFile() {
        try (Fds.Pipe p = Fds.pipe()) {
            int copy = Fds.dup(p.writeFd());
            try {
                assertNotEquals(p.writeFd(), copy);
                assertTrue(Fds.isCloseOnExec(copy));
                TestFds.writeByte(copy, 5);
                assertEquals(5, TestFds.readByte(p.readFd()), "same pipe");
            } finally {
                Fds.close(copy);
            }
        }
    }

    @Test
    void callsOnBadFdsNameTheFdAndTheErrno() {
        SyscallException e = assertThrows(SyscallException.class, () -> Fds.isNonBlocking(999_999));
        assertSame(Errno.EBADF, e.errno());
        assertEquals(9, e.errnoNumber());
        assertEquals(999_999, e.fd());
        assertTrue(e.getMessage().contains("fd 999999") && e.getMessage().contains("EBADF"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Fds.setNonBlocking(-1, true));
        assertThrows(IllegalArgumentException.class, () -> Fds.dup(-3));
        assertThrows(SyscallException.class, () -> Fds.setCloseOnExec(Integer.MAX_VALUE, true));
    }

    @Test
    void errnoTableNamesEveryNumberAndRoundTrips() {
        for (Errno e : Errno.values()) {
            if (e == Errno.UNKNOWN) continue;
            assertSame(e, Errno.of(e.number()));
            assertEquals(e.name(), Errno.nameOf(e.number()));
        }
        assertSame(Errno.EAGAIN, Errno.of(11));
        assertSame(Errno.UNKNOWN, Errno.of(4000));
        assertSame(Errno.UNKNOWN, Errno.of(-5));
        assertEquals("errno 4000", Errno.nameOf(4000));
    }

    // guards: a queue's own fds (epoll, wake-up eventfd, ring) could be closed or made blocking from
    // under it (outside finding D3); the refusal is the calling thread's queue's, as only it knows them
    @Test
    void aQueuesOwnFdsAreRefusedToCloseToBlockAndToOwnOnItsThread() throws Exception {
        IoQueue q = IoQueue.current();
        List<Integer> own = TestFds.ownFds(q);
        assertEquals(TestFds.ownFdCount(q), own.size(), "epoll fd and eventfd (and the io_uring fd): " + own);
        for (int fd : own) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Fds.close(fd));
            assertTrue(e.getMessage().contains("fd " + fd) && e.getMessage().contains("only the queue"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Fds.setNonBlocking(fd, false));
            assertTrue(e.getMessage().contains("only the queue"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Handle.of(fd));
            assertTrue(e.getMessage().contains("fd " + fd), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Handle.of(fd, q));
            assertTrue(e.getMessage().contains("fd " + fd), e.getMessage());
            // a blocking read of the wake-up eventfd would take the queue's wake-ups (outside round 46b)
            e = assertThrows(IllegalArgumentException.class, () -> BlockingIo.read(fd, java.nio.ByteBuffer.allocate(4)));
            assertTrue(e.getMessage().contains("fd " + fd) && e.getMessage().contains("only that queue"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> BlockingIo.write(fd, java.nio.ByteBuffer.allocate(8)));
            assertTrue(e.getMessage().contains("fd " + fd), e.getMessage());
            assertTrue(TestFds.isOpen(fd));
        }
        try (Fds.Pipe p = Fds.pipe()) {
            PrematureCloseTest.assertQueueStillWorks(q, p);
        }
    }

    // guards (cold review): the refusal came after the thread's "last fd checked" shortcut, so the
    // number a thread had just used, closed behind its back and taken by a queue, was read anyway
    @Test
    void aNumberUsedByABlockingCallThenTakenByAQueueIsRefusedToThatThreadsNextCall() throws Exception {
        Fds.Pipe p = Fds.pipe();
        int number = p.readFd();
        TestFds.writeByte(p.writeFd(), 1);
        assertEquals(1, BlockingIo.read(number, java.nio.ByteBuffer.allocate(4))); // this thread's verdict on the number
        TestFds.rawClose(number); // behind the library's back
        CountDownLatch made = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(1);
        List<Integer> own = new ArrayList<>();
        Thread other = Thread.ofPlatform().start(() -> {
            IoQueue q = IoQueue.create(Backend.EPOLL); // its epoll fd and eventfd take the lowest free numbers
            own.addAll(TestFds.ownFds(q));
            made.countDown();
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                q.close();
            }
        });
        try {
            made.await();
            assumeTrue(own.contains(number), "the queue got other numbers: " + own);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BlockingIo.read(number, java.nio.ByteBuffer.allocate(4)));
            assertTrue(e.getMessage().contains("fd " + number), e.getMessage());
        } finally {
            done.countDown();
            other.join();
            Fds.close(p.writeFd());
        }
    }

    // cold review 49 (Fds.close) and outside round 49b (a Handle's close): a close through the library
    // on one thread left another thread's verdict on the number standing, so that thread read the
    // number, reused by a blocking pipe, with a real read(2) that never returned
    @ParameterizedTest
    @ValueSource(strings = {"Fds.close", "Handle.close"})
    void aNumberClosedThroughTheLibraryOnAnotherThreadIsCheckedAgainByAThreadThatUsedIt(String closer) throws Exception {
        Fds.Pipe p = Fds.pipe();
        int number = p.readFd();
        TestFds.writeByte(p.writeFd(), 1);
        var worker = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            assertEquals(1, (int) worker.submit(() -> BlockingIo.read(number, java.nio.ByteBuffer.allocate(4))).get());
            if (closer.equals("Fds.close")) Fds.close(number); // through the library, on this thread
            else Handle.of(number).close();
            TestFds.rawClose(p.writeFd()); // not through the library: only the close above may renew the verdicts
            int[] blocking = TestFds.rawBlockingPipe(); // made behind the library's back: a blocking read(2) would never return
            try {
                assumeTrue(blocking[0] == number, "the blocking pipe got other numbers");
                var e = assertThrows(java.util.concurrent.ExecutionException.class,
                        () -> worker.submit(() -> BlockingIo.read(number, java.nio.ByteBuffer.allocate(4))).get(5, java.util.concurrent.TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof IllegalArgumentException && e.getCause().getMessage().contains("fd " + number + " is blocking"),
                        String.valueOf(e.getCause()));
            } finally {
                TestFds.rawClose(blocking[0]);
                TestFds.rawClose(blocking[1]);
            }
        } finally {
            worker.shutdownNow();
        }
    }

    @Test
    void aHangupOfANumbersEarlierFileDoesNotEndABlockingReadOfItsNewFile() throws Exception {
        Fds.Pipe old = Fds.pipe();
        int keep = Fds.dup(old.readFd()); // the old file outlives its number, as one a native library or a child holds
        Thread first = Thread.ofVirtual().start(() -> {
            try {
                BlockingIo.read(old.readFd(), java.nio.ByteBuffer.allocate(4));
            } catch (java.io.IOException expected) {
                // interrupted: the wait gives up, its oneshot entry for (old file, number) stays armed
            }
        });
        while (first.getState() != Thread.State.WAITING) Thread.sleep(1);
        first.interrupt();
        first.join();
        Fds.close(old.readFd()); // no call is under way on it: mio's rule allows the close
        Fds.Pipe fresh = Fds.pipe();
        try {
            assumeTrue(fresh.readFd() == old.readFd(), "the new pipe got another number");
            var result = new java.util.concurrent.CompletableFuture<Object>();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4);
                    int n = BlockingIo.read(fresh.readFd(), b);
                    result.complete(n > 0 ? (int) b.get(0) : n);
                } catch (Throwable t) {
                    result.complete(t);
                }
            });
            while (reader.getState() != Thread.State.WAITING) Thread.sleep(1);
            Fds.close(old.writeFd()); // the old file hangs up, reported under the number
            Thread.sleep(100);
            assertFalse(result.isDone(), () -> "the read of the live, empty new pipe ended: " + result.join());
            TestFds.writeByte(fresh.writeFd(), 7);
            assertEquals(7, result.get(5, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            Fds.close(keep);
            fresh.close();
        }
    }

    // review of this session's diff: a queue's verdict on a plain number outlived a handle that took
    // the number and was closed on that queue, so a submit on the number, reused by a blocking pipe,
    // made a blocking read(2) that stopped the loop
    @Test
    void aQueuesVerdictOnANumberGoesWithAHandleOfItClosedThere() throws Exception {
        Fds.Pipe p = Fds.pipe();
        int number = p.readFd();
        TestFds.writeByte(p.writeFd(), 1);
        try (LoopThread loop = new LoopThread("verdict-handle")) {
            var first = new java.util.concurrent.CompletableFuture<Long>();
            loop.call(() -> {
                loop.queue.submit(number, IoOperation.read(new byte[4], 0, 4, (fd, n) -> first.complete(n))); // the verdict, kept
                return null;
            });
            assertEquals(1L, first.get(5, java.util.concurrent.TimeUnit.SECONDS));
            loop.call(() -> {
                Handle.of(number, loop.queue).close(); // the number, owned then closed on this queue (no unregister, which forgets it)
                return null;
            });
            TestFds.rawClose(p.writeFd());
            int[] blocking = TestFds.rawBlockingPipe();
            try {
                assumeTrue(blocking[0] == number, "the blocking pipe got other numbers");
                var refused = new java.util.concurrent.CompletableFuture<Throwable>();
                loop.queue.execute(() -> {
                    try {
                        loop.queue.submit(number, IoOperation.read(new byte[4], 0, 4, (fd, n) -> { }));
                        refused.complete(null);
                    } catch (Throwable t) {
                        refused.complete(t);
                    }
                });
                Throwable t = refused.get(5, java.util.concurrent.TimeUnit.SECONDS);
                assertTrue(t instanceof IllegalArgumentException && t.getMessage().contains("fd " + number + " is blocking"), String.valueOf(t));
            } finally {
                TestFds.rawClose(blocking[1]); // ends a read(2) that blocked the loop, if one did
                TestFds.rawClose(blocking[0]);
            }
        }
    }
}
