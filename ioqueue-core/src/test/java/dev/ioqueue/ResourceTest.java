package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ioqueue.internal.os.NativeAccounting;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ResourceTest extends QueueTestSupport {
    @Test
    void aThousandQueuesOnManyThreadsLeakNoFd() throws Exception {
        IoQueue.current().close(); // this thread starts without one
        java.util.Set<String> before = TestFds.settledOpenFds();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                done.add(pool.submit(() -> {
                    IoQueue q = IoQueue.current();
                    try (Fds.Pipe p = Fds.pipe()) {
                        PrematureCloseTest.assertQueueStillWorks(q, p);
                    }
                    q.close();
                }));
            }
            for (Future<?> f : done) f.get();
        } finally {
            pool.shutdown();
        }
        TestFds.assertNoneOpenedSince(before, "every queue's fds and every pipe closed");
    }

    @Test
    void theQueuesOwnFdsAreCloseOnExec() throws Exception {
        IoQueue q = IoQueue.current();
        List<Integer> own = TestFds.ownFds(q);
        assertEquals(TestFds.ownFdCount(q), own.size(), "found the queue's epoll fd and eventfd (and ring fd): " + own);
        for (int fd : own) {
            String info = Files.readString(Path.of("/proc/self/fdinfo/" + fd));
            String flags = info.lines().filter(l -> l.startsWith("flags:")).findFirst().orElseThrow().substring(6).trim();
            assertTrue((Long.parseLong(flags, 8) & 02000000L) != 0, "fd " + fd + " flags " + flags + " lack O_CLOEXEC");
        }
    }

    @Test
    void closeReleasesTheQueuesFds() throws InterruptedException {
        IoQueue.current().close();
        java.util.Set<String> before = TestFds.settledOpenFds();
        IoQueue q = IoQueue.current();
        assertEquals(TestFds.ownFdCount(q), TestFds.openedSince(before).size(),
                "an epoll fd and its wake-up eventfd (and its io_uring fd): " + TestFds.openedSince(before));
        q.close();
        TestFds.assertNoneOpenedSince(before, "the queue's fds closed");
    }

    // guards: the Cleaner released a dead thread's queue but not the Handles bound to it (1,000 fds per 1,000 threads)
    @Test
    void handlesBoundToAQueueWhoseThreadEndedWithoutClosingItAreClosedWithIt() throws Exception {
        List<Handle> handles = new ArrayList<>();
        List<Integer> peers = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            Fds.Pipe p = Fds.pipe();
            peers.add(p.writeFd());
            Thread t = new Thread(() -> {
                Handle h = Handle.of(p.readFd(), IoQueue.current()); // bound to this thread's queue
                synchronized (handles) {
                    handles.add(h);
                }
                // ends without closing its queue or the handle
            });
            t.start();
            t.join();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (handles.stream().anyMatch(Handle::isOpen) && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
        }
        for (Handle h : handles) {
            assertFalse(h.isOpen(), h + " outlived its queue");
        }
        for (int peer : peers) { // the pipes' read ends are closed for the kernel too
            SyscallException e = assertThrows(SyscallException.class, () -> Fds.write(peer, java.nio.ByteBuffer.allocate(1)));
            assertEquals(Errno.EPIPE, e.errno());
            Fds.close(peer);
        }
    }

    // guards: a thread that ended without close() leaked its queue (outside finding D6)
    @Test
    void queuesOfThreadsThatEndWithoutClosingAreReleasedOnceUnreachable() throws Exception {
        IoQueue.current().close();
        // Queues that earlier tests' ended threads left are released first, so only this test's count.
        long deadlineToSettle = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (long seen = -1, stable = 0; stable < 3 && System.nanoTime() < deadlineToSettle; ) {
            System.gc();
            Thread.sleep(50);
            long now = TestFds.openFdCount();
            stable = now == seen ? stable + 1 : 0;
            seen = now;
        }
        long before = TestFds.openFdCount();
        long queuesBefore = NativeAccounting.liveQueues();
        for (int batch = 0; batch < 10; batch++) {
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                Thread t = new Thread(() -> {
                    IoQueue q = IoQueue.current();
                    try (Fds.Pipe p = Fds.pipe()) {
                        q.persist(p.readFd());
                    }
                    // ends without q.close()
                });
                t.start();
                threads.add(t);
            }
            for (Thread t : threads) t.join();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (TestFds.openFdCount() > before && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
        }
        assertEquals(before, TestFds.openFdCount(), "/proc/self/fd back to its start");
        assertEquals(queuesBefore, NativeAccounting.liveQueues(), "native memory released");
    }

    // guards (outside round 49): out of fds before the blocking pollers had started, BlockingIo.read
    // threw the unchecked SyscallException where its contract (and catch (IOException e)) says IOException
    @Test
    void blockingCallsOutOfFdsBeforeThePollersStartFailWithTheirIOException() throws Exception {
        Process child = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), ReadOutOfFds.class.getName()).redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(child.waitFor(60, TimeUnit.SECONDS));
        assertTrue(out.contains("read: SyscallIOException EMFILE"), out);
        assertTrue(out.contains("awaitReady: SyscallIOException EMFILE"), out);
        assertTrue(out.contains("connect: SyscallIOException EMFILE"), out); // its shared queue could not start (outside round 49b)
        assertTrue(out.contains("after: 1"), out); // once fds are free, the pollers start and the read works
    }

    /** In a JVM of its own (the pollers start once a process): a blocking read and a wait with no fd free, then with some. */
    static final class ReadOutOfFds {
        public static void main(String[] args) throws Throwable {
            Fds.Pipe p = Fds.pipe();
            try { // the classes of a failure and of a close, loaded while a class file can still be opened
                Fds.close(Fds.eventfd(0));
                Fds.isNonBlocking(1 << 20);
            } catch (SyscallException expected) {
                // EBADF
            }
            List<Integer> filler = new ArrayList<>();
            FdLimit.setSoft(256);
            try {
                while (true) filler.add(Fds.eventfd(0));
            } catch (SyscallException full) {
                // no fd left
            }
            // One free: enough to load a class, too few for the pollers (a master, a read and a write
            // poller at least) or the shared queue (an epoll fd and an eventfd).
            Fds.close(filler.removeLast());
            for (String call : List.of("read", "awaitReady", "connect")) {
                try {
                    if (call.equals("read")) BlockingIo.read(p.readFd(), java.nio.ByteBuffer.allocate(1));
                    else if (call.equals("awaitReady")) Fds.awaitReady(p.readFd(), ReadyEvent.READ, java.time.Duration.ofMillis(10));
                    else BlockingIo.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 9), null);
                    System.out.println(call + ": returned");
                } catch (java.io.IOException e) {
                    System.out.println(call + ": " + e.getClass().getSimpleName() + " " + (SyscallFailure.of(e) == null ? "?" : SyscallFailure.of(e).errnoName()));
                } catch (Throwable t) {
                    System.out.println(call + ": unchecked " + t);
                }
            }
            for (int fd : filler) Fds.close(fd);
            TestFds.writeByte(p.writeFd(), 1);
            System.out.println("after: " + BlockingIo.read(p.readFd(), java.nio.ByteBuffer.allocate(1)));
        }
    }
}
