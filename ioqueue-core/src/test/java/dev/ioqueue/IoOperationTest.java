package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class IoOperationTest extends QueueTestSupport {
    /** Records what a completion was told, in order (readable from any thread). */
    static final class Outcomes implements IoCompletion {
        final List<String> seen = java.util.Collections.synchronizedList(new ArrayList<>());

        @Override
        public void completed(int fd, long result) {
            seen.add("completed " + result);
        }

        @Override
        public void failed(int fd, java.io.IOException failure) {
            seen.add("failed " + failure.getMessage());
        }

        @Override
        public void dropped(int fd) {
            seen.add("dropped");
        }
    }

    @Test
    void readOfReadyFdCompletesBeforeSubmitReturns() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            TestFds.writeByte(p.writeFd(), 42);
            Outcomes out = new Outcomes();
            ByteBuffer buf = ByteBuffer.allocate(16);
            q.submit(p.readFd(), IoOperation.read(buf, out));
            assertEquals(List.of("completed 1"), out.seen);
            assertEquals(42, buf.get(0));
            assertFalse(q.running(), "nothing waits");
        }
    }

    @Test
    void readWaitsSilentlyThroughSpuriousWakeUps() {
        IoQueue q = IoQueue.current();
        // A plain fd waits for readiness on both backends (the ring reads ahead for owned fds only).
        try (Fds.Pipe p = Fds.pipe()) {
            Outcomes out = new Outcomes();
            q.submit(p.readFd(), IoOperation.read(ByteBuffer.allocate(16), out));
            assertTrue(out.seen.isEmpty());
            // The byte arrives and is taken by someone else before the operation runs: a wake-up
            // with nothing to read, which must not reach the completion.
            TestFds.writeByte(p.writeFd(), 1);
            List<Runnable> woken = new ArrayList<>();
            assertEquals(1, q.poll(woken, Duration.ofSeconds(5)));
            assertEquals(1, TestFds.readByte(p.readFd()));
            woken.get(0).run();
            q.runOnce(Duration.ofMillis(20));
            assertTrue(out.seen.isEmpty(), "a spurious wake-up reached the completion: " + out.seen);
            assertTrue(q.running(), "still waiting");
            TestFds.writeByte(p.writeFd(), 2);
            q.runOnce(Duration.ofSeconds(5));
            assertEquals(List.of("completed 1"), out.seen);
        }
    }

    @Test
    void readAtEndOfFileCompletesWithEof() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        Outcomes out = new Outcomes();
        q.submit(p.readFd(), IoOperation.read(new byte[8], 0, 8, out));
        Fds.close(p.writeFd());
        q.run();
        assertEquals(List.of("completed " + Fds.EOF), out.seen);
        Fds.close(p.readFd());
    }

    @Test
    void hungUpFdWhoseOperationStillWouldBlockEndsWithoutSpinning() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        TestFds.writeByte(p.writeFd(), 1);
        Fds.close(p.writeFd()); // HANGUP from now on, reported at every poll
        int[] attempts = {0};
        Outcomes out = new Outcomes();
        IoOperation needsFourBytes = new IoOperation(ReadyEvent.READ) {
            @Override
            protected long attempt(int fd) {
                attempts[0]++;
                return Fds.WOULD_BLOCK; // a protocol that needs more than the one byte there
            }

            @Override
            protected void completed(int fd, long result) {
                out.completed(fd, result);
            }
        };
        Cancellable hold = q.hold(); // so each round below sleeps its 50 ms unless the fd keeps it busy
        long cpuBefore = TestFds.threadCpuMillis();
        q.submit(p.readFd(), needsFourBytes);
        long end = System.nanoTime() + Duration.ofSeconds(1).toNanos();
        while (System.nanoTime() < end) q.runOnce(Duration.ofMillis(50));
        long cpu = TestFds.threadCpuMillis() - cpuBefore;
        hold.cancel();
        assertEquals(List.of("completed " + Fds.EOF), out.seen);
        assertTrue(attempts[0] <= 2, "attempts: " + attempts[0]);
        assertTrue(cpu < 300, "the loop spun for " + cpu + " ms of CPU in 1 s");
        Fds.close(p.readFd());
    }

    @Test
    void writeToHungUpFdThatWouldBlockFailsWithEpipe() {
        IoQueue q = IoQueue.current();
        Fds.SocketPair s = Fds.socketPair();
        Outcomes out = new Outcomes();
        IoOperation neverFits = new IoOperation(ReadyEvent.WRITE) {
            @Override
            protected long attempt(int fd) {
                return Fds.WOULD_BLOCK;
            }

            @Override
            protected void completed(int fd, long result) {
                out.completed(fd, result);
            }

            @Override
            protected void failed(int fd, java.io.IOException failure) {
                out.seen.add(failure instanceof SyscallFailure e ? "failed " + e.errno() : "failed " + failure);
            }
        };
        Fds.close(s.second());
        q.submit(s.first(), neverFits);
        q.run();
        assertEquals(List.of("failed EPIPE"), out.seen);
        Fds.close(s.first());
    }

    @Test
    void blockingFdIsRefusedWithTheFixInTheMessage() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Fds.setNonBlocking(p.readFd(), false);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> q.submit(p.readFd(), IoOperation.read(ByteBuffer.allocate(1), new Outcomes())));
            assertTrue(e.getMessage().contains("fd " + p.readFd() + " is blocking"), e.getMessage());
            assertTrue(e.getMessage().contains("Fds.setNonBlocking(" + p.readFd() + ", true)"), e.getMessage());
            assertFalse(q.running(), "nothing was registered");
            Fds.setNonBlocking(p.readFd(), true);
            Outcomes out = new Outcomes();
            q.submit(p.readFd(), IoOperation.read(ByteBuffer.allocate(1), out));
            assertTrue(q.running(), "accepted once non-blocking");
        }
    }

    @Test
    void blockingFdCheckIsRedoneAfterTheNumberIsMadeAgain() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        TestFds.writeByte(p.writeFd(), 1);
        q.submit(p.readFd(), IoOperation.read(ByteBuffer.allocate(1), new Outcomes()));
        int number = p.readFd();
        p.close();
        int[] raw = TestFds.rawBlockingPipe(); // made behind the library's back, as a native library would
        try {
            int blocking = raw[0] == number ? raw[0] : raw[1] == number ? raw[1] : -1;
            if (blocking < 0) return; // the kernel gave other numbers: nothing to check
            assertThrows(IllegalArgumentException.class,
                    () -> q.submit(blocking, IoOperation.read(ByteBuffer.allocate(1), new Outcomes())));
        } finally {
            TestFds.rawClose(raw[0]);
            TestFds.rawClose(raw[1]);
        }
    }

    @Test
    void secondReadOperationOnTheSameFdIsRefusedBeforeTakingData() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Outcomes first = new Outcomes();
            q.submit(p.readFd(), IoOperation.read(ByteBuffer.allocate(1), first));
            TestFds.writeByte(p.writeFd(), 9);
            q.runOnce(Duration.ZERO); // delivered; the ready hint is set, but the first completed
            TestFds.writeByte(p.writeFd(), 8);
            Outcomes waiting = new Outcomes();
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> waiting.seen.add("raw waiter"));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> q.submit(p.readFd(), IoOperation.read(ByteBuffer.allocate(1), new Outcomes())));
            assertEquals(IllegalStateException.class, e.getClass(), "no internal type in a user's refusal"); // outside round 15
            assertEquals(8, TestFds.readByte(p.readFd()), "the byte is still there");
        }
    }

    @Test
    void cancelWithdrawsAPendingOperation() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Outcomes out = new Outcomes();
            IoOperation op = IoOperation.read(ByteBuffer.allocate(1), out);
            q.submit(p.readFd(), op);
            assertTrue(op.isPending());
            assertTrue(op.cancel());
            assertFalse(op.cancel(), "once");
            assertFalse(op.isPending());
            TestFds.writeByte(p.writeFd(), 1);
            q.runOnce(Duration.ofMillis(20));
            assertTrue(out.seen.isEmpty());
            assertEquals(1, TestFds.readByte(p.readFd()), "cancel took nothing");
            q.submit(p.readFd(), op); // reusable
            TestFds.writeByte(p.writeFd(), 2);
            q.run();
            assertEquals(List.of("completed 1"), out.seen);
        }
    }

    @Test
    void closingTheFdDropsThePendingOperation() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        Outcomes out = new Outcomes();
        IoOperation op = IoOperation.read(ByteBuffer.allocate(1), out);
        q.submit(p.readFd(), op);
        p.close();
        assertEquals(List.of("dropped"), out.seen);
        assertFalse(op.isPending());
    }

    @Test
    void resubmittingFromTheCompletionOnAlwaysReadyDataNeverOverflowsTheStack() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            long written = TestFds.fill(p.writeFd());
            Fds.close(p.writeFd());
            ByteBuffer one = ByteBuffer.allocateDirect(1);
            long[] read = {0};
            int[] depth = {0, 0};
            IoCompletion loop = new IoCompletion() {
                IoOperation op;

                @Override
                public void completed(int fd, long n) {
                    if (n == Fds.EOF) return;
                    read[0] += n;
                    // A stack that grew per resubmission would show in any sample: take one in 257, coprime to the nesting cap of 16
                    // (a stack trace per byte made this test take seconds).
                    if (depth[0]++ % 257 == 0) depth[1] = Math.max(depth[1], new Throwable().getStackTrace().length);
                    one.clear();
                    q.submit(fd, op);
                }
            };
            IoOperation op = IoOperation.read(one, loop);
            loop.getClass(); // keep the field write below obvious
            try {
                var f = loop.getClass().getDeclaredField("op");
                f.setAccessible(true);
                f.set(loop, op);
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(e);
            }
            q.submit(p.readFd(), op);
            q.run();
            assertEquals(written, read[0], "every byte, one at a time");
            assertTrue(depth[1] < 1000, "stack depth " + depth[1]);
        } catch (SyscallException ignoredDoubleClose) {
            // p.close() closes the write end again: EBADF; the read end is closed first
        }
    }

    // guards (outside, round 4): a write operation woken into the ready batch is still pending; a
    // callback earlier in the same batch could submit a second write on its fd, which wrote into
    // the middle of the first's stream and then made the first's re-wait throw out of run()
    @Test
    void aSecondWriteWhileTheFirstIsWokenButNotYetRunIsRefusedAndTheStreamStaysWhole() throws Exception {
        IoQueue q = IoQueue.current();
        try (Fds.SocketPair w = Fds.socketPair(); Fds.SocketPair r = Fds.socketPair()) {
            long filled = TestFds.fill(w.first());
            ByteBuffer first = ByteBuffer.allocateDirect(64 * 1024);
            for (int i = 0; i < first.capacity(); i++) first.put(i, (byte) 'F');
            long[] firstDone = {-1};
            q.submit(w.first(), IoOperation.writeFully(first, (fd, n) -> firstDone[0] = n));
            String[] second = {"not tried"};
            q.await(r.first(), ReadyEvent.READ, (fd, events) -> {
                try {
                    q.submit(w.first(), IoOperation.writeFully(ByteBuffer.wrap(new byte[] {'S'}), (f, n) -> { }));
                    second[0] = "accepted";
                } catch (IllegalStateException e) {
                    second[0] = "refused";
                }
            });
            Fds.write(r.second(), ByteBuffer.wrap(new byte[] {1})); // readable first,
            ByteBuffer sink = ByteBuffer.allocateDirect(256 * 1024);
            long drained = 0;
            while (drained < filled) { // then writable: both in the loop's next wait, in that order
                int n = Fds.read(w.second(), sink.clear());
                if (n > 0) drained += n;
            }
            q.runOnce(Duration.ofSeconds(10));
            assertEquals("refused", second[0], "the first write is still pending");
            runUntil(q, () -> firstDone[0] >= 0);
            assertEquals(first.capacity(), firstDone[0]);
            ByteBuffer got = ByteBuffer.allocate(first.capacity());
            while (got.hasRemaining()) {
                if (Fds.read(w.second(), got) == Fds.WOULD_BLOCK) q.runOnce(Duration.ofMillis(1));
            }
            for (int i = 0; i < got.capacity(); i++) assertEquals('F', (char) got.get(i), "byte " + i + " of the first write");
        }
    }

    @Test
    void writeFullyAndReadFullyMove64MiBByteExact() {
        IoQueue q = IoQueue.current();
        int size = 64 << 20;
        byte[] data = new byte[size];
        new Random(11).nextBytes(data);
        ByteBuffer src = ByteBuffer.allocateDirect(size).put(data).flip();
        ByteBuffer dst = ByteBuffer.allocateDirect(size);
        try (Fds.Pipe p = Fds.pipe()) {
            Outcomes wrote = new Outcomes();
            Outcomes read = new Outcomes();
            q.submit(p.writeFd(), IoOperation.writeFully(src, wrote));
            q.submit(p.readFd(), IoOperation.readFully(dst, read));
            q.run();
            assertEquals(List.of("completed " + size), wrote.seen);
            assertEquals(List.of("completed " + size), read.seen);
            byte[] got = new byte[size];
            dst.flip().get(got);
            assertArrayEquals(data, got);
        }
    }

    // Found while profiling (issue 21): readFully and writeFully of a byte[] kept a hidden
    // ByteBuffer whose position stayed at the end, so a reused one moved nothing on its second
    // submission (and the ring of a benchmark stalled). Each submission now moves the whole range.
    @Test
    void reusedFullOperationsOnArraysAndSegmentsMoveTheirWholeRangeAtEachSubmission() {
        IoQueue q = IoQueue.current();
        Fds.Pipe in = Fds.pipe();
        Fds.Pipe out = Fds.pipe();
        Handle source = Handle.of(in.readFd(), q); // on io_uring the ring reads and writes handles
        Handle sink = Handle.of(out.writeFd(), q);
        byte[] array = new byte[8];
        java.lang.foreign.MemorySegment segment = java.lang.foreign.Arena.ofAuto().allocate(8);
        Outcomes seen = new Outcomes();
        IoOperation[] ops = {
            IoOperation.readFully(array, 2, 3, seen), IoOperation.writeFully(array, 2, 3, seen),
            IoOperation.readFully(segment.asSlice(0, 3), seen), IoOperation.writeFully(segment.asSlice(0, 3), seen)};
        try {
            for (int round = 0; round < 5; round++) {
                for (int pair = 0; pair < 2; pair++) {
                    byte[] sent = {(byte) (10 * round + pair), (byte) (10 * round + pair + 1), (byte) (10 * round + pair + 2)};
                    Fds.write(in.writeFd(), sent, 0, 3);
                    q.submit(source, ops[2 * pair]);
                    runUntil(q, () -> seen.seen.size() == 1);
                    q.submit(sink, ops[2 * pair + 1]);
                    runUntil(q, () -> seen.seen.size() == 2);
                    assertEquals(List.of("completed 3", "completed 3"), seen.seen, "round " + round + ", pair " + pair);
                    seen.seen.clear();
                    byte[] got = new byte[3];
                    assertEquals(3, Fds.read(out.readFd(), got, 0, 3));
                    assertArrayEquals(sent, got, "round " + round + ", pair " + pair);
                }
            }
        } finally {
            source.close();
            sink.close();
            Fds.close(in.writeFd());
            Fds.close(out.readFd());
        }
    }

    @Test
    void readFullyEndsAtEndOfFileWithWhatItGot() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        Fds.write(p.writeFd(), new byte[] {1, 2, 3}, 0, 3);
        Fds.close(p.writeFd());
        Outcomes out = new Outcomes();
        q.submit(p.readFd(), IoOperation.readFully(ByteBuffer.allocate(10), out));
        q.run();
        assertEquals(List.of("completed 3"), out.seen);
        Fds.close(p.readFd());
    }

    @Test
    void acceptCompletesWithTheNewConnection() throws Exception {
        IoQueue q = IoQueue.current();
        int listen = Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 8);
        try (java.net.Socket client = new java.net.Socket(InetAddress.getLoopbackAddress(), Sockets.localPort(listen))) {
            long[] accepted = {-1};
            q.submit(listen, IoOperation.accept((fd, conn) -> accepted[0] = conn));
            q.run();
            assertTrue(accepted[0] >= 0);
            assertTrue(Fds.isNonBlocking((int) accepted[0]));
            Fds.close((int) accepted[0]);
        } finally {
            Fds.close(listen);
        }
    }

    @Test
    void readOnlyBufferIsRefusedWhenTheOperationIsMade() {
        assertThrows(java.nio.ReadOnlyBufferException.class,
                () -> IoOperation.read(ByteBuffer.allocate(4).asReadOnlyBuffer(), new Outcomes()));
    }

    @Test
    void theQueuesOwnFdsAreRefused() {
        IoQueue q = IoQueue.current();
        q.execute(() -> {});
        int own = -1;
        for (int fd = 0; fd < 64 && own < 0; fd++) {
            try {
                q.await(fd, ReadyEvent.READ, (f, e) -> {});
                q.unregister(fd);
            } catch (IllegalArgumentException e) {
                if (e.getMessage().contains("only the queue")) own = fd;
            } catch (RuntimeException notOurs) {
                // not open, or not pollable
            }
        }
        assertTrue(own >= 0, "found one of the queue's fds");
        int fd = own;
        assertThrows(IllegalArgumentException.class, () -> q.submit(fd, IoOperation.read(ByteBuffer.allocate(8), new Outcomes())));
    }

    // ---- what the outside round of issue 11 found ----

    @Test
    void cancelFromAnotherThreadIsRefusedAndLeavesTheOperationPending() throws Exception {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Outcomes out = new Outcomes();
            IoOperation op = IoOperation.read(ByteBuffer.allocate(1), out);
            q.submit(p.readFd(), op);
            Throwable[] thrown = {null};
            Thread other = new Thread(() -> {
                try {
                    op.cancel();
                } catch (Throwable t) {
                    thrown[0] = t;
                }
            });
            other.start();
            other.join();
            assertTrue(thrown[0] instanceof IllegalStateException, String.valueOf(thrown[0]));
            assertTrue(thrown[0].getMessage().contains("queue.execute(operation::cancel)"), thrown[0].getMessage());
            assertTrue(op.isPending(), "untouched");
            TestFds.writeByte(p.writeFd(), 1);
            q.run();
            assertEquals(List.of("completed 1"), out.seen);
        }
    }

    @Test
    void anyResultOfACustomAttemptCompletesIt() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            long[] got = {0};
            IoOperation op = new IoOperation(ReadyEvent.WRITE) {
                @Override
                protected long attempt(int fd) {
                    return Long.MIN_VALUE;
                }

                @Override
                protected void completed(int fd, long result) {
                    got[0] = result;
                }
            };
            q.submit(p.writeFd(), op);
            assertEquals(Long.MIN_VALUE, got[0]);
            assertFalse(op.isPending());
        }
    }

    @Test
    void anErrorFromTheAttemptEndsTheOperationSoItCanBeSubmittedAgain() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            boolean[] fail = {true};
            Outcomes out = new Outcomes();
            IoOperation op = new IoOperation(ReadyEvent.WRITE) {
                @Override
                protected long attempt(int fd) {
                    if (fail[0]) throw new AssertionError("an Error, not an exception");
                    return 7;
                }

                @Override
                protected void completed(int fd, long result) {
                    out.completed(fd, result);
                }
            };
            assertThrows(AssertionError.class, () -> q.submit(p.writeFd(), op));
            assertFalse(op.isPending());
            fail[0] = false;
            q.submit(p.writeFd(), op);
            assertEquals(List.of("completed 7"), out.seen);
        }
    }

    @Test
    void aRefusedRegistrationLeavesTheOperationNotPending() {
        IoQueue q = IoQueue.current();
        IoOperation op = IoOperation.read(ByteBuffer.allocate(1), new Outcomes());
        int dir = TestFds.open(java.nio.file.Path.of("/tmp"), 0x10000 | 0x800); // O_DIRECTORY | O_NONBLOCK
        try {
            // A directory: the attempt fails (EISDIR) or epoll refuses it (EPERM); either way it ends.
            try {
                q.submit(dir, op);
            } catch (RuntimeException expected) {
                // EPERM from epoll
            }
            assertFalse(op.isPending());
        } finally {
            TestFds.rawClose(dir);
        }
    }

    @Test
    void anOperationKeptByTheProgramDoesNotKeepADeadThreadsQueueAlive() throws Exception {
        long before = TestFds.openFdCount();
        List<IoOperation> kept = new ArrayList<>();
        List<Fds.Pipe> pipes = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            Fds.Pipe p = Fds.pipe();
            pipes.add(p);
            IoOperation op = IoOperation.read(ByteBuffer.allocate(1), new Outcomes());
            kept.add(op);
            Thread t = new Thread(() -> IoQueue.current().submit(p.readFd(), op)); // ends without close()
            t.start();
            t.join();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (TestFds.openFdCount() > before + 2L * pipes.size() + 5 && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
        }
        assertTrue(TestFds.openFdCount() <= before + 2L * pipes.size() + 5,
                "the dead threads' queues were not released: " + TestFds.openFdCount() + " fds, " + before + " before");
        for (IoOperation op : kept) assertFalse(op.isPending(), "its queue is gone");
        for (Fds.Pipe p : pipes) p.close();
    }

    @Test
    void makingADupBlockingVoidsTheVerdictOnTheOriginal() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            TestFds.writeByte(p.writeFd(), 1);
            q.submit(p.readFd(), IoOperation.read(ByteBuffer.allocate(1), new Outcomes())); // checked: non-blocking
            int copy = Fds.dup(p.readFd());
            try {
                Fds.setNonBlocking(copy, false); // the same open file: the original is blocking now too
                assertThrows(IllegalArgumentException.class,
                        () -> q.submit(p.readFd(), IoOperation.read(ByteBuffer.allocate(1), new Outcomes())));
            } finally {
                Fds.close(copy);
            }
        }
    }

    @Test
    void anEmptyReadCompletesAtOnceEvenAfterTheFdWasFoundDrained() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            TestFds.writeByte(p.writeFd(), 1);
            Outcomes first = new Outcomes();
            q.submit(p.readFd(), IoOperation.read(ByteBuffer.allocate(8), first)); // a short read: drained
            assertEquals(List.of("completed 1"), first.seen);
            Outcomes empty = new Outcomes();
            q.submit(p.readFd(), IoOperation.read(ByteBuffer.allocate(0), empty));
            assertEquals(List.of("completed 0"), empty.seen);
        }
    }

    // guards: IoCompletion.failed rethrew from the loop by default, so a peer reset stopped a whole
    // server (run() threw ... ECONNRESET) and leaked the fd (issue 18): the failure goes to the
    // queue's handler with the fd and errno, the Handle is closed, and the loop keeps serving
    @Test
    void aPeerResetGoesToTheQueuesFailureHandlerClosesTheHandleAndTheLoopServesOn() {
        for (boolean defaultHandler : new boolean[] {false, true}) {
            IoQueue q = IoQueue.current();
            List<String> handled = new ArrayList<>();
            if (!defaultHandler) {
                q.onFailure((fd, failure) -> handled.add(fd + " " + (failure instanceof SyscallSocketException s ? s.errno().name() : failure.toString())));
            }
            Fds.SocketPair s = Fds.socketPair();
            Handle h = Handle.of(s.first(), q);
            Fds.write(s.first(), ByteBuffer.wrap(new byte[] {1, 2, 3}));
            Fds.close(s.second()); // with unread bytes: an AF_UNIX peer's reset (the reader gets ECONNRESET)
            q.submit(h, IoOperation.read(ByteBuffer.allocate(8), (fd, n) -> handled.add("completed " + n))); // failed() kept as it is
            try (Fds.Pipe other = Fds.pipe()) {
                long[] served = {-9};
                q.submit(other.readFd(), IoOperation.read(ByteBuffer.allocate(8), (fd, n) -> served[0] = n));
                TestFds.writeByte(other.writeFd(), 5);
                runUntil(q, () -> served[0] != -9 && !h.isOpen()); // run() never throws here
                assertEquals(1, served[0], "the loop went on serving");
            }
            assertEquals(defaultHandler ? List.of() : List.of(s.first() + " ECONNRESET"), handled, defaultHandler ? "logged" : "the queue's handler");
            assertFalse(h.isOpen(), "the Handle it ran on was closed");
            assertFalse(TestFds.isOpen(s.first()));
            q.close();
        }
    }

    // guards (cold review, 2026-12-07): the attempt's failure was a flag on the operation; a
    // resubmission from inside failed() whose attempt succeeded at once saw that flag, was left
    // pending without a completion, and the outer attempt then completed it with 0
    @Test
    void aResubmissionFromInsideFailedWhoseAttemptSucceedsCompletesWithItsOwnResult() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        try {
            List<String> seen = new ArrayList<>();
            int[] attempts = {0};
            IoOperation op = new IoOperation(ReadyEvent.READ) {
                @Override
                protected long attempt(int fd) {
                    if (attempts[0]++ == 0) throw new SyscallException("read", fd, 104); // ECONNRESET, once
                    return 5;
                }

                @Override
                protected void completed(int fd, long result) {
                    seen.add("completed " + result);
                }

                @Override
                protected void failed(int fd, java.io.IOException failure) {
                    seen.add("failed");
                    q.submit(fd, this); // again, from inside its failure
                }
            };
            q.submit(p.readFd(), op);
            assertEquals(List.of("failed", "completed 5"), seen);
            assertFalse(op.isPending());
        } finally {
            Fds.close(p.readFd());
            Fds.close(p.writeFd());
        }
    }

    // guards (outside round 32): Fds.close tells an fd's waiters dropped before it closes the fd; an
    // operation resubmitted from that dropped was accepted and stayed registered on the closed
    // number, and the next file to take the number got a PrematureCloseError at its first submit
    @Test
    void aResubmissionFromDroppedDuringFdsCloseIsRefusedAndLeavesNothingOnTheNumber() throws Exception {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        int number = p.readFd();
        List<String> seen = new ArrayList<>();
        IoOperation op = new IoOperation(ReadyEvent.READ) {
            @Override
            protected long attempt(int fd) {
                return Fds.WOULD_BLOCK;
            }

            @Override
            protected void completed(int fd, long result) {
                seen.add("completed " + result);
            }

            @Override
            protected void dropped(int fd) {
                seen.add("dropped");
                try {
                    q.submit(fd, this);
                } catch (IllegalStateException e) {
                    seen.add("refused: " + e.getMessage());
                }
            }
        };
        q.submit(number, op);
        Fds.close(number);
        assertEquals(List.of("dropped", "refused: submit: fd " + number
                + " is being closed (its close tells its waiters first): nothing may wait on it now"), seen);
        assertFalse(op.isPending());
        Fds.close(p.writeFd());
        Fds.SocketPair next = Fds.socketPair(); // takes the lowest free numbers: the closed one among them
        try {
            assertTrue(next.first() == number || next.second() == number, "the number came back");
            ByteBuffer got = ByteBuffer.allocate(4);
            long[] result = {Long.MIN_VALUE};
            q.submit(number, IoOperation.read(got, (fd, n) -> result[0] = n));
            Fds.write(number == next.first() ? next.second() : next.first(), ByteBuffer.wrap(new byte[] {7}));
            for (int i = 0; i < 100 && result[0] == Long.MIN_VALUE; i++) q.runOnce(Duration.ofMillis(10));
            assertEquals(1L, result[0]);
            assertEquals(List.of("dropped", seen.get(1)), seen, "the old operation was told nothing more");
        } finally {
            next.close();
        }
    }

    // guards (outside round 33): a second Fds.close of the fd from inside its own close's onDropped was
    // let through; the outer close then closed whatever file had taken the number meanwhile
    @Test
    void aSecondFdsCloseOrAHandleFromInsideTheFirstsOnDroppedIsRefusedAndTheNumberIsClosedOnce() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        int number = p.readFd();
        List<String> seen = new ArrayList<>();
        Fds.Pipe[] bystander = {null};
        q.await(number, ReadyEvent.READ, new ReadyCallback() {
            @Override
            public void onReady(int fd, Set<Event> events) {
                seen.add("ready");
            }

            @Override
            public void onDropped(int fd) {
                try {
                    Fds.close(fd);
                    seen.add("closed twice");
                } catch (IllegalStateException e) {
                    seen.add(e.getMessage());
                }
                try {
                    Handle.of(fd);
                    seen.add("a handle of it");
                } catch (IllegalStateException e) {
                    seen.add(e.getMessage()); // guards (outside round 34): it outlived the number and closed the next file's
                }
                bystander[0] = Fds.pipe(); // would take the number, had the nested close freed it
            }
        });
        Fds.close(number);
        try {
            assertEquals(List.of("close: fd " + number + " is being closed (its close tells its waiters first): that close closes it, once",
                    "Handle.of: fd " + number + " is being closed (its close tells its waiters first): a handle of it would outlive the number"), seen);
            assertEquals(1, Fds.write(bystander[0].writeFd(), ByteBuffer.wrap(new byte[] {9})), "the pipe made meanwhile is open");
            assertEquals(1, Fds.read(bystander[0].readFd(), ByteBuffer.allocate(1)));
        } finally {
            bystander[0].close();
            Fds.close(p.writeFd());
        }
    }

    // guards (outside round 51): a syscall failure of submitAnywhere's submit (EBADF from the
    // non-blocking check) escaped the loop (or reached the caller) and the operation was never told
    @Test
    void aSyscallFailureOfSubmitAnywhereGoesToTheOperationOnEitherThread() throws Exception {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        int closed = p.readFd();
        p.close();
        for (boolean fromOwner : new boolean[] {false, true}) {
            List<String> told = new ArrayList<>();
            IoOperation op = IoOperation.read(ByteBuffer.allocate(8), new IoCompletion() {
                @Override
                public void completed(int fd, long result) {
                    told.add("completed " + result);
                }

                @Override
                public void failed(int fd, java.io.IOException failure) {
                    told.add("failed " + fd + " " + ((SyscallFailure) failure).errnoName());
                }

                @Override
                public void dropped(int fd) {
                    told.add("dropped");
                }
            });
            if (fromOwner) {
                q.submitAnywhere(closed, op);
            } else {
                Thread t = Thread.ofPlatform().start(() -> q.submitAnywhere(closed, op));
                t.join();
                q.runOnce(Duration.ofSeconds(5));
            }
            assertEquals(List.of("failed " + closed + " EBADF"), told, fromOwner ? "on the owner thread" : "from another thread");
            assertFalse(op.isPending());
        }
        // What the operation's own completion throws is not the submit's failure (the review of that
        // fix: it was caught, and the operation told failed after completed)
        try (Fds.Pipe p2 = Fds.pipe()) {
            Fds.write(p2.writeFd(), new byte[] {1, 2, 3}, 0, 3);
            List<String> told = new ArrayList<>();
            IoOperation throwing = IoOperation.read(ByteBuffer.allocate(8), new IoCompletion() {
                @Override
                public void completed(int fd, long result) {
                    told.add("completed " + result);
                    throw new java.io.UncheckedIOException(new java.io.IOException("the completion's own"));
                }

                @Override
                public void failed(int fd, java.io.IOException failure) {
                    told.add("failed " + failure.getMessage());
                }
            });
            java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class, () -> q.submitAnywhere(p2.readFd(), throwing));
            assertEquals("the completion's own", e.getCause().getMessage());
            assertEquals(List.of("completed 3"), told);
        }
    }

    // guards (cold review, 2026-12-08): an operation dropped from the batch (its fd unregistered)
    // and pending elsewhere still held its place on the old number, refusing a new operation there
    @Test
    void anOperationDroppedFromTheBatchNoLongerHoldsItsPlace() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p0 = Fds.pipe(); Fds.Pipe p1 = Fds.pipe(); Fds.Pipe p2 = Fds.pipe()) {
            List<String> seen = new ArrayList<>();
            IoOperation op1 = IoOperation.read(ByteBuffer.allocate(16), told(seen, "op1"));
            IoOperation op2 = IoOperation.read(ByteBuffer.allocate(16), told(seen, "op2"));
            q.submit(p1.readFd(), op1);
            q.await(p0.readFd(), ReadyEvent.READ, (fd, ev) -> { // runs first in the batch, op1 after it
                q.unregister(p1.readFd()); // op1, collected, is dropped
                q.submit(p2.readFd(), op1); // and pending elsewhere
                q.persist(p1.readFd());
                q.submit(p1.readFd(), op2); // nothing holds p1's READ now
            });
            Fds.write(p0.writeFd(), new byte[] {1}, 0, 1);
            Fds.write(p1.writeFd(), new byte[] {2}, 0, 1);
            q.runOnce(Duration.ofSeconds(1));
            assertEquals(List.of("op1 dropped", "op2 completed 1"), seen);
            assertTrue(op1.isPending());
            q.unregister(p1.readFd());
            q.unregister(p2.readFd());
        }
    }

    // guards (cold review, 2026-12-08): a second operation was accepted (and took the data) while
    // poll had handed out the first one's completion, once a later poll let the registration go
    @Test
    void anOperationHandedOutByPollHoldsItsPlaceUntilItRuns() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            List<String> seen = new ArrayList<>();
            IoOperation op1 = IoOperation.read(ByteBuffer.allocate(16), told(seen, "op1"));
            IoOperation op2 = IoOperation.read(ByteBuffer.allocate(16), told(seen, "op2"));
            q.submit(p.readFd(), op1);
            Fds.write(p.writeFd(), new byte[] {1, 2, 3}, 0, 3);
            List<Runnable> ready = new ArrayList<>();
            q.poll(ready, Duration.ofSeconds(1)); // op1's completion handed out, not run
            Cancellable hold = q.hold();
            q.poll(new ArrayList<>(), Duration.ZERO); // a second poll: its flush lets the registration go
            hold.cancel();
            assertThrows(IllegalStateException.class, () -> q.submit(p.readFd(), op2));
            ready.forEach(Runnable::run);
            assertEquals(List.of("op1 completed 3"), seen);
        }
        // ...and not once its fd was unregistered or closed (the review of that fix: still refused)
        for (String how : new String[] {"unregister", "close"}) {
            Fds.Pipe p = Fds.pipe();
            List<String> seen = new ArrayList<>();
            IoOperation op1 = IoOperation.read(ByteBuffer.allocate(16), told(seen, "op1"));
            IoOperation op2 = IoOperation.read(ByteBuffer.allocate(16), told(seen, "op2"));
            q.submit(p.readFd(), op1);
            Fds.write(p.writeFd(), new byte[] {1, 2, 3}, 0, 3);
            List<Runnable> ready = new ArrayList<>();
            q.poll(ready, Duration.ofSeconds(1)); // op1's completion handed out, not run
            Fds.Pipe now = p;
            if (how.equals("unregister")) {
                q.unregister(p.readFd());
            } else {
                int number = p.readFd();
                Fds.close(number);
                now = TestFds.pipeAt(number);
                org.junit.jupiter.api.Assumptions.assumeTrue(now != null, "the kernel handed out other numbers");
                Fds.write(now.writeFd(), new byte[] {4}, 0, 1);
                Fds.close(p.writeFd());
            }
            q.submit(now.readFd(), op2); // op1 no longer holds the place
            ready.forEach(Runnable::run);
            runUntilQuiet(q, () -> seen.size() == 2);
            assertEquals(2, seen.size(), how);
            assertEquals(Set.of("op1 dropped", how.equals("unregister") ? "op2 completed 3" : "op2 completed 1"), Set.copyOf(seen), how);
            now.close();
        }
    }

    // guards (outside round 52, high): cancel() of an operation whose wake-up poll() had handed out
    // returned true; resubmitted elsewhere, the stale Runnable then ran it on the new fd, threw, and
    // the operation was lost, never told
    @Test
    void anOperationWhoseWakeUpPollHandedOutIsNotCancelledUnderIt() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe(); Fds.Pipe other = Fds.pipe()) {
            List<String> seen = new ArrayList<>();
            IoOperation op = IoOperation.read(ByteBuffer.allocate(16), told(seen, "op"));
            q.submit(p.readFd(), op);
            Fds.write(p.writeFd(), new byte[] {1, 2}, 0, 2);
            List<Runnable> ready = new ArrayList<>();
            assertEquals(1, q.poll(ready, Duration.ofSeconds(1)));
            assertFalse(op.cancel(), "its wake-up is handed out: the Runnable runs it");
            assertTrue(op.isPending());
            assertThrows(IllegalStateException.class, () -> q.submit(other.readFd(), op), "still pending");
            ready.forEach(Runnable::run);
            assertEquals(List.of("op completed 2"), seen);
            assertFalse(op.isPending());
        }
        // ...also once its fd was unregistered (the review of that fix: the mark it read had gone,
        // cancel returned true, and the stale Runnable told the resubmitted operation dropped)
        try (Fds.Pipe p = Fds.pipe(); Fds.Pipe other = Fds.pipe()) {
            List<String> seen = new ArrayList<>();
            IoOperation op = IoOperation.read(ByteBuffer.allocate(16), told(seen, "op"));
            q.submit(p.readFd(), op);
            Fds.write(p.writeFd(), new byte[] {1, 2}, 0, 2);
            List<Runnable> ready = new ArrayList<>();
            assertEquals(1, q.poll(ready, Duration.ofSeconds(1)));
            q.unregister(p.readFd());
            assertFalse(op.cancel(), "its wake-up is still handed out");
            assertThrows(IllegalStateException.class, () -> q.submit(other.readFd(), op), "still pending");
            ready.forEach(Runnable::run);
            assertEquals(List.of("op dropped"), seen, "told once, for the fd it was submitted on");
            q.submit(other.readFd(), op); // now it may go elsewhere
            Fds.write(other.writeFd(), new byte[] {3}, 0, 1);
            runUntilQuiet(q, () -> seen.size() == 2);
            assertEquals(List.of("op dropped", "op completed 1"), seen);
        }
    }

    // guards (outside round 52b): after the close of a queue whose poll() had handed out an
    // operation's wake-up, the operation said it was not pending though nothing had told it; resubmitted
    // on another queue, the stale Runnable then told that new submission dropped, and it was lost
    @Test
    void anOperationHandedOutByPollStaysPendingUntilItsRunnableTellsIt() throws Exception {
        List<String> seen = java.util.Collections.synchronizedList(new ArrayList<>());
        IoOperation op = IoOperation.read(ByteBuffer.allocate(16), told(seen, "op"));
        List<Throwable> failure = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread t = new Thread(() -> {
            IoQueue q = IoQueue.create(null);
            try (Fds.Pipe p = Fds.pipe()) {
                q.submit(p.readFd(), op);
                Fds.write(p.writeFd(), new byte[] {1}, 0, 1);
                List<Runnable> ready = new ArrayList<>();
                assertEquals(1, q.poll(ready, Duration.ofSeconds(1)));
                q.close();
                assertTrue(op.isPending(), "its Runnable has not told it yet");
                ready.forEach(Runnable::run);
                assertEquals(List.of("op dropped"), seen);
                assertFalse(op.isPending());
            } catch (Throwable e) {
                failure.add(e);
            }
        });
        t.start();
        t.join();
        if (!failure.isEmpty()) throw new AssertionError(failure.get(0));
    }

    private static void runUntilQuiet(IoQueue q, java.util.function.BooleanSupplier done) {
        for (int i = 0; i < 100 && !done.getAsBoolean(); i++) q.runOnce(Duration.ofMillis(50));
    }
}
