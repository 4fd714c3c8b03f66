package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ioqueue.internal.os.Unistd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each bad input gets a clear exception naming the fd and cause; the queue works afterwards. */
class BadInputTest extends QueueTestSupport {
    @TempDir
    Path dir;

    private static void forEachOperation(IoQueue q, IntConsumerThrowing check) {
        check.accept("await", fd -> q.await(fd, ReadyEvent.READ, (f, e) -> { }));
        check.accept("persist", q::persist);
    }

    interface IntConsumerThrowing {
        void accept(String name, IntConsumer op);
    }

    @Test
    void negativeFdIsAnIllegalArgument() {
        IoQueue q = IoQueue.current();
        forEachOperation(q, (name, op) -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> op.accept(-3), name);
            assertTrue(e.getMessage().contains("fd -3"), e.getMessage());
        });
        assertThrows(IllegalArgumentException.class, () -> q.unregister(-3));
        stillWorks(q);
    }

    @Test
    void closedFdIsEbadf() {
        IoQueue q = IoQueue.current();
        Fds.Pipe p = Fds.pipe();
        p.close();
        forEachOperation(q, (name, op) -> {
            SyscallException e = assertThrows(SyscallException.class, () -> op.accept(p.readFd()), name);
            assertEquals("EBADF", e.errnoName());
            assertEquals(p.readFd(), e.fd());
            assertTrue(e.getMessage().contains("fd " + p.readFd()) && e.getMessage().contains("EBADF"), e.getMessage());
        });
        q.unregister(p.readFd()); // unknown to the queue: a no-op
        stillWorks(q);
    }

    @Test
    void fdAboveTheRlimitIsEbadf() {
        IoQueue q = IoQueue.current();
        int fd = 1 << 22;
        forEachOperation(q, (name, op) -> {
            SyscallException e = assertThrows(SyscallException.class, () -> op.accept(fd), name);
            assertEquals("EBADF", e.errnoName());
        });
        stillWorks(q);
    }

    @Test
    void regularFileIsRefusedWithEperm() throws Exception {
        IoQueue q = IoQueue.current();
        Path file = Files.writeString(dir.resolve("plain.txt"), "hello");
        int fd = TestFds.open(file, Unistd.O_RDONLY);
        try {
            forEachOperation(q, (name, op) -> {
                SyscallException e = assertThrows(SyscallException.class, () -> op.accept(fd), name);
                assertEquals("EPERM", e.errnoName());
                assertTrue(e.getMessage().contains("regular file"), e.getMessage());
            });
            stillWorks(q);
        } finally {
            Fds.close(fd);
        }
    }

    @Test
    void directoryIsRefusedWithEperm() {
        IoQueue q = IoQueue.current();
        int fd = TestFds.open(dir, Unistd.O_RDONLY | Unistd.O_DIRECTORY);
        try {
            forEachOperation(q, (name, op) -> {
                SyscallException e = assertThrows(SyscallException.class, () -> op.accept(fd), name);
                assertEquals("EPERM", e.errnoName());
                assertEquals(fd, e.fd());
            });
            stillWorks(q);
        } finally {
            Fds.close(fd);
        }
    }

    @Test
    void devNullIsRefusedWithEperm() {
        IoQueue q = IoQueue.current();
        int fd = TestFds.open(Path.of("/dev/null"), Unistd.O_RDWR);
        try {
            forEachOperation(q, (name, op) -> {
                SyscallException e = assertThrows(SyscallException.class, () -> op.accept(fd), name);
                assertEquals("EPERM", e.errnoName());
            });
            stillWorks(q);
        } finally {
            Fds.close(fd);
        }
    }

    @Test
    void unregisterOfAnFdTheQueueNeverSawIsANoOpWithoutASyscall() throws Exception {
        IoQueue q = IoQueue.current();
        Path file = Files.writeString(dir.resolve("other.txt"), "x");
        int regular = TestFds.open(file, Unistd.O_RDONLY);
        int directory = TestFds.open(dir, Unistd.O_RDONLY | Unistd.O_DIRECTORY);
        Fds.Pipe closed = Fds.pipe();
        closed.close();
        try {
            long ctl = dev.ioqueue.internal.os.Faults.calls(dev.ioqueue.internal.os.Syscall.EPOLL_CTL);
            for (int fd : new int[] {regular, directory, closed.readFd(), 1 << 22}) q.unregister(fd);
            assertEquals(ctl, dev.ioqueue.internal.os.Faults.calls(dev.ioqueue.internal.os.Syscall.EPOLL_CTL));
            stillWorks(q);
        } finally {
            Fds.close(regular);
            Fds.close(directory);
        }
    }

    @Test
    void waitingFromAnotherThreadIsIllegalState() throws Exception {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Throwable[] thrown = new Throwable[6];
            Thread t = new Thread(() -> {
                thrown[0] = catching(() -> q.await(p.readFd(), ReadyEvent.READ, (f, e) -> { }));
                thrown[1] = catching(() -> q.unregister(p.readFd()));
                thrown[2] = catching(() -> q.persist(p.readFd()));
                thrown[3] = catching(q::run);
                thrown[4] = catching(() -> q.poll(new java.util.ArrayList<>(), null));
                thrown[5] = catching(q::running);
            }, "intruder");
            t.start();
            t.join();
            for (Throwable e : thrown) {
                assertTrue(e instanceof IllegalStateException, String.valueOf(e));
                assertTrue(e.getMessage().contains("intruder"), e.getMessage());
            }
            stillWorks(q);
        }
    }

    @Test
    void theQueuesOwnFdsAreRefused() throws Exception {
        IoQueue q = IoQueue.current();
        // The queue's epoll and eventfd are the newest anon inodes of this process.
        for (java.nio.file.Path link : Files.list(Path.of("/proc/self/fd")).toList()) {
            String target;
            try {
                target = Files.readSymbolicLink(link).toString();
            } catch (java.io.IOException gone) {
                continue;
            }
            int fd = Integer.parseInt(link.getFileName().toString());
            if (target.equals("anon_inode:[eventpoll]") || target.equals("anon_inode:[eventfd]")) {
                for (Runnable op : new Runnable[] {() -> q.await(fd, ReadyEvent.READ, (f, ev) -> { }), () -> q.persist(fd)}) {
                    Throwable e = catching(op);
                    if (e instanceof IllegalArgumentException iae) {
                        assertTrue(iae.getMessage().contains("this queue's own"), iae.getMessage());
                    } else if (e != null) {
                        throw new AssertionError(e);
                    } else {
                        q.unregister(fd); // another queue's fd (e.g. another test thread's): waitable
                    }
                }
            }
        }
        stillWorks(q);
    }

    @Test
    void callsAfterCloseAreRejectedClearly() {
        IoQueue q = IoQueue.current();
        q.close();
        try (Fds.Pipe p = Fds.pipe()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> q.await(p.readFd(), ReadyEvent.READ, (f, ev) -> { }));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> q.unregister(p.readFd()));
            assertThrows(IllegalStateException.class, () -> q.persist(p.readFd()));
            assertThrows(RejectedExecutionException.class, () -> q.execute(() -> { }));
            assertThrows(RejectedExecutionException.class, () -> q.schedule(java.time.Duration.ZERO, () -> { }));
        }
        stillWorks(IoQueue.current()); // the thread gets a fresh queue
    }

    static Throwable catching(Runnable r) {
        try {
            r.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    private static void stillWorks(IoQueue q) {
        try (Fds.Pipe p = Fds.pipe()) {
            PrematureCloseTest.assertQueueStillWorks(q, p);
        }
    }

    // guards: one bad fd number blew the heap (outside finding D2)
    @Test
    void hugeFdNumbersAreRefusedWithEbadfAndRetainNothing() {
        IoQueue q = IoQueue.current();
        long before = usedHeapAfterGc();
        int[] numbers = {1 << 16, 1 << 20, 1 << 22, 1 << 24, 1 << 28, 1_000_000_000, Integer.MAX_VALUE - 1, Integer.MAX_VALUE};
        for (int fd : numbers) {
            SyscallException e = assertThrows(SyscallException.class, () -> q.await(fd, ReadyEvent.READ, (f, ev) -> {}));
            assertEquals("EBADF", e.errnoName());
            assertEquals(fd, e.fd());
            assertTrue(e.getMessage().contains("fd " + fd), e.getMessage());
            e = assertThrows(SyscallException.class, () -> q.persist(fd));
            assertEquals("EBADF", e.errnoName());
            // closes too (outside round 50: a close grew a per-number table to the number)
            e = assertThrows(SyscallException.class, () -> Fds.close(fd));
            assertEquals("EBADF", e.errnoName());
            assertEquals(fd, e.fd());
            e = assertThrows(SyscallException.class, () -> Handle.of(fd).close());
            assertEquals("EBADF", e.errnoName());
            assertEquals(fd, e.fd());
        }
        long retained = usedHeapAfterGc() - before;
        assertTrue(retained < 16 << 20, "retained " + (retained >> 20) + " MiB");
        assertFalse(q.running());
        try (Fds.Pipe p = Fds.pipe()) {
            PrematureCloseTest.assertQueueStillWorks(q, p);
        }
    }

    // guards: a high fd number sized a table to it (outside finding D2)
    @Test
    void aHighFdNumberThatIsOpenWorksWithoutATableThatSize() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            int high = dup2(p.readFd(), 19_000); // ulimit -n is 20000 here
            assumeTrue(high == 19_000);
            AtomicInteger ran = new AtomicInteger();
            q.await(high, ReadyEvent.READ, (fd, ev) -> ran.incrementAndGet());
            TestFds.writeByte(p.writeFd(), 1);
            q.run();
            assertEquals(1, ran.get());
            Fds.close(high);
        }
    }

    // guards: a read into a read-only buffer consumed bytes (outside finding D3)
    @Test
    void readIntoReadOnlyBuffersAndSegmentsConsumesNothing() {
        try (Fds.Pipe p = Fds.pipe(); Arena arena = Arena.ofConfined()) {
            Fds.write(p.writeFd(), "hello!".getBytes(), 0, 6);
            assertThrows(ReadOnlyBufferException.class, () -> Fds.read(p.readFd(), ByteBuffer.allocate(16).asReadOnlyBuffer()));
            ByteBuffer directRo = ByteBuffer.allocateDirect(16).asReadOnlyBuffer();
            assertThrows(ReadOnlyBufferException.class, () -> Fds.read(p.readFd(), directRo));
            assertEquals(0, directRo.duplicate().get(0), "nothing written into the read-only buffer's memory");
            MemorySegment roSegment = arena.allocate(16).asReadOnly();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Fds.read(p.readFd(), roSegment));
            assertTrue(e.getMessage().contains("fd " + p.readFd()), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Fds.read(p.readFd(), MemorySegment.ofArray(new byte[16]).asReadOnly()));
            byte[] all = new byte[16];
            assertEquals(6, Fds.read(p.readFd(), all, 0, 16), "every byte is still in the pipe");
            assertEquals("hello!", new String(all, 0, 6));
        }
    }

    // guards: a segment of a closed arena reached the syscall (outside finding D3)
    @Test
    void closedArenaSegmentsAreRefusedBeforeTheSyscall() {
        try (Fds.Pipe p = Fds.pipe()) {
            Arena arena = Arena.ofConfined();
            MemorySegment gone = arena.allocate(8);
            arena.close();
            Fds.write(p.writeFd(), new byte[] {7}, 0, 1);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Fds.read(p.readFd(), gone));
            assertTrue(e.getMessage().contains("fd " + p.readFd()), e.getMessage());
            assertThrows(IllegalStateException.class, () -> Fds.write(p.writeFd(), gone));
            assertEquals(7, TestFds.readByte(p.readFd()), "the byte was not consumed");
        }
    }

    // guards (outside, round 3): an arena closed while a write from it waited on a full pipe. On
    // io_uring the kernel then read the freed memory and sent it (reported as completed); on
    // epoll the attempt threw out of run() and the operation was never told anything. Now the
    // kernel only ever reads the library's copy, and an attempt that finds the arena closed fails
    // the operation: it ends once (completed with the segment's own bytes, or failed), never with
    // other bytes, and the loop goes on.
    @Test
    void anArenaClosedWhileAWriteFromItWaitsNeverSendsOtherBytes() throws Exception {
        for (int round = 0; round < 20; round++) {
            try (LoopThread loop = new LoopThread("arena-close")) {
                Fds.Pipe p = Fds.pipe();
                int filled = 0;
                byte[] fill = new byte[65536];
                for (int n; (n = Fds.write(p.writeFd(), fill, 0, fill.length)) > 0; ) filled += n;
                Handle out = Handle.of(p.writeFd(), loop.queue);
                Arena arena = Arena.ofShared();
                MemorySegment seg = arena.allocate(32768);
                seg.fill((byte) 'S');
                IoOperationTest.Outcomes ended = new IoOperationTest.Outcomes();
                loop.call(() -> {
                    loop.queue.submit(out, IoOperation.writeFully(seg, ended));
                    return null;
                });
                arena.close(); // while the write waits for room
                java.util.List<Arena> reuse = new java.util.ArrayList<>(); // the freed memory, made again and filled
                for (int i = 0; i < 16; i++) {
                    Arena a = Arena.ofShared();
                    a.allocate(32768).fill((byte) 'X');
                    reuse.add(a);
                }
                ByteBuffer got = ByteBuffer.allocate(filled + 32768);
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (true) {
                    boolean done = !ended.seen.isEmpty();
                    int n = Fds.read(p.readFd(), got);
                    if (done && (n == Fds.WOULD_BLOCK || !got.hasRemaining())) break;
                    if (n == Fds.WOULD_BLOCK) Thread.sleep(1);
                    assertTrue(System.nanoTime() < deadline, "round " + round + ": the write never ended");
                }
                assertEquals(1, ended.seen.size(), "round " + round + ": ended once " + ended.seen);
                String outcome = ended.seen.get(0);
                assertTrue(outcome.equals("completed 32768") || outcome.startsWith("failed write on fd " + p.writeFd() + ": its buffer can no longer be used"),
                        "round " + round + ": " + outcome);
                for (int i = filled; i < got.position(); i++) {
                    assertEquals('S', (char) got.get(i), "round " + round + ": byte " + (i - filled) + " after the filler (" + outcome + ")");
                }
                for (Arena a : reuse) a.close();
                out.close();
                Fds.close(p.readFd());
            }
        }
    }

    // guards (outside, round 6): an arena closed while a read into it waited. On io_uring the
    // delivery of the ring's bytes threw out of every runOnce at once (a busy loop of exceptions,
    // the operation never told, the handle's next read refused); epoll failed it. Now it fails
    // with an IOException on both backends, and the bytes go to the next read.
    @Test
    void anArenaClosedWhileAReadIntoItWaitsFailsItAndTheNextReadGetsTheBytes() throws Exception {
        try (LoopThread loop = new LoopThread("arena-close-read"); Fds.Pipe p = Fds.pipe()) {
            Handle in = Handle.of(Fds.dup(p.readFd()), loop.queue);
            Arena arena = Arena.ofShared();
            MemorySegment seg = arena.allocate(8);
            IoOperationTest.Outcomes first = new IoOperationTest.Outcomes();
            loop.call(() -> {
                loop.queue.submit(in, IoOperation.read(seg, first));
                return null;
            });
            arena.close(); // while the read waits for bytes
            Fds.write(p.writeFd(), ByteBuffer.wrap("xyz".getBytes()));
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (first.seen.isEmpty() && System.nanoTime() < deadline) Thread.sleep(1);
            assertEquals(1, first.seen.size(), "told once: " + first.seen);
            assertTrue(first.seen.get(0).startsWith("failed read on fd " + in.fd() + ": its buffer can no longer be used"), first.seen.get(0));
            assertTrue(first.seen.get(0).contains("arena"), "names the cause, not the JDK's bare 'Already closed': " + first.seen.get(0));
            ByteBuffer got = ByteBuffer.allocate(8);
            IoOperationTest.Outcomes second = new IoOperationTest.Outcomes();
            loop.call(() -> {
                loop.queue.submit(in, IoOperation.read(got, second));
                return null;
            });
            while (second.seen.isEmpty() && System.nanoTime() < deadline) Thread.sleep(1);
            assertEquals(java.util.List.of("completed 3"), second.seen);
            assertEquals("xyz", new String(got.array(), 0, 3));
            in.close();
        }
    }

    // guards (outside, round 6): a write from a read-only heap buffer threw ReadOnlyBufferException
    // (the library copied it out through its array), except from an io_uring completion, which
    // took it: read-only sources are written everywhere, as the JDK's channels write them.
    @Test
    void aReadOnlyHeapBufferIsWritten() throws Exception {
        try (Fds.Pipe p = Fds.pipe()) {
            assertEquals(2, Fds.write(p.writeFd(), ByteBuffer.wrap("ab".getBytes()).asReadOnlyBuffer()));
            IoQueue q = IoQueue.current();
            IoOperationTest.Outcomes out = new IoOperationTest.Outcomes();
            q.submit(p.writeFd(), IoOperation.writeFully(ByteBuffer.wrap("cde".getBytes()).asReadOnlyBuffer(), out));
            assertEquals(java.util.List.of("completed 3"), out.seen);
            ByteBuffer got = ByteBuffer.allocate(8);
            Fds.read(p.readFd(), got);
            assertEquals("abcde", new String(got.array(), 0, got.position()));
        }
    }

    // guards: heap segments, slices and bounds in the buffer matrix (outside finding D3)
    @Test
    void heapSegmentsSlicesZeroLengthAndBoundsBehave() {
        try (Fds.Pipe p = Fds.pipe()) {
            MemorySegment heap = MemorySegment.ofArray(new byte[] {1, 2, 3, 4, 5});
            assertEquals(3, Fds.write(p.writeFd(), heap.asSlice(1, 3)));
            MemorySegment into = MemorySegment.ofArray(new long[1]);
            assertEquals(3, Fds.read(p.readFd(), into));
            assertEquals(2, into.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
            assertEquals(4, into.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 2));

            ByteBuffer direct = ByteBuffer.allocateDirect(8);
            direct.position(2).limit(5);
            ByteBuffer slice = direct.slice();
            Fds.write(p.writeFd(), new byte[] {9, 8, 7, 6}, 0, 4);
            assertEquals(3, Fds.read(p.readFd(), slice));
            direct.clear();
            assertEquals(9, direct.get(2));
            assertEquals(7, direct.get(4));
            assertEquals(0, direct.get(5), "nothing past the slice's limit");
            assertEquals(6, TestFds.readByte(p.readFd()));

            assertEquals(0, Fds.read(p.readFd(), ByteBuffer.allocate(0)));
            assertEquals(0, Fds.read(p.readFd(), new byte[4], 4, 0));
            assertEquals(0, Fds.write(p.writeFd(), MemorySegment.ofArray(new byte[0])));
            assertThrows(IndexOutOfBoundsException.class, () -> Fds.read(p.readFd(), new byte[4], 2, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> Fds.write(p.writeFd(), new byte[4], -1, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> Fds.write(p.writeFd(), new byte[4], 0, Integer.MAX_VALUE));
            assertThrows(NullPointerException.class, () -> Fds.read(p.readFd(), (MemorySegment) null));
            assertEquals(Fds.WOULD_BLOCK, TestFds.readByte(p.readFd()), "nothing stray in the pipe");
        }
    }

    // guards: syscall failures that did not name the call, the fd or the errno (outside finding D9)
    @Test
    void everySyscallFailureNamesTheCallTheFdAndTheErrno() {
        assertMessage("read on fd -1 failed: EBADF", () -> Fds.read(-1, new byte[1], 0, 1));
        assertMessage("write on fd -1 failed: EBADF", () -> Fds.write(-1, new byte[1], 0, 1));
        assertMessage("read on fd 19999 failed: EBADF", () -> Fds.read(19_999, ByteBuffer.allocateDirect(1)));
        assertMessage("accept4 on fd -1 failed: EBADF", () -> Sockets.accept(-1));
        assertMessage("getsockname on fd -1 failed: EBADF", () -> Sockets.localPort(-1));
        assertMessage("shutdown(SHUT_WR) on fd 19999 failed: EBADF", () -> Sockets.shutdownOutput(19_999));
        assertMessage("shutdown(SHUT_RD) on fd 19999 failed: EBADF", () -> Sockets.shutdownInput(19_999));
        assertMessage("epoll_ctl(EPOLL_CTL_ADD) on fd 19999 failed: EBADF",
                () -> IoQueue.current().await(19_999, ReadyEvent.READ, (fd, ev) -> {}));
    }

    private static void assertMessage(String expected, Runnable call) {
        SyscallException e = assertThrows(SyscallException.class, call::run);
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
    }

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) System.gc();
        return rt.totalMemory() - rt.freeMemory();
    }

    private static int dup2(int fd, int target) {
        try {
            var linker = java.lang.foreign.Linker.nativeLinker();
            var dup2 = linker.downcallHandle(linker.defaultLookup().find("dup3").orElseThrow(),
                    java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT,
                            java.lang.foreign.ValueLayout.JAVA_INT, java.lang.foreign.ValueLayout.JAVA_INT,
                            java.lang.foreign.ValueLayout.JAVA_INT));
            return (int) dup2.invokeExact(fd, target, 0x80000);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    // guards (outside round 46): a blocking call on a handle whose number was closed behind its back
    // threw the unchecked SyscallException where the same call on the plain number threw the
    // documented IOException; a zero-timeout awaitReady did the same where a timed one did not
    @Test
    void blockingCallsOnANumberNotOpenFailWithTheIOExceptionOnHandlesAndPlainFdsAlikeAndWithAnyTimeout() throws Exception {
        int notOpen = 19_000;
        assumeTrue(!Files.exists(Path.of("/proc/self/fd/" + notOpen)), "fd 19000 is open here");
        Handle h = Handle.of(notOpen);
        List<String> calls = new ArrayList<>();
        IoCheck expectEbadf = (name, call) -> {
            SyscallIOException e = assertThrows(SyscallIOException.class, call::run, name);
            assertEquals(Errno.EBADF, e.errno(), name);
            assertTrue(e.getMessage().contains("fd " + notOpen), name + ": " + e.getMessage());
            calls.add(name);
        };
        try {
            expectEbadf.check("BlockingIo.read(int)", () -> BlockingIo.read(notOpen, ByteBuffer.allocate(4)));
            expectEbadf.check("BlockingIo.read(Handle)", () -> BlockingIo.read(h, ByteBuffer.allocate(4)));
            expectEbadf.check("BlockingIo.write(Handle)", () -> BlockingIo.write(h, ByteBuffer.wrap(new byte[] {1})));
            expectEbadf.check("BlockingIo.accept(Handle)", () -> BlockingIo.accept(h));
            expectEbadf.check("Streams.inputStream(Handle).read()", () -> Streams.inputStream(h).read());
            expectEbadf.check("Streams.outputStream(Handle).write()", () -> Streams.outputStream(h).write(1));
            for (Duration timeout : new Duration[] {null, Duration.ofMillis(5), Duration.ZERO, Duration.ofMillis(-1)}) {
                expectEbadf.check("Fds.awaitReady(int, " + timeout + ")", () -> Fds.awaitReady(notOpen, ReadyEvent.READ, timeout));
                expectEbadf.check("Fds.awaitReady(Handle, " + timeout + ")", () -> Fds.awaitReady(h, ReadyEvent.READ, timeout));
            }
            assertEquals(14, calls.size());
        } finally {
            try {
                h.close();
            } catch (SyscallException closeFindsNothing) {
                // its close(2) finds nothing to close, as said
            }
        }
    }

    interface IoCall {
        void run() throws Exception;
    }

    interface IoCheck {
        void check(String name, IoCall call);
    }
}
