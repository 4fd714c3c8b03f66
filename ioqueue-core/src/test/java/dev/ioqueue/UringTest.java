package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ioqueue.internal.os.NativeAccounting;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Faults;
import dev.ioqueue.internal.os.Syscall;
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
 * What only the io_uring backend does: choosing it and falling back, reading ahead into kept bytes,
 * cancellation, buffer exhaustion, CQ overflow, and letting go of fds and memory. Each test makes its
 * own queue on a fresh thread with the backend forced, so both test runs exercise the ring; where
 * the kernel refuses io_uring they report skipped.
 */
class UringTest {
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
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out");
            q.runOnce(Duration.ofMillis(100));
        }
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
            try (Fds.Pipe p = Fds.pipe()) {
                List<Long> results = new ArrayList<>();
                IoCompletion record = (fd, r) -> results.add(r);
                ByteBuffer one = ByteBuffer.allocate(1);
                q.submit(p.readFd(), IoOperation.read(one, record)); // nothing there: the ring reads from now on
                Fds.write(p.writeFd(), ByteBuffer.wrap(new byte[] {1, 2, 3}));
                runUntil(q, () -> results.size() == 1);
                assertEquals(1, one.get(0));
                assertEquals(Fds.WOULD_BLOCK, Fds.read(p.readFd(), ByteBuffer.allocate(1)), "read ahead by the ring");
                for (int expected = 2; expected <= 3; expected++) {
                    one.clear();
                    q.submit(p.readFd(), IoOperation.read(one, record)); // completes in place from what is kept
                    assertEquals(expected, one.get(0));
                }
                assertEquals(List.of(1L, 1L, 1L), results, "each kept byte read once, in order");
            }
        });
    }

    @Test
    void tenThousandCancelsRacingTheRingLoseNoByteAndNeverCompleteTwice() throws Exception {
        onRingThread(q -> {
            try (Fds.Pipe p = Fds.pipe()) {
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
                    q.submit(p.readFd(), op);
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
                    q.submit(p.readFd(), IoOperation.read(buffer, (fd, r) -> {
                        done[0] = true;
                        delivered[0] += r;
                    }));
                    runUntil(q, () -> done[0]);
                }
                assertEquals(written, delivered[0], "every byte delivered exactly once");
                assertTrue(completions[0] > 1000, "many reads completed: " + completions[0]);
            }
        });
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
                    q.submit(pipes[i].readFd(), IoOperation.readFully(got[i], (fd, r) -> done[0]++));
                }
                for (int i = 0; i < n; i++) Fds.write(pipes[i].writeFd(), ByteBuffer.wrap(pattern(i, 200)));
                runUntil(q, () -> done[0] == n);
                for (int i = 0; i < n; i++) assertArrayEquals(pattern(i, 200), got[i].array(), "pipe " + i);
            } finally {
                for (Fds.Pipe p : pipes) if (p != null) p.close();
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
                    q.submit(pipes[i].readFd(), IoOperation.readFully(got[i], (fd, r) -> done[0]++));
                }
                q.runOnce(Duration.ZERO); // every read armed
                for (int round = 0; round < 3; round++) {
                    for (int i = 0; i < n; i++) Fds.write(pipes[i].writeFd(), ByteBuffer.wrap(new byte[] {(byte) (i + round)}));
                }
                runUntil(q, () -> done[0] == n);
                for (int i = 0; i < n; i++) assertArrayEquals(new byte[] {(byte) i, (byte) (i + 1), (byte) (i + 2)}, got[i].array());
            } finally {
                for (Fds.Pipe p : pipes) if (p != null) p.close();
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
                q.submit(pair.first(), IoOperation.read(ByteBuffer.allocate(8), record));
                long filled = TestFds.fill(pair.first()); // the next write waits in the ring
                assertTrue(filled > 0);
                q.submit(pair.first(), IoOperation.writeFully(ByteBuffer.allocate(4096), record));
                q.runOnce(Duration.ZERO);
                Fds.close(pair.first());
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
        long bytesBefore = NativeAccounting.liveBytes();
        Fds.SocketPair[] pair = new Fds.SocketPair[1];
        List<String> seen = new ArrayList<>();
        onRingThread(q -> {
            pair[0] = Fds.socketPair();
            q.submit(pair[0].first(), IoOperation.read(ByteBuffer.allocate(8), new IoCompletion() {
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
        Fds.write(pair[0].second(), ByteBuffer.wrap(new byte[] {9}));
        assertEquals(9, TestFds.readByte(pair[0].first()), "the byte stays for whoever reads next: no closed ring took it");
        Fds.close(pair[0].first());
        Fds.close(pair[0].second());
    }

    @Test
    void aLargeFullWriteAndReadThroughAPipeCompleteWhole() throws Exception {
        onRingThread(q -> {
            try (Fds.Pipe p = Fds.pipe()) {
                byte[] data = pattern(7, 1 << 20);
                ByteBuffer got = ByteBuffer.allocateDirect(data.length);
                long[] results = {-9, -9};
                q.submit(p.writeFd(), IoOperation.writeFully(ByteBuffer.wrap(data), (fd, r) -> results[0] = r)); // heap: staged
                q.submit(p.readFd(), IoOperation.readFully(got, (fd, r) -> results[1] = r));
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
            q.submit(p.writeFd(), IoOperation.write(ByteBuffer.wrap(new byte[] {1}), new IoCompletion() {
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
            Fds.close(p.writeFd());
        });
    }

    @Test
    void aSecondReadOnTheSameFdIsRefusedAndTheFirstKeepsWaiting() throws Exception {
        onRingThread(q -> {
            try (Fds.Pipe p = Fds.pipe()) {
                long[] got = {0};
                q.submit(p.readFd(), IoOperation.read(ByteBuffer.allocate(1), (fd, r) -> got[0] = r));
                q.runOnce(Duration.ZERO);
                assertThrows(IllegalStateException.class, () -> q.submit(p.readFd(), IoOperation.read(ByteBuffer.allocate(1), (fd, r) -> {})));
                assertThrows(IllegalStateException.class, () -> q.await(p.readFd(), ReadyEvent.READ, (fd, e) -> {}));
                TestFds.writeByte(p.writeFd(), 5);
                runUntil(q, () -> got[0] == 1);
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
                q.submit(raw.first(), IoOperation.read(ByteBuffer.allocate(1), (fd, r) -> got[0] = r)); // makes the buffer ring
                long before = Faults.calls(Syscall.IO_URING_REGISTER);
                q.submit(raw.second(), IoOperation.read(ByteBuffer.allocate(1), (fd, r) -> got[0] = r));
                assertEquals(before, Faults.calls(Syscall.IO_URING_REGISTER), "a raw fd is used as it is");
                q.submit(handle.fd(), IoOperation.read(ByteBuffer.allocate(1), (fd, r) -> got[0] = r));
                assertEquals(before + 1, Faults.calls(Syscall.IO_URING_REGISTER), "a Handle's fd takes a slot (one files update)");
                TestFds.writeByte(owned.second(), 3);
                runUntil(q, () -> got[0] == 1);
                q.submit(handle.fd(), IoOperation.writeFully(ByteBuffer.wrap(new byte[] {4}), (fd, r) -> got[0] = 40 + r));
                runUntil(q, () -> got[0] == 41);
                assertEquals(4, TestFds.readByte(owned.second()), "written through the slot");
                handle.close();
                assertEquals(before + 2, Faults.calls(Syscall.IO_URING_REGISTER), "the close gives the slot back first");
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
}
