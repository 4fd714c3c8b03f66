package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Faults;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.SocketCalls;
import dev.ioqueue.internal.os.NativeAccounting;
import dev.ioqueue.internal.os.Syscall;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * What only the io_uring backend does: choosing it and falling back, completion I/O for owned fds
 * ({@link Handle}s: plain fds wait for readiness there too), reading ahead into kept bytes,
 * cancellation, buffer exhaustion, CQ overflow, and letting go of fds and memory. Each test makes its
 * own queue on a fresh thread with the backend forced, so both test runs exercise the ring; where
 * the kernel refuses io_uring they report skipped.
 */
class UringTest {
    /** Writes down what an operation is told, in order. */
    private static final class Seen implements IoCompletion {
        final List<String> events = new ArrayList<>();

        @Override
        public void completed(int fd, long result) {
            events.add("completed " + result);
        }

        @Override
        public void failed(int fd, java.io.IOException failure) {
            events.add("failed " + (failure instanceof SyscallFailure s ? s.errno().name() : failure.getClass().getSimpleName()));
        }

        @Override
        public void dropped(int fd) {
            events.add("dropped");
        }
    }

    /** Runs {@code body} on a new thread whose queue was made with {@code properties} set, then closes the queue. */
    static void onRingThread(Map<String, String> properties, Consumer<IoQueue> body) throws Exception {
        assumeTrue(ioUringAllowed(), "io_uring is disabled or missing here");
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            IoQueue q;
            synchronized (UringTest.class) {
                Map<String, String> saved = new java.util.HashMap<>();
                properties.forEach((k, v) -> saved.put(k, System.getProperty(k)));
                saved.put(Backend.PROPERTY, System.getProperty(Backend.PROPERTY));
                properties.forEach(System::setProperty);
                System.setProperty(Backend.PROPERTY, "io_uring");
                try {
                    q = IoQueue.current();
                } finally {
                    saved.forEach((k, v) -> {
                        if (v == null) System.clearProperty(k);
                        else System.setProperty(k, v);
                    });
                }
            }
            try {
                assertEquals(Backend.IO_URING, q.backend());
                body.accept(q);
            } catch (Throwable e) {
                failure.set(e);
            } finally {
                q.close();
            }
        });
        t.start();
        t.join();
        if (failure.get() instanceof Error e) throw e;
        if (failure.get() instanceof Exception e) throw e;
    }

    static void onRingThread(Consumer<IoQueue> body) throws Exception {
        onRingThread(Map.of(), body);
    }

    /** Whether this kernel lets the process use io_uring (sysctl io_uring_disabled 0, kernel 6.7 or later). */
    static boolean ioUringAllowed() {
        try {
            String disabled = Files.readString(Path.of("/proc/sys/kernel/io_uring_disabled")).trim();
            String[] release = System.getProperty("os.version").split("[.-]");
            int major = Integer.parseInt(release[0]);
            int minor = Integer.parseInt(release[1]);
            return disabled.equals("0") && (major > 6 || (major == 6 && minor >= 7));
        } catch (Exception e) {
            return false;
        }
    }

    static void runUntil(IoQueue q, java.util.function.BooleanSupplier done) {
        QueueTestSupport.runUntil(q, done);
    }

    @Test
    void theBackendIsTheOneAskedFor() {
        String asked = System.getProperty(Backend.PROPERTY, "auto");
        Backend got = IoQueue.current().backend();
        if (asked.equals("epoll")) assertEquals(Backend.EPOLL, got);
        else if (ioUringAllowed()) assertEquals(Backend.IO_URING, got, "auto must pick io_uring where the kernel allows it");
        else assertEquals(Backend.EPOLL, got);
    }

    @Test
    void autoFallsBackToEpollWhenSetupIsRefusedAndAForcedRingNamesTheErrno() throws Exception {
        assumeTrue(Faults.ENABLED);
        for (int errno : new int[] {Errno.ENOSYS, Errno.EPERM}) {
            AtomicReference<Object> seen = new AtomicReference<>();
            Thread t = new Thread(() -> {
                String saved = System.getProperty(Backend.PROPERTY);
                try {
                    System.setProperty(Backend.PROPERTY, "auto");
                    Faults.failNth(Syscall.IO_URING_SETUP, 1, errno);
                    IoQueue q = IoQueue.current();
                    seen.set(q.backend());
                    q.close();
                    System.setProperty(Backend.PROPERTY, "io_uring");
                    Faults.failNth(Syscall.IO_URING_SETUP, 1, errno);
                    try {
                        IoQueue.current();
                        seen.set("a forced io_uring queue was made");
                    } catch (SyscallException e) {
                        if (seen.get() == Backend.EPOLL) seen.set(e);
                    }
                } finally {
                    Faults.clear();
                    if (saved == null) System.clearProperty(Backend.PROPERTY);
                    else System.setProperty(Backend.PROPERTY, saved);
                }
            });
            t.start();
            t.join();
            SyscallException e = assertThrows(SyscallException.class, () -> {
                throw (RuntimeException) (seen.get() instanceof SyscallException s ? s : new IllegalStateException(String.valueOf(seen.get())));
            });
            assertEquals(errno, e.errnoNumber());
            assertTrue(e.getMessage().contains("io_uring_setup"), e.getMessage());
        }
    }

    @Test
    void anUnknownBackendIsRefusedByName() throws Exception {
        AtomicReference<Throwable> seen = new AtomicReference<>();
        Thread t = new Thread(() -> {
            String saved = System.getProperty(Backend.PROPERTY);
            System.setProperty(Backend.PROPERTY, "kqueue");
            try {
                IoQueue.current();
            } catch (Throwable e) {
                seen.set(e);
            } finally {
                if (saved == null) System.clearProperty(Backend.PROPERTY);
                else System.setProperty(Backend.PROPERTY, saved);
            }
        });
        t.start();
        t.join();
        assertTrue(seen.get() instanceof IllegalArgumentException && seen.get().getMessage().contains("kqueue"), String.valueOf(seen.get()));
    }

    @Test
    void bytesThatArriveBeforeTheNextReadAreKeptInOrder() throws Exception {
        onRingThread(q -> {
            Fds.Pipe p = Fds.pipe();
            try (Handle h = Handle.of(p.readFd(), q)) {
                List<Long> results = new ArrayList<>();
                IoCompletion record = (fd, r) -> results.add(r);
                ByteBuffer one = ByteBuffer.allocate(1);
                q.submit(h, IoOperation.read(one, record)); // nothing there: the ring reads from now on
                Fds.write(p.writeFd(), ByteBuffer.wrap(new byte[] {1, 2, 3}));
                runUntil(q, () -> results.size() == 1);
                assertEquals(1, one.get(0));
                assertEquals(Fds.WOULD_BLOCK, Fds.read(p.readFd(), ByteBuffer.allocate(1)), "read ahead by the ring");
                for (int expected = 2; expected <= 3; expected++) {
                    one.clear();
                    q.submit(h, IoOperation.read(one, record)); // completes in place from what is kept
                    assertEquals(expected, one.get(0));
                }
                assertEquals(List.of(1L, 1L, 1L), results, "each kept byte read once, in order");
            } finally {
                Fds.close(p.writeFd());
            }
        });
    }

    @Test
    void tenThousandCancelsRacingTheRingLoseNoByteAndNeverCompleteTwice() throws Exception {
        onRingThread(q -> {
            Fds.Pipe p = Fds.pipe();
            try (Handle h = Handle.of(p.readFd(), q)) {
                Random random = new Random(13);
                long[] delivered = {0};
                int[] completions = {0};
                ByteBuffer buffer = ByteBuffer.allocate(8);
                long written = 0;
                for (int i = 0; i < 10_000; i++) {
                    buffer.clear();
                    boolean[] done = {false};
                    IoOperation op = IoOperation.read(buffer, (fd, r) -> {
                        assertFalse(done[0], "completed twice");
                        done[0] = true;
                        completions[0]++;
                        delivered[0] += r;
                    });
                    q.submit(h, op);
                    Fds.write(p.writeFd(), ByteBuffer.wrap(new byte[] {(byte) i}));
                    written++;
                    switch (random.nextInt(3)) {
                        case 0 -> op.cancel();
                        case 1 -> {
                            q.runOnce(Duration.ZERO);
                            op.cancel();
                        }
                        default -> runUntil(q, () -> done[0]);
                    }
                    q.runOnce(Duration.ZERO);
                    assertFalse(op.isPending() && done[0]);
                    if (op.isPending()) op.cancel();
                }
                // What the cancelled reads left is kept: read it all.
                while (delivered[0] < written) {
                    buffer.clear();
                    boolean[] done = {false};
                    q.submit(h, IoOperation.read(buffer, (fd, r) -> {
                        done[0] = true;
                        delivered[0] += r;
                    }));
                    runUntil(q, () -> done[0]);
                }
                assertEquals(written, delivered[0], "every byte delivered exactly once");
                assertTrue(completions[0] > 1000, "many reads completed: " + completions[0]);
            } finally {
                Fds.close(p.writeFd());
            }
        });
    }

    // guards: a mistyped size (3 buffers, a 0-byte buffer, "abc") was clamped or rounded in silence
    @Test
    void aSizePropertyOutOfItsRangeIsRefusedNamingItOnIoUringAndOnAuto() throws Exception {
        assumeTrue(ioUringAllowed(), "io_uring is disabled or missing here");
        String[][] cases = {{"dev.ioqueue.uring.buffers", "3"}, {"dev.ioqueue.uring.buffers", "0"}, {"dev.ioqueue.uring.bufferSize", "0"},
                {"dev.ioqueue.uring.entries", "-1"}, {"dev.ioqueue.uring.entries", "abc"}, {"dev.ioqueue.uring.cqEntries", "2147483648"},
                {"dev.ioqueue.uring.cqEntries", "65537"}, // the kernel's limit: io_uring_setup would refuse it (EINVAL)
                {"dev.ioqueue.uring.fixedFiles", "-5"}, {"dev.ioqueue.uring.incrementalBuffers", "yes"}};
        for (String[] c : cases) {
            for (Backend backend : new Backend[] {Backend.IO_URING, null}) { // null: as the property says, here "auto"
                AtomicReference<Throwable> thrown = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    synchronized (UringTest.class) {
                        String saved = System.getProperty(c[0]);
                        String savedBackend = System.getProperty(Backend.PROPERTY);
                        System.setProperty(c[0], c[1]);
                        System.setProperty(Backend.PROPERTY, "auto");
                        try {
                            IoQueue.create(backend).close();
                        } catch (Throwable e) {
                            thrown.set(e);
                        } finally {
                            System.clearProperty(c[0]);
                            if (saved != null) System.setProperty(c[0], saved);
                            if (savedBackend == null) System.clearProperty(Backend.PROPERTY);
                            else System.setProperty(Backend.PROPERTY, savedBackend);
                        }
                    }
                });
                t.start();
                t.join();
                Throwable e = thrown.get();
                assertTrue(e instanceof IllegalArgumentException && e.getMessage().startsWith(c[0] + "=" + c[1] + ": must be"),
                        c[0] + "=" + c[1] + " on " + backend + ": " + e);
            }
        }
        onRingThread(Map.of("dev.ioqueue.uring.buffers", "4", "dev.ioqueue.uring.fixedFiles", "0"), q -> {}); // the edges are taken
    }

    @Test
    void exhaustedBuffersRefillAndEveryReadCompletes() throws Exception {
        onRingThread(Map.of("dev.ioqueue.uring.buffers", "4", "dev.ioqueue.uring.bufferSize", "16"), q -> {
            int n = 8;
            Fds.Pipe[] pipes = new Fds.Pipe[n];
            try {
                ByteBuffer[] got = new ByteBuffer[n];
                int[] done = {0};
                for (int i = 0; i < n; i++) {
                    pipes[i] = Fds.pipe();
                    got[i] = ByteBuffer.allocate(200);
                    q.submit(Handle.of(pipes[i].readFd(), q), IoOperation.readFully(got[i], (fd, r) -> done[0]++));
                }
                for (int i = 0; i < n; i++) Fds.write(pipes[i].writeFd(), ByteBuffer.wrap(pattern(i, 200)));
                runUntil(q, () -> done[0] == n);
                for (int i = 0; i < n; i++) assertArrayEquals(pattern(i, 200), got[i].array(), "pipe " + i);
            } finally {
                for (Fds.Pipe p : pipes) if (p != null) Fds.close(p.writeFd()); // the read ends: with the queue's handles
            }
        });
    }

    @Test
    void anOverflowingCompletionQueueLosesNothing() throws Exception {
        onRingThread(Map.of("dev.ioqueue.uring.entries", "4", "dev.ioqueue.uring.cqEntries", "4"), q -> {
            int n = 64;
            Fds.Pipe[] pipes = new Fds.Pipe[n];
            try {
                ByteBuffer[] got = new ByteBuffer[n];
                int[] done = {0};
                for (int i = 0; i < n; i++) {
                    pipes[i] = Fds.pipe();
                    got[i] = ByteBuffer.allocate(3);
                    q.submit(Handle.of(pipes[i].readFd(), q), IoOperation.readFully(got[i], (fd, r) -> done[0]++));
                }
                q.runOnce(Duration.ZERO); // every read armed
                for (int round = 0; round < 3; round++) {
                    for (int i = 0; i < n; i++) Fds.write(pipes[i].writeFd(), ByteBuffer.wrap(new byte[] {(byte) (i + round)}));
                }
                runUntil(q, () -> done[0] == n);
                for (int i = 0; i < n; i++) assertArrayEquals(new byte[] {(byte) i, (byte) (i + 1), (byte) (i + 2)}, got[i].array());
            } finally {
                for (Fds.Pipe p : pipes) if (p != null) Fds.close(p.writeFd());
            }
        });
    }

    @Test
    void closingAnFdWithOperationsInFlightDropsThemAndReallyClosesIt() throws Exception {
        onRingThread(q -> {
            Fds.SocketPair pair = Fds.socketPair();
            try {
                List<String> seen = new ArrayList<>();
                IoCompletion record = new IoCompletion() {
                    @Override
                    public void completed(int fd, long result) {
                        seen.add("completed " + result);
                    }

                    @Override
                    public void dropped(int fd) {
                        seen.add("dropped");
                    }
                };
                Handle h = Handle.of(pair.first(), q);
                q.submit(h, IoOperation.read(ByteBuffer.allocate(8), record));
                long filled = TestFds.fill(pair.first()); // the next write waits in the ring
                assertTrue(filled > 0);
                q.submit(h, IoOperation.writeFully(ByteBuffer.allocate(4096), record));
                q.runOnce(Duration.ZERO);
                h.close();
                assertFalse(TestFds.isOpen(pair.first()));
                assertEquals(List.of("dropped", "dropped"), seen.stream().sorted().toList());
                TestFds.drain(pair.second());
                assertEquals(Fds.EOF, Fds.read(pair.second(), ByteBuffer.allocate(1)), "the ring let go of the file: the peer sees the close");
            } finally {
                if (TestFds.isOpen(pair.second())) Fds.close(pair.second());
            }
        });
    }

    @Test
    void closingTheQueueWithOperationsInFlightGivesBackFilesAndMemory() throws Exception {
        long bytesBefore = TestFds.settledNativeBytes();
        Fds.SocketPair[] pair = new Fds.SocketPair[1];
        List<String> seen = new ArrayList<>();
        onRingThread(q -> {
            pair[0] = Fds.socketPair();
            q.submit(Handle.of(pair[0].first(), q), IoOperation.read(ByteBuffer.allocate(8), new IoCompletion() {
                @Override
                public void completed(int fd, long result) {
                    seen.add("completed");
                }

                @Override
                public void dropped(int fd) {
                    seen.add("dropped");
                }
            }));
            q.runOnce(Duration.ZERO);
        }); // closes the queue
        assertEquals(List.of("dropped"), seen);
        assertEquals(bytesBefore, NativeAccounting.liveBytes(), "ring and buffers freed");
        assertFalse(TestFds.isOpen(pair[0].first()), "the queue's close closed the handle bound to it");
        assertEquals(Fds.EOF, Fds.read(pair[0].second(), ByteBuffer.allocate(1)), "the peer sees the close: no ring holds the file");
        Fds.close(pair[0].second());
    }

    @Test
    void aLargeFullWriteAndReadThroughAPipeCompleteWhole() throws Exception {
        onRingThread(q -> {
            Fds.Pipe p = Fds.pipe();
            try (Handle in = Handle.of(p.readFd(), q); Handle out = Handle.of(p.writeFd(), q)) {
                byte[] data = pattern(7, 1 << 20);
                ByteBuffer got = ByteBuffer.allocateDirect(data.length);
                long[] results = {-9, -9};
                q.submit(out, IoOperation.writeFully(ByteBuffer.wrap(data), (fd, r) -> results[0] = r)); // heap: staged
                q.submit(in, IoOperation.readFully(got, (fd, r) -> results[1] = r));
                runUntil(q, () -> results[0] != -9 && results[1] != -9);
                assertEquals(data.length, results[0]);
                assertEquals(data.length, results[1]);
                byte[] back = new byte[data.length];
                got.flip().get(back);
                assertArrayEquals(data, back);
            }
        });
    }

    @Test
    void aWriteToAClosedPeerFailsWithEpipe() throws Exception {
        onRingThread(q -> {
            Fds.Pipe p = Fds.pipe();
            Fds.close(p.readFd());
            List<String> seen = new ArrayList<>();
            Handle out = Handle.of(p.writeFd(), q);
            q.submit(out, IoOperation.write(ByteBuffer.wrap(new byte[] {1}), new IoCompletion() {
                @Override
                public void completed(int fd, long result) {
                    seen.add("completed " + result);
                }

                @Override
                public void failed(int fd, java.io.IOException failure) {
                    seen.add(((SyscallFailure) failure).errno().name());
                }
            }));
            runUntil(q, () -> !seen.isEmpty());
            assertEquals(List.of("EPIPE"), seen);
            out.close();
        });
    }

    @Test
    void aSecondReadOnTheSameFdIsRefusedAndTheFirstKeepsWaiting() throws Exception {
        onRingThread(q -> {
            Fds.Pipe p = Fds.pipe();
            try (Handle h = Handle.of(p.readFd(), q)) {
                long[] got = {0};
                q.submit(h, IoOperation.read(ByteBuffer.allocate(1), (fd, r) -> got[0] = r));
                q.runOnce(Duration.ZERO);
                assertThrows(IllegalStateException.class, () -> q.submit(h, IoOperation.read(ByteBuffer.allocate(1), (fd, r) -> {})));
                assertThrows(IllegalStateException.class, () -> q.await(h, ReadyEvent.READ, (fd, e) -> {}));
                TestFds.writeByte(p.writeFd(), 5);
                runUntil(q, () -> got[0] == 1);
            } finally {
                Fds.close(p.writeFd());
            }
        });
    }

    @Test
    void aHandlesFdGetsAFixedFileSlotAndItsCloseGivesItBack() throws Exception {
        assumeTrue(Faults.ENABLED);
        onRingThread(q -> {
            Fds.SocketPair raw = Fds.socketPair();
            Fds.SocketPair owned = Fds.socketPair();
            Handle handle = Handle.of(owned.first());
            try {
                long[] got = {-9};
                long before = Faults.calls(Syscall.IO_URING_REGISTER);
                q.submit(raw.first(), IoOperation.read(ByteBuffer.allocate(1), (fd, r) -> got[0] = r));
                assertEquals(before, Faults.calls(Syscall.IO_URING_REGISTER), "a plain fd waits for readiness: no buffer ring, no slot");
                q.submit(handle, IoOperation.read(ByteBuffer.allocate(1), (fd, r) -> got[0] = r));
                assertEquals(before + 2, Faults.calls(Syscall.IO_URING_REGISTER), "a Handle's first ring read: the buffer ring, and a slot (one files update)");
                TestFds.writeByte(owned.second(), 3);
                runUntil(q, () -> got[0] == 1);
                q.submit(handle, IoOperation.writeFully(ByteBuffer.wrap(new byte[] {4}), (fd, r) -> got[0] = 40 + r));
                runUntil(q, () -> got[0] == 41);
                assertEquals(4, TestFds.readByte(owned.second()), "written through the slot");
                handle.close();
                assertEquals(before + 3, Faults.calls(Syscall.IO_URING_REGISTER), "the close gives the slot back first");
                assertEquals(Fds.EOF, Fds.read(owned.second(), ByteBuffer.allocate(1)), "the table let go of the file: the peer sees the close");
            } finally {
                raw.close();
                Fds.close(owned.second());
            }
        });
    }

    private static byte[] pattern(int seed, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte) (seed * 31 + i * 7);
        return b;
    }

    // guards: a full read lost what its first read(2) took before the ring took over (io_uring finding F1)
    @Test
    void aFullReadCountsWhatTheFirstSyscallTookBeforeTheRing() throws Exception {
        onRingThread(q -> {
            Fds.SocketPair p = Fds.socketPair();
            try (Handle h = Handle.of(p.first(), q)) {
                Fds.write(p.second(), ByteBuffer.wrap(new byte[100]));
                Seen seen = new Seen();
                ByteBuffer dst = ByteBuffer.allocate(200);
                q.submit(h, IoOperation.readFully(dst, seen)); // takes 100 itself, the ring the rest
                Fds.write(p.second(), ByteBuffer.wrap(new byte[100]));
                runUntil(q, () -> !seen.events.isEmpty());
                assertEquals(List.of("completed 200"), seen.events);
                Fds.write(p.second(), ByteBuffer.wrap(new byte[100]));
                Seen atEof = new Seen();
                q.submit(h, IoOperation.readFully(ByteBuffer.allocate(200), atEof));
                Sockets.shutdownOutput(p.second());
                runUntil(q, () -> !atEof.events.isEmpty());
                assertEquals(List.of("completed 100"), atEof.events, "what came before end-of-file, not EOF");
            } finally {
                Fds.close(p.second());
            }
        });
    }

    // guards: a cancelled ring write was still written (io_uring finding F2)
    @Test
    void aWithdrawnWriteIsNeverWrittenAndOneAlreadyWrittenCannotBeWithdrawn() throws Exception {
        onRingThread(q -> {
            Fds.SocketPair p = Fds.socketPair();
            try (Handle h = Handle.of(p.first(), q)) {
                Seen seen = new Seen();
                // What the socket takes is written at once (as on epoll): only a write that would
                // block reaches the ring, where it can be withdrawn.
                long filled = TestFds.fill(p.first());
                IoOperation early = IoOperation.write(ByteBuffer.wrap("CANCELLED".getBytes()), seen);
                q.submit(h, early); // queued in the ring, not yet given to the kernel
                assertTrue(early.cancel());
                assertEquals(filled, TestFds.drain(p.second()));
                q.runOnce(Duration.ofMillis(20));
                assertEquals(Fds.WOULD_BLOCK, Fds.read(p.second(), ByteBuffer.allocate(64)), "the withdrawn write never ran");
                assertEquals(List.of(), seen.events);

                filled = TestFds.fill(p.first()); // the next write waits in the kernel for room
                IoOperation blocked = IoOperation.write(ByteBuffer.wrap("BLOCKED".getBytes()), seen);
                q.submit(h, blocked);
                q.runOnce(Duration.ZERO);
                assertTrue(blocked.cancel(), "a write waiting for room is withdrawn");
                assertEquals(filled, TestFds.drain(p.second()));
                q.runOnce(Duration.ofMillis(20));
                assertEquals(Fds.WOULD_BLOCK, Fds.read(p.second(), ByteBuffer.allocate(64)), "and never runs");

                IoOperation done = IoOperation.write(ByteBuffer.wrap("DONE".getBytes()), seen);
                q.submit(h, done); // room: written, and completed, before submit returns
                assertFalse(done.cancel(), "written already: nothing to withdraw");
                assertEquals(List.of("completed 4"), seen.events);
                assertEquals(4, Fds.read(p.second(), ByteBuffer.allocate(64)));
            } finally {
                Fds.close(p.second());
            }
        });
    }

    // guards: kept bytes nobody read starved other fds of provided buffers (io_uring finding F3)
    @Test
    void bytesNobodyReadsCannotStarveOtherReadsOfBuffers() throws Exception {
        onRingThread(Map.of("dev.ioqueue.uring.buffers", "16"), q -> {
            int n = 40;
            List<Fds.SocketPair> pairs = new ArrayList<>();
            List<Handle> handles = new ArrayList<>();
            try {
                int[] firsts = {0};
                for (int i = 0; i < n; i++) {
                    Fds.SocketPair p = Fds.socketPair();
                    pairs.add(p);
                    handles.add(Handle.of(p.first(), q));
                    q.submit(handles.get(i), IoOperation.read(ByteBuffer.allocate(100), (fd, r) -> firsts[0]++));
                    Fds.write(p.second(), ByteBuffer.wrap(new byte[3000])); // 2900 kept, unread
                }
                runUntil(q, () -> firsts[0] == n);
                Fds.SocketPair fresh = Fds.socketPair();
                pairs.add(fresh);
                handles.add(Handle.of(fresh.first(), q));
                long[] got = {-9};
                q.submit(handles.get(n), IoOperation.read(ByteBuffer.allocate(10), (fd, r) -> got[0] = r));
                Fds.write(fresh.second(), ByteBuffer.wrap(new byte[5]));
                runUntil(q, () -> got[0] != -9);
                assertEquals(5, got[0]);
                for (Handle h : handles.subList(0, n)) { // the kept bytes are all still there, in order
                    ByteBuffer rest = ByteBuffer.allocate(2900);
                    long[] r = {-9};
                    q.submit(h, IoOperation.readFully(rest, (fd, c) -> r[0] = c));
                    runUntil(q, () -> r[0] != -9);
                    assertEquals(2900, r[0]);
                }
            } finally {
                for (Handle h : handles) h.close();
                for (Fds.SocketPair p : pairs) Fds.close(p.second());
            }
        });
    }

    // guards: a write made while the loop dispatches completions joins the round's batch (one
    // io_uring_enter for the round's writes) instead of a write(2) of its own; a second write on
    // the fd settles it first (so two in a row behave as on epoll: BackendParityTest); one made
    // outside the dispatch (here: around the loop) completes in place, as on epoll
    @Test
    void aWriteFromACompletionGoesToTheRingAndOneFromOutsideCompletesInPlace() throws Exception {
        onRingThread(q -> {
            Fds.SocketPair in = Fds.socketPair();
            Fds.SocketPair out = Fds.socketPair();
            try (Handle reader = Handle.of(in.first(), q); Handle writer = Handle.of(out.first(), q)) {
                long[] whenSubmitReturned = {-2};
                Seen wrote = new Seen();
                ByteBuffer echo = ByteBuffer.allocateDirect(16);
                q.submit(reader, IoOperation.read(echo, (fd, n) -> {
                    echo.flip();
                    long entersBefore = q.stats().ringEnters();
                    q.submit(writer, IoOperation.writeFully(echo, wrote));
                    whenSubmitReturned[0] = wrote.events.size();
                    assertEquals(entersBefore, q.stats().ringEnters(), "no enter of its own");
                }));
                Fds.write(in.second(), ByteBuffer.wrap("ping".getBytes()));
                runUntil(q, () -> !wrote.events.isEmpty());
                assertEquals(0, whenSubmitReturned[0], "from a completion: not completed when submit returned");
                assertEquals(List.of("completed 4"), wrote.events);
                ByteBuffer got = ByteBuffer.allocate(16);
                assertEquals(4, Fds.read(out.second(), got));
                Seen outside = new Seen();
                q.submit(writer, IoOperation.writeFully(ByteBuffer.wrap("pong".getBytes()), outside));
                assertEquals(List.of("completed 4"), outside.events, "outside the dispatch: completed in place");
            } finally {
                Fds.close(in.second());
                Fds.close(out.second());
            }
        });
    }

    // guards: a blocking write posted to the handle's loop met a write staged in the round (made
    // inside a completion), whose completion, settled first, closed the handle: the loop's refusal
    // (IllegalStateException) reached the blocked thread instead of the drop (outside round 11
    // found the cross-thread form of this, a close begun between the loop's look and its submit)
    @Test
    void aBlockingWriteWhoseLoopClosesTheHandleFirstIsDropped() throws Exception {
        onRingThread(q -> {
            Fds.SocketPair in = Fds.socketPair();
            Fds.SocketPair out = Fds.socketPair();
            Handle writer = Handle.of(out.first(), q);
            AtomicReference<Object> blocked = new AtomicReference<>();
            Thread[] writerThread = new Thread[1];
            try (Handle reader = Handle.of(in.first(), q)) {
                ByteBuffer got = ByteBuffer.allocateDirect(16);
                q.submit(reader, IoOperation.read(got, (fd, n) -> {
                    got.flip();
                    // staged until the round's enter; its completion closes the handle
                    q.submit(writer, IoOperation.writeFully(got, (wfd, written) -> writer.close()));
                    writerThread[0] = Thread.ofVirtual().start(() -> {
                        try {
                            blocked.set(BlockingIo.write(writer, ByteBuffer.wrap(new byte[] {2})));
                        } catch (Throwable t) {
                            blocked.set(t);
                        }
                    });
                    try {
                        VirtualThreadTest.awaitParked(writerThread[0]); // its write is posted: it runs in this round's tasks
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                }));
                Fds.write(in.second(), ByteBuffer.wrap(new byte[] {1}));
                runUntil(q, () -> blocked.get() != null);
                Object outcome = blocked.get();
                assertTrue(outcome instanceof WaitDroppedException || outcome instanceof java.nio.channels.ClosedChannelException,
                        String.valueOf(outcome));
                assertFalse(writer.isOpen());
                ByteBuffer echoed = ByteBuffer.allocate(4);
                assertEquals(1, Fds.read(out.second(), echoed), "the staged write went out before the close");
            } finally {
                Fds.close(in.second());
                Fds.close(out.second());
            }
        });
    }

    // guards: a ring write from a closed arena's memory (io_uring finding F4)
    @Test
    void aWriteFromAClosedArenaIsRefusedAndLeavesNothingPending() throws Exception {
        onRingThread(q -> {
            Fds.Pipe p = Fds.pipe();
            try (Handle out = Handle.of(p.writeFd(), q)) {
                MemorySegment gone;
                try (Arena arena = Arena.ofConfined()) {
                    gone = arena.allocate(16);
                }
                IoOperation op = IoOperation.write(gone, new Seen());
                assertThrows(IllegalStateException.class, () -> q.submit(out, op));
                assertFalse(op.isPending());
                q.runOnce(Duration.ofMillis(20));
                assertEquals(Fds.WOULD_BLOCK, Fds.read(p.readFd(), ByteBuffer.allocate(64)), "no freed memory written");
                Seen seen = new Seen();
                q.submit(out, IoOperation.write(ByteBuffer.wrap(new byte[] {1}), seen));
                runUntil(q, () -> !seen.events.isEmpty());
                assertEquals(List.of("completed 1"), seen.events, "the fd works on");
            } finally {
                Fds.close(p.readFd());
            }
        });
    }

    // guards: a number closed on another thread while the ring read it: false PrematureCloseError, the old file's bytes (io_uring finding F5); now a Handle's close, exact
    @Test
    void aHandleClosedOnAnotherThreadWhileTheRingReadsIsDroppedOnceAndItsNumbersNextFileKeepsItsBytes() throws Exception {
        onRingThread(q -> {
            Fds.SocketPair old = Fds.socketPair();
            Handle h = Handle.of(old.first(), q);
            int fd = old.first();
            Seen seen = new Seen();
            q.submit(h, IoOperation.read(ByteBuffer.allocate(64), seen));
            q.runOnce(Duration.ZERO); // the ring reads it from now on
            AtomicReference<Fds.SocketPair> made = new AtomicReference<>();
            List<Fds.SocketPair> extra = new java.util.ArrayList<>();
            Thread other = new Thread(() -> {
                h.close(); // posted to the ring's loop; returns once close(2) is done
                made.set(Fds.socketPair()); // the lowest free number: usually the closed one
                // A lower number freed meanwhile (another thread's file) takes the first pair: a few more find it.
                for (int i = 0; i < 16 && made.get().first() != fd && made.get().second() != fd; i++) { // (fd as a second end: skipped below)
                    extra.add(made.get());
                    made.set(Fds.socketPair());
                }
                Fds.write(made.get().second(), ByteBuffer.wrap("new".getBytes()));
            });
            other.start();
            runUntil(q, () -> !other.isAlive()); // the loop runs the close
            Fds.SocketPair fresh = made.get();
            try {
                assertEquals(List.of("dropped"), seen.events, "told once, no PrematureCloseError out of the loop");
                assertEquals(Fds.EOF, Fds.read(old.second(), ByteBuffer.allocate(1)), "the ring let go of the old file");
                assumeTrue(fresh.first() == fd, "the kernel gave the number to another end");
                for (int i = 0; i < 3; i++) q.runOnce(Duration.ZERO);
                ByteBuffer got = ByteBuffer.allocate(64);
                assertEquals(3, Fds.read(fresh.first(), got), "the new file's bytes, none taken by the old file's read");
                assertEquals("new", new String(got.array(), 0, 3));
            } finally {
                fresh.close();
                for (Fds.SocketPair e : extra) e.close();
                Fds.close(old.second());
            }
        });
    }

    // guards: the ring's fixed-size buffers split datagrams and eventfd reads (io_uring finding F6)
    @Test
    void datagramsEventfdsAndOtherMessageFdsKeepTheirReadSizes() throws Exception {
        onRingThread(q -> {
            long pair = SocketCalls.socketpair(SocketCalls.AF_UNIX, 2 | SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC, Native.threadErrno()); // SOCK_DGRAM
            int a = Native.first(pair);
            int b = Native.second(pair);
            try (Handle h = Handle.of(a, q)) {
                long[] got = {-9};
                q.submit(h, IoOperation.read(ByteBuffer.allocate(8000), (fd, r) -> got[0] = r));
                Fds.write(b, ByteBuffer.wrap(new byte[6000]));
                runUntil(q, () -> got[0] != -9);
                assertEquals(6000, got[0], "one datagram, whole");
            } finally {
                Fds.close(b);
            }
            try (Handle e = Handle.of(Fds.eventfd(3), q)) { // an owned eventfd: still not a stream
                Seen seen = new Seen();
                q.submit(e, IoOperation.read(ByteBuffer.allocate(4), seen));
                runUntil(q, () -> !seen.events.isEmpty());
                assertEquals(List.of("failed EINVAL"), seen.events, "as read(2) of 4 bytes from an eventfd says");
            }
        });
    }

    // guards: a refused buffer ring left reads pending for ever (io_uring finding F7)
    @Test
    void refusedProvidedBuffersLeaveReadsToReadinessAndNothingPending() throws Exception {
        assumeTrue(Faults.ENABLED);
        onRingThread(q -> {
            Fds.Pipe p = Fds.pipe();
            try (Handle h = Handle.of(p.readFd(), q)) {
                Faults.failNth(Syscall.IO_URING_REGISTER, 1, Errno.EINVAL); // the buffer ring's registration
                long[] got = {-9};
                q.submit(h, IoOperation.read(ByteBuffer.allocate(8), (fd, r) -> got[0] = r));
                Faults.clear();
                TestFds.writeByte(p.writeFd(), 7);
                runUntil(q, () -> got[0] != -9);
                assertEquals(1, got[0]);
            } finally {
                Faults.clear();
                Fds.close(p.writeFd());
            }
        });
    }

    // guards: a FIFO's end-of-file was told for ever after a new writer came (io_uring finding N1)
    @Test
    void aFifoAtEndOfFileReadsAgainWhenANewWriterComes() throws Exception {
        java.nio.file.Path fifo = java.nio.file.Files.createTempDirectory("ioqueue-fifo").resolve("f");
        try {
            assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0, "mkfifo");
            onRingThread(q -> {
                Handle reader = Handle.of(TestFds.open(fifo, 0x800), q); // O_RDONLY | O_NONBLOCK
                try {
                    int writer = TestFds.open(fifo, 0x801); // O_WRONLY | O_NONBLOCK
                    ByteBuffer got = ByteBuffer.allocate(16);
                    IoOperation first = IoOperation.read(got, (fd, r) -> {});
                    q.submit(reader, first);
                    assertTrue(first.cancel(), "cancelled while it waited");
                    Fds.write(writer, ByteBuffer.wrap("abc".getBytes()));
                    Fds.close(writer);
                    assertEquals("abc", readOnce(q, reader));
                    assertEquals("EOF", readOnce(q, reader));
                    int second = TestFds.open(fifo, 0x801);
                    Fds.write(second, ByteBuffer.wrap("second".getBytes()));
                    assertEquals("second", readOnce(q, reader), "a FIFO's end-of-file lasts until a new writer comes");
                    Fds.close(second);
                } finally {
                    reader.close();
                }
            });
        } finally {
            java.nio.file.Files.deleteIfExists(fifo);
            java.nio.file.Files.deleteIfExists(fifo.getParent());
        }
    }

    /** Runs {@code body} with a new FIFO's path (skipped without mkfifo); both backends (this thread's queue). */
    private static void withFifo(java.util.function.Consumer<java.nio.file.Path> body) throws Exception {
        java.nio.file.Path fifo = java.nio.file.Files.createTempDirectory("ioqueue-fifo").resolve("f");
        try {
            assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0, "mkfifo");
            body.accept(fifo);
        } finally {
            java.nio.file.Files.deleteIfExists(fifo);
            java.nio.file.Files.deleteIfExists(fifo.getParent());
        }
    }

    // guards: an end-of-file that came with bytes was told again to the next read (io_uring round 3)
    @Test
    void anEndOfFileThatCameWithBytesIsNotToldAgainAfterANewWriterWrote() throws Exception {
        withFifo(fifo -> {
            IoQueue q = IoQueue.current();
            Handle reader = Handle.of(TestFds.open(fifo, 0x800), q);
            try {
                int writer = TestFds.open(fifo, 0x801);
                ByteBuffer got = ByteBuffer.allocate(16);
                long[] r = {-9};
                q.submit(reader, IoOperation.read(got, (fd, c) -> r[0] = c));
                Fds.write(writer, ByteBuffer.wrap("xy".getBytes()));
                Fds.close(writer); // bytes and end-of-file before the loop runs
                runUntil(q, () -> r[0] != -9);
                assertEquals("xy", new String(got.array(), 0, (int) r[0]));
                int second = TestFds.open(fifo, 0x801);
                Fds.write(second, ByteBuffer.wrap("z".getBytes()));
                assertEquals("z", readOnce(q, reader), "the end-of-file was that moment's, not the new writer's");
                Fds.close(second);
            } finally {
                reader.close();
            }
        });
    }

    // guards: a full read that hung up after taking bytes completed with EOF (io_uring round 3)
    @Test
    void aFullReadThatHangsUpAfterTakingBytesCompletesWithThem() throws Exception {
        withFifo(fifo -> {
            IoQueue q = IoQueue.current();
            Handle reader = Handle.of(TestFds.open(fifo, 0x800), q);
            try {
                int writer = TestFds.open(fifo, 0x801);
                Fds.write(writer, ByteBuffer.wrap(new byte[100]));
                long[] r = {-9};
                q.submit(reader, IoOperation.readFully(ByteBuffer.allocate(1000), (fd, c) -> r[0] = c)); // takes 100, waits
                Fds.close(writer); // hang-up, reported to a poll() that does not run it yet
                List<Runnable> ready = new ArrayList<>();
                long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                while (ready.isEmpty() && System.nanoTime() < deadline) q.poll(ready, Duration.ofMillis(100));
                int second = TestFds.open(fifo, 0x801); // a new writer: read(2) would now block, not say EOF
                ready.forEach(Runnable::run);
                runUntil(q, () -> r[0] != -9);
                assertEquals(100, r[0], "what came before the hang-up, not EOF");
                Fds.close(second);
            } finally {
                reader.close();
            }
        });
    }

    private static String readOnce(IoQueue q, Handle h) {
        ByteBuffer got = ByteBuffer.allocate(64);
        long[] r = {-9};
        q.submit(h, IoOperation.read(got, (f, c) -> r[0] = c));
        runUntil(q, () -> r[0] != -9);
        return r[0] == Fds.EOF ? "EOF" : new String(got.array(), 0, (int) r[0]);
    }

    // guards: a read that found bytes left the ring reading ahead; a close and remake of the number elsewhere before the next enter fed the new file's bytes to the old fd (number reuse race)
    @Test
    void theRingNeverReadsAheadIntoANumberClosedAndMadeAgainElsewhereBeforeItsNextEnter() throws Exception {
        // A read that found bytes at once may leave the ring reading ahead, with nothing pending:
        // another thread may then close the fd and make the number again before this loop enters
        // the ring. A request naming the number would take the new file's bytes as the old one's.
        onRingThread(q -> {
            Fds.Pipe first = Fds.pipe();
            Handle owner = Handle.of(first.readFd(), q);
            int number = first.readFd();
            TestFds.writeByte(first.writeFd(), 1);
            long[] got = {-9};
            q.submit(owner, IoOperation.read(ByteBuffer.allocate(8), (fd, r) -> got[0] = r));
            assertEquals(1, got[0], "completed in place, by read(2)"); // the loop has not entered the ring since
            Fds.Pipe[] second = new Fds.Pipe[1];
            Thread other = new Thread(() -> second[0] = QueueTestSupport.remadeElsewhere(owner::close, first.writeFd()));
            other.start();
            runUntil(q, () -> !other.isAlive()); // the loop runs the posted close
            try {
                assumeTrue(second[0].readFd() == number, "another thread took the number first");
                for (int i = 0; i < 3; i++) q.runOnce(java.time.Duration.ZERO); // enters the ring
                ByteBuffer bytes = ByteBuffer.allocate(8);
                assertEquals(3, Fds.read(number, bytes), "the new file's bytes, none read ahead for the old one");
                assertEquals("new", new String(bytes.array(), 0, 3));
            } finally {
                second[0].close();
            }
        });
    }
}
