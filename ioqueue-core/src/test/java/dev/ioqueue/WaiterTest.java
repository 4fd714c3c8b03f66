package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class WaiterTest extends QueueTestSupport {
    @Test
    void readWaiterRunsOnceWhenPipeBecomesReadable() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            List<Set<Event>> seen = new ArrayList<>();
            q.await(p.readFd(), ReadyEvent.READ, (fd, events) -> {
                assertEquals(p.readFd(), fd);
                seen.add(events);
            });
            assertEquals(0, q.runOnce(java.time.Duration.ZERO), "nothing is readable yet");
            TestFds.writeByte(p.writeFd(), 7);
            q.run();
            assertEquals(List.of(Set.of(Event.READ)), seen);
            assertFalse(q.running(), "a waiter runs once");
        }
    }

    @Test
    void secondReadWaiterOnSameFdIsRejectedAndFirstIsUntouched() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Recorder first = new Recorder();
            q.await(p.readFd(), ReadyEvent.READ, first);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { throw new AssertionError("second waiter ran"); }));
            assertTrue(e.getMessage().contains("fd " + p.readFd()), e.getMessage());
            TestFds.writeByte(p.writeFd(), 1);
            q.run();
            assertEquals(List.of(Recorder.ready(p.readFd(), Event.READ)), first.log());
        }
    }

    @Test
    void readAndWriteWaitersShareOneFullDuplexSocket() {
        IoQueue q = IoQueue.current();
        try (Fds.SocketPair s = Fds.socketPair()) {
            List<String> ran = new ArrayList<>();
            q.await(s.first(), ReadyEvent.READ, (fd, ev) -> ran.add("read"));
            q.await(s.first(), ReadyEvent.WRITE, (fd, ev) -> ran.add("write"));
            q.runOnce(null);
            assertEquals(List.of("write"), ran);
            assertTrue(q.running(), "the READ waiter still waits");
            TestFds.writeByte(s.second(), 1);
            q.run();
            assertEquals(List.of("write", "read"), ran);
        }
    }

    @Test
    void writeWaiterRunsAfterAFullPipeIsDrained() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            assertTrue(TestFds.fill(p.writeFd()) > 0);
            boolean[] writable = {false};
            q.await(p.writeFd(), ReadyEvent.WRITE, (fd, ev) -> writable[0] = true);
            assertEquals(0, q.runOnce(java.time.Duration.ofMillis(20)), "a full pipe is not writable");
            assertFalse(writable[0]);
            TestFds.drain(p.readFd());
            q.run();
            assertTrue(writable[0]);
        }
    }

    @Test
    void hangupWakesEveryWaiterOfTheFdAndIsReported() {
        IoQueue q = IoQueue.current();
        Fds.SocketPair s = Fds.socketPair();
        try {
            TestFds.fill(s.first()); // so WRITE waits too
            List<Set<Event>> ran = new ArrayList<>();
            q.await(s.first(), ReadyEvent.READ, (fd, ev) -> ran.add(ev));
            q.await(s.first(), ReadyEvent.PRIORITY_READ, (fd, ev) -> ran.add(ev));
            q.await(s.first(), ReadyEvent.WRITE, (fd, ev) -> ran.add(ev));
            Fds.close(s.second());
            q.run();
            assertEquals(3, ran.size(), "every waiter woke: " + ran);
            for (Set<Event> ev : ran) assertTrue(ev.contains(Event.HANGUP), ev.toString());
        } finally {
            Fds.close(s.first());
        }
    }

    @Test
    void errorWakesTheWaiterAndIsReported() {
        IoQueue q = IoQueue.current();
        // A pipe's write end whose read end is gone reports EPOLLERR.
        Fds.Pipe p = Fds.pipe();
        try {
            TestFds.fill(p.writeFd());
            Set<Event>[] seen = new Set[1];
            q.await(p.writeFd(), ReadyEvent.WRITE, (fd, ev) -> seen[0] = ev);
            Fds.close(p.readFd());
            q.run();
            assertEquals(EnumSet.of(Event.ERROR), seen[0], "a full pipe without a reader reports only EPOLLERR");
        } finally {
            Fds.close(p.writeFd());
        }
    }

    @Test
    void callbackMayWaitAgainOnTheSameFd() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Recorder reader = new Recorder();
            reader.then((fd, events) -> {
                if (TestFds.readByte(fd) >= 0 && reader.calls() < 3) {
                    TestFds.writeByte(p.writeFd(), 1);
                    q.await(fd, ReadyEvent.READ, reader);
                }
            });
            q.await(p.readFd(), ReadyEvent.READ, reader);
            TestFds.writeByte(p.writeFd(), 1);
            q.run();
            assertEquals(Collections.nCopies(3, Recorder.ready(p.readFd(), Event.READ)), reader.log(),
                    "three wake-ups, each read one byte");
        }
    }

    @Test
    void cancelWithdrawsOnlyThatWaiter() {
        IoQueue q = IoQueue.current();
        try (Fds.SocketPair s = Fds.socketPair()) {
            ReadyCallback a = (fd, ev) -> { throw new AssertionError("cancelled waiter ran"); };
            ReadyCallback other = (fd, ev) -> { };
            q.await(s.first(), ReadyEvent.READ, a);
            assertFalse(q.cancel(s.first(), ReadyEvent.READ, other), "another callback is not withdrawn");
            assertTrue(q.cancel(s.first(), ReadyEvent.READ, a));
            assertFalse(q.running());
            boolean[] ran = {false};
            q.await(s.first(), ReadyEvent.READ, (fd, ev) -> ran[0] = true); // at once, on the same fd
            TestFds.writeByte(s.second(), 1);
            q.run();
            assertTrue(ran[0]);
        }
    }

    // guards: Fds.close leaked the fd when a dropped waiter's onDropped threw (outside finding D4)
    @Test
    void fdsCloseClosesTheFdEvenIfOnDroppedThrows() {
        for (Throwable thrown : List.of(new IllegalStateException("from onDropped"), new AssertionError("from onDropped"))) {
            IoQueue q = IoQueue.current();
            Fds.Pipe p = Fds.pipe();
            q.await(p.readFd(), ReadyEvent.READ, throwingOnDrop(thrown));
            Throwable t = assertThrows(Throwable.class, () -> Fds.close(p.readFd()));
            assertSame(thrown, t);
            assertFalse(TestFds.isOpen(p.readFd()), "the fd was closed anyway");
            assertFalse(q.running());
            Fds.close(p.writeFd());
        }
    }

    // guards: the seed library's scenario: a reader and a writer move 160 MiB through one pipe
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

    private static byte patternByte(long i) {
        return (byte) (i * 31 + (i >>> 11));
    }

    // guards: the seed library's scenario: two threads' queues wait on one fd, both woken
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

    // guards: a waiter lost when its callback closed its fd and got the number back at once, from
    // Fds.pipe or from native code (outside finding D1); under mio's rule that close is Fds.close on
    // the queue's thread, which forgets the number, so the waiter on its next file is the new file's
    @Test
    void aCallbackThatClosesItsFdThroughFdsCloseWaitsOnTheNumbersNextFile() {
        for (boolean nativeCode : new boolean[] {false, true}) {
            IoQueue q = IoQueue.current();
            Fds.Pipe first = Fds.pipe();
            TestFds.writeByte(first.writeFd(), 1);
            Recorder second = new Recorder();
            int[] made = new int[2];
            q.await(first.readFd(), ReadyEvent.READ, (fd, ev) -> {
                Fds.close(fd);
                if (nativeCode) {
                    int[] raw = TestFds.rawPipe(); // the library is not told of it
                    made[0] = raw[0];
                    made[1] = raw[1];
                } else {
                    Fds.Pipe p = Fds.pipe();
                    made[0] = p.readFd();
                    made[1] = p.writeFd();
                }
                q.await(made[0], ReadyEvent.READ, second);
                TestFds.writeByte(made[1], 2);
            });
            runUntil(q, () -> second.calls() > 0);
            try {
                assumeTrue(made[0] == first.readFd(), "the kernel handed out another number");
                assertEquals(List.of(Recorder.ready(first.readFd(), Event.READ)), second.log(), nativeCode ? "native pipe" : "Fds.pipe");
                assertFalse(q.running());
            } finally {
                Fds.close(first.writeFd());
                Fds.close(made[0]);
                Fds.close(made[1]);
            }
        }
    }

    // guards: a callback that closed its fd while a dup kept the file open and readable, then waited
    // on the number's next file, was woken without end by the old file (outside finding D1); closed
    // through Fds.close, the old file leaves the epoll set first
    @Test
    void aCallbackThatClosesItsFdWhileADupKeepsTheFileIsNeverWokenByTheOldFile() {
        IoQueue q = IoQueue.current();
        Fds.Pipe first = Fds.pipe();
        TestFds.writeByte(first.writeFd(), 1); // never read: the old file stays readable
        int dup = TestFds.dup(first.readFd());
        Recorder again = new Recorder();
        again.then((fd, ev) -> {
            if (TestFds.readByte(fd) == Fds.WOULD_BLOCK) q.await(fd, ReadyEvent.READ, again);
        });
        Fds.Pipe[] second = new Fds.Pipe[1];
        q.await(first.readFd(), ReadyEvent.READ, (fd, ev) -> {
            Fds.close(fd);
            second[0] = Fds.pipe();
            q.await(second[0].readFd(), ReadyEvent.READ, again);
        });
        try {
            for (int i = 0; i < 3; i++) q.runOnce(Duration.ofMillis(20));
            assertEquals(List.of(), again.log(), "the old file's readiness woke nothing");
            TestFds.writeByte(second[0].writeFd(), 2);
            runUntil(q, () -> again.calls() > 0);
            assertEquals(List.of(Recorder.ready(second[0].readFd(), Event.READ)), again.log());
            assertFalse(q.running());
        } finally {
            TestFds.rawClose(dup);
            Fds.close(first.writeFd());
            second[0].close();
        }
    }

    // guards (cold review, 2026-12-08): after 2^31 registrations on one queue the generation went
    // negative, its events were taken for the wake-up, the waiter was never told and the loop spun
    @Test
    void registrationsPastTwoToTheThirtyOneAreServed() throws Exception {
        onNewThread(() -> {
            IoQueue q = IoQueue.create(Backend.EPOLL);
            try {
                Object registrations = field(q.core, "registrations");
                java.lang.reflect.Field next = registrations.getClass().getDeclaredField("nextGeneration");
                next.setAccessible(true);
                next.setInt(registrations, Integer.MAX_VALUE); // as after 2^31 - 1 registrations
                try (Fds.Pipe p1 = Fds.pipe(); Fds.Pipe p2 = Fds.pipe()) {
                    TestFds.writeByte(p1.writeFd(), 1);
                    TestFds.writeByte(p2.writeFd(), 1);
                    List<Integer> fired = new ArrayList<>();
                    q.await(p1.readFd(), ReadyEvent.READ, (fd, ev) -> fired.add(1));
                    q.await(p2.readFd(), ReadyEvent.READ, (fd, ev) -> fired.add(2)); // the generation after the last
                    for (int i = 0; i < 10 && fired.size() < 2; i++) q.runOnce(Duration.ofSeconds(1));
                    assertEquals(Set.of(1, 2), Set.copyOf(fired));
                    assertFalse(q.running(), "nothing left waiting");
                }
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(e);
            } finally {
                q.close();
            }
        });
    }

    private static Object field(Object o, String name) throws ReflectiveOperationException {
        java.lang.reflect.Field f = o.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(o);
    }
}
