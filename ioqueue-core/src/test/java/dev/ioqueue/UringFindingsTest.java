package dev.ioqueue;

import static dev.ioqueue.UringTest.onRingThread;
import static dev.ioqueue.UringTest.runUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Faults;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.SocketCalls;
import dev.ioqueue.internal.os.Syscall;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** What an outside tester found wrong in the first io_uring backend, each fixed and kept fixed here. */
class UringFindingsTest {
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

    @Test
    void f1_aFullReadCountsWhatTheFirstSyscallTookBeforeTheRing() throws Exception {
        onRingThread(q -> {
            try (Fds.SocketPair p = Fds.socketPair()) {
                Fds.write(p.second(), ByteBuffer.wrap(new byte[100]));
                Seen seen = new Seen();
                ByteBuffer dst = ByteBuffer.allocate(200);
                q.submit(p.first(), IoOperation.readFully(dst, seen)); // takes 100 itself, the ring the rest
                Fds.write(p.second(), ByteBuffer.wrap(new byte[100]));
                runUntil(q, () -> !seen.events.isEmpty());
                assertEquals(List.of("completed 200"), seen.events);
                Fds.write(p.second(), ByteBuffer.wrap(new byte[100]));
                Seen atEof = new Seen();
                q.submit(p.first(), IoOperation.readFully(ByteBuffer.allocate(200), atEof));
                Sockets.shutdownOutput(p.second());
                runUntil(q, () -> !atEof.events.isEmpty());
                assertEquals(List.of("completed 100"), atEof.events, "what came before end-of-file, not EOF");
            }
        });
    }

    @Test
    void f2_aWithdrawnWriteIsNeverWrittenAndOneAlreadyWrittenCannotBeWithdrawn() throws Exception {
        onRingThread(q -> {
            try (Fds.SocketPair p = Fds.socketPair()) {
                Seen seen = new Seen();
                IoOperation early = IoOperation.write(ByteBuffer.wrap("CANCELLED".getBytes()), seen);
                q.submit(p.first(), early); // queued in the ring, not yet given to the kernel
                assertTrue(early.cancel());
                q.runOnce(Duration.ofMillis(20));
                assertEquals(Fds.WOULD_BLOCK, Fds.read(p.second(), ByteBuffer.allocate(64)), "the withdrawn write never ran");
                assertEquals(List.of(), seen.events);

                long filled = TestFds.fill(p.first()); // the next write waits in the kernel for room
                IoOperation blocked = IoOperation.write(ByteBuffer.wrap("BLOCKED".getBytes()), seen);
                q.submit(p.first(), blocked);
                q.runOnce(Duration.ZERO);
                assertTrue(blocked.cancel(), "a write waiting for room is withdrawn");
                assertEquals(filled, TestFds.drain(p.second()));
                q.runOnce(Duration.ofMillis(20));
                assertEquals(Fds.WOULD_BLOCK, Fds.read(p.second(), ByteBuffer.allocate(64)), "and never runs");

                IoOperation done = IoOperation.write(ByteBuffer.wrap("DONE".getBytes()), seen);
                q.submit(p.first(), done);
                q.runOnce(Duration.ZERO); // the kernel writes it; its completion is collected
                assertFalse(done.cancel(), "written already: it completes instead");
                runUntil(q, () -> !seen.events.isEmpty());
                assertEquals(List.of("completed 4"), seen.events);
                assertEquals(4, Fds.read(p.second(), ByteBuffer.allocate(64)));
            }
        });
    }

    @Test
    void f3_bytesNobodyReadsCannotStarveOtherReadsOfBuffers() throws Exception {
        onRingThread(Map.of("dev.ioqueue.uring.buffers", "16"), q -> {
            int n = 40;
            List<Fds.SocketPair> pairs = new ArrayList<>();
            try {
                int[] firsts = {0};
                for (int i = 0; i < n; i++) {
                    Fds.SocketPair p = Fds.socketPair();
                    pairs.add(p);
                    q.submit(p.first(), IoOperation.read(ByteBuffer.allocate(100), (fd, r) -> firsts[0]++));
                    Fds.write(p.second(), ByteBuffer.wrap(new byte[3000])); // 2900 kept, unread
                }
                runUntil(q, () -> firsts[0] == n);
                Fds.SocketPair fresh = Fds.socketPair();
                pairs.add(fresh);
                long[] got = {-9};
                q.submit(fresh.first(), IoOperation.read(ByteBuffer.allocate(10), (fd, r) -> got[0] = r));
                Fds.write(fresh.second(), ByteBuffer.wrap(new byte[5]));
                runUntil(q, () -> got[0] != -9);
                assertEquals(5, got[0]);
                for (Fds.SocketPair p : pairs.subList(0, n)) { // the kept bytes are all still there, in order
                    ByteBuffer rest = ByteBuffer.allocate(2900);
                    long[] r = {-9};
                    q.submit(p.first(), IoOperation.readFully(rest, (fd, c) -> r[0] = c));
                    runUntil(q, () -> r[0] != -9);
                    assertEquals(2900, r[0]);
                }
            } finally {
                for (Fds.SocketPair p : pairs) p.close();
            }
        });
    }

    @Test
    void f4_aWriteFromAClosedArenaIsRefusedAndLeavesNothingPending() throws Exception {
        onRingThread(q -> {
            try (Fds.Pipe p = Fds.pipe()) {
                MemorySegment gone;
                try (Arena arena = Arena.ofConfined()) {
                    gone = arena.allocate(16);
                }
                IoOperation op = IoOperation.write(gone, new Seen());
                assertThrows(IllegalStateException.class, () -> q.submit(p.writeFd(), op));
                assertFalse(op.isPending());
                q.runOnce(Duration.ofMillis(20));
                assertEquals(Fds.WOULD_BLOCK, Fds.read(p.readFd(), ByteBuffer.allocate(64)), "no freed memory written");
                Seen seen = new Seen();
                q.submit(p.writeFd(), IoOperation.write(ByteBuffer.wrap(new byte[] {1}), seen));
                runUntil(q, () -> !seen.events.isEmpty());
                assertEquals(List.of("completed 1"), seen.events, "the fd works on");
            }
        });
    }

    @Test
    void f5_aNumberClosedElsewhereAndMadeAgainNeverGetsTheOldFilesBytes() throws Exception {
        onRingThread(q -> {
            Fds.SocketPair old = Fds.socketPair();
            int fd = old.first();
            Seen seen = new Seen();
            q.submit(fd, IoOperation.read(ByteBuffer.allocate(64), seen));
            q.runOnce(Duration.ZERO); // the ring reads it from now on
            AtomicReference<Fds.SocketPair> made = new AtomicReference<>();
            Thread other = new Thread(() -> {
                Fds.close(fd); // another thread: this queue is not told directly
                Fds.SocketPair p;
                List<Fds.SocketPair> extra = new ArrayList<>();
                while ((p = Fds.socketPair()).first() != fd && p.second() != fd && extra.size() < 50) extra.add(p);
                made.set(p);
                for (Fds.SocketPair e : extra) e.close();
            });
            other.start();
            try {
                other.join();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            Fds.SocketPair fresh = made.get();
            assumeTrue(fresh.first() == fd, "the kernel gave the number to another end");
            try {
                PrematureCloseError e = assertThrows(PrematureCloseError.class, () -> {
                    for (int i = 0; i < 50; i++) q.runOnce(Duration.ofMillis(20));
                });
                assertEquals(fd, e.fd());
                assertEquals(List.of("dropped"), seen.events);
                assertEquals(Fds.EOF, Fds.read(old.second(), ByteBuffer.allocate(1)), "the ring let go of the old file");
                Fds.write(fresh.second(), ByteBuffer.wrap("new".getBytes()));
                ByteBuffer got = ByteBuffer.allocate(64);
                long[] r = {-9};
                q.submit(fd, IoOperation.read(got, (f, c) -> r[0] = c));
                runUntil(q, () -> r[0] != -9);
                assertEquals("new", new String(got.array(), 0, (int) r[0]));
            } finally {
                fresh.close();
                Fds.close(old.second());
            }
        });
    }

    @Test
    void f6_datagramsEventfdsAndOtherMessageFdsKeepTheirReadSizes() throws Exception {
        onRingThread(q -> {
            long pair = SocketCalls.socketpair(SocketCalls.AF_UNIX, 2 | SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC, Native.threadErrno()); // SOCK_DGRAM
            int a = Native.first(pair);
            int b = Native.second(pair);
            try {
                long[] got = {-9};
                q.submit(a, IoOperation.read(ByteBuffer.allocate(8000), (fd, r) -> got[0] = r));
                Fds.write(b, ByteBuffer.wrap(new byte[6000]));
                runUntil(q, () -> got[0] != -9);
                assertEquals(6000, got[0], "one datagram, whole");
            } finally {
                Fds.close(a);
                Fds.close(b);
            }
            try (EventFd e = EventFd.counter(0)) {
                e.signal(3);
                Seen seen = new Seen();
                q.submit(e.fd(), IoOperation.read(ByteBuffer.allocate(4), seen));
                runUntil(q, () -> !seen.events.isEmpty());
                assertEquals(List.of("failed EINVAL"), seen.events, "as read(2) of 4 bytes from an eventfd says");
            }
        });
    }

    @Test
    void f7_refusedProvidedBuffersLeaveReadsToReadinessAndNothingPending() throws Exception {
        assumeTrue(Faults.ENABLED);
        onRingThread(q -> {
            try (Fds.Pipe p = Fds.pipe()) {
                Faults.failNth(Syscall.IO_URING_REGISTER, 1, Errno.EINVAL); // the buffer ring's registration
                long[] got = {-9};
                q.submit(p.readFd(), IoOperation.read(ByteBuffer.allocate(8), (fd, r) -> got[0] = r));
                Faults.clear();
                TestFds.writeByte(p.writeFd(), 7);
                runUntil(q, () -> got[0] != -9);
                assertEquals(1, got[0]);
            } finally {
                Faults.clear();
            }
        });
    }

    @Test
    void n1_aFifoAtEndOfFileReadsAgainWhenANewWriterComes() throws Exception {
        java.nio.file.Path fifo = java.nio.file.Files.createTempDirectory("ioqueue-fifo").resolve("f");
        try {
            assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0, "mkfifo");
            onRingThread(q -> {
                int reader = TestFds.open(fifo, 0x800); // O_RDONLY | O_NONBLOCK
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
                    Fds.close(reader);
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

    @Test
    void r3_anEndOfFileThatCameWithBytesIsNotToldAgainAfterANewWriterWrote() throws Exception {
        withFifo(fifo -> {
            IoQueue q = IoQueue.current();
            int reader = TestFds.open(fifo, 0x800);
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
                Fds.close(reader);
            }
        });
    }

    @Test
    void r3_aFullReadThatHangsUpAfterTakingBytesCompletesWithThem() throws Exception {
        withFifo(fifo -> {
            IoQueue q = IoQueue.current();
            int reader = TestFds.open(fifo, 0x800);
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
                Fds.close(reader);
            }
        });
    }

    private static String readOnce(IoQueue q, int fd) {
        ByteBuffer got = ByteBuffer.allocate(64);
        long[] r = {-9};
        q.submit(fd, IoOperation.read(got, (f, c) -> r[0] = c));
        runUntil(q, () -> r[0] != -9);
        return r[0] == Fds.EOF ? "EOF" : new String(got.array(), 0, (int) r[0]);
    }
}
