package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The seed library's own scenarios, on real fds. */
class ScenarioTest extends QueueTestSupport {
    private static byte patternByte(long i) {
        return (byte) (i * 31 + (i >>> 11));
    }

    @Test
    void readerAndWriterMove160MiBThroughOnePipeByteExact() {
        IoQueue q = IoQueue.current();
        long total = 160L << 20;
        try (Fds.Pipe p = Fds.pipe()) {
            long[] written = {0};
            long[] read = {0};
            long[] mismatches = {0};
            ByteBuffer out = ByteBuffer.allocateDirect(64 * 1024);
            ByteBuffer in = ByteBuffer.allocateDirect(48 * 1024);
            ReadyCallback writer = new ReadyCallback() {
                @Override
                public void onReady(int fd, Set<Event> events) {
                    while (written[0] < total) {
                        out.clear();
                        int chunk = (int) Math.min(out.capacity(), total - written[0]);
                        for (int i = 0; i < chunk; i++) out.put(i, patternByte(written[0] + i));
                        out.limit(chunk);
                        int n = Fds.write(fd, out);
                        if (n == Fds.WOULD_BLOCK) {
                            q.await(fd, ReadyEvent.WRITE, this);
                            return;
                        }
                        written[0] += n;
                    }
                }
            };
            ReadyCallback reader = new ReadyCallback() {
                @Override
                public void onReady(int fd, Set<Event> events) {
                    while (true) {
                        in.clear();
                        int n = Fds.read(fd, in);
                        if (n == Fds.WOULD_BLOCK) {
                            if (read[0] < total) q.await(fd, ReadyEvent.READ, this);
                            return;
                        }
                        if (n == Fds.EOF) return;
                        for (int i = 0; i < n; i++) if (in.get(i) != patternByte(read[0] + i)) mismatches[0]++;
                        read[0] += n;
                    }
                }
            };
            q.await(p.readFd(), ReadyEvent.READ, reader);
            q.await(p.writeFd(), ReadyEvent.WRITE, writer);
            q.run();
            assertEquals(total, written[0]);
            assertEquals(total, read[0]);
            assertEquals(0, mismatches[0]);
        }
    }

    @Test
    void priorityReadSeesTcpUrgentData() throws Exception {
        IoQueue q = IoQueue.current();
        int listener = Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 16);
        int port = Sockets.localPort(listener);
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            int[] conn = {-1};
            q.await(listener, ReadyEvent.READ, (fd, ev) -> conn[0] = Sockets.accept(fd));
            q.run();
            assertTrue(conn[0] >= 0, "accepted");
            List<Set<Event>> seen = new ArrayList<>();
            int[] urgent = {-1};
            q.await(conn[0], ReadyEvent.PRIORITY_READ, (fd, ev) -> {
                seen.add(ev);
                urgent[0] = Sockets.readUrgent(fd);
            });
            client.sendUrgentData(0x5A);
            q.run();
            assertTrue(seen.getFirst().contains(Event.PRIORITY_READ), seen.toString());
            assertEquals(0x5A, urgent[0]);
            Fds.close(conn[0]);
        } finally {
            Fds.close(listener);
        }
    }

    @Test
    void readyToReadOnATcpConnectionFromAJavaClient() throws Exception {
        IoQueue q = IoQueue.current();
        int listener = Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 16);
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), Sockets.localPort(listener))) {
            int[] conn = {-1};
            q.await(listener, ReadyEvent.READ, (fd, ev) -> conn[0] = Sockets.accept(fd));
            q.run();
            OutputStream out = client.getOutputStream();
            out.write("ping".getBytes());
            out.flush();
            byte[] got = new byte[4];
            q.await(conn[0], ReadyEvent.READ, (fd, ev) -> assertEquals(4, Fds.read(fd, got, 0, 4)));
            q.run();
            assertEquals("ping", new String(got));
            Fds.close(conn[0]);
        } finally {
            Fds.close(listener);
        }
    }

    @Test
    void eachThreadHasItsOwnQueue() throws Exception {
        IoQueue mine = IoQueue.current();
        assertSame(mine, IoQueue.current());
        IoQueue theirs = CompletableFuture.supplyAsync(() -> {
            IoQueue q = IoQueue.current();
            q.close();
            return q;
        }, r -> new Thread(r).start()).get(10, TimeUnit.SECONDS);
        assertNotSame(mine, theirs);
        assertSame(Thread.currentThread(), mine.owner());
    }

    @Test
    void twoThreadsWaitOnTheSameFdAtOnce() throws Exception {
        try (Fds.Pipe p = Fds.pipe()) {
            CountDownLatch bothWaiting = new CountDownLatch(2);
            AtomicInteger woke = new AtomicInteger();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                Thread t = new Thread(() -> {
                    IoQueue q = IoQueue.current();
                    q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> woke.incrementAndGet());
                    bothWaiting.countDown();
                    q.run();
                    q.close();
                });
                t.start();
                threads.add(t);
            }
            assertTrue(bothWaiting.await(10, TimeUnit.SECONDS));
            TestFds.writeByte(p.writeFd(), 1); // level-triggered: both queues see it
            for (Thread t : threads) t.join(10_000);
            assertEquals(2, woke.get());
        }
    }

    @Test
    void severalThreadsEachRunTheirOwnQueue() throws Exception {
        int threads = 4;
        int hops = 20_000;
        List<CompletableFuture<Integer>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            CompletableFuture<Integer> result = new CompletableFuture<>();
            results.add(result);
            new Thread(() -> {
                try (Fds.Pipe a = Fds.pipe(); Fds.Pipe b = Fds.pipe()) {
                    IoQueue q = IoQueue.current();
                    // One waiter bounces a byte between the pipes: a, b, a, b, ... until it ran `hops` times.
                    Recorder pingPong = new Recorder();
                    pingPong.then((fd, ev) -> {
                        TestFds.readByte(fd);
                        if (pingPong.calls() < hops) {
                            Fds.Pipe next = fd == a.readFd() ? b : a;
                            TestFds.writeByte(next.writeFd(), 1);
                            q.await(next.readFd(), ReadyEvent.READ, pingPong);
                        }
                    });
                    q.await(a.readFd(), ReadyEvent.READ, pingPong);
                    TestFds.writeByte(a.writeFd(), 1);
                    q.run();
                    q.close();
                    List<String> log = pingPong.log();
                    for (int i = 0; i < log.size(); i++) {
                        assertEquals(Recorder.ready((i & 1) == 0 ? a.readFd() : b.readFd(), Event.READ), log.get(i), "hop " + i);
                    }
                    result.complete(pingPong.calls());
                } catch (Throwable e) {
                    result.completeExceptionally(e);
                }
            }).start();
        }
        for (CompletableFuture<Integer> r : results) assertEquals(hops, r.get(60, TimeUnit.SECONDS));
    }
}
