package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Faults;
import dev.ioqueue.internal.os.Syscall;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingStream;
import org.junit.jupiter.api.Test;

/**
 * What the library tells without a dependency: through {@code System.Logger} (captured here as
 * {@code java.util.logging} records, its default backend) and as JFR events (read back with a
 * {@link RecordingStream}): a loop held past the threshold (100 ms, the default) with the loop's
 * stack while held, a premature close, the backend a queue runs on, io_uring's refusal, and the
 * periodic statistics event.
 */
class LibraryEventsTest extends QueueTestSupport {
    private static final String LOOP_HELD = "dev.ioqueue.LoopHeld";
    private static final String PREMATURE_CLOSE = "dev.ioqueue.PrematureClose";
    private static final String STATISTICS = "dev.ioqueue.QueueStatistics";

    private static boolean heldLoopRecord(LogRecord r, String thread) {
        return r.getLevel() == Level.WARNING && r.getMessage().startsWith("the loop of thread " + thread + " has been held");
    }

    @Test
    void aCallbackThatHoldsTheLoopPastTheThresholdIsRecordedOnceWithTheLoopsStackWhileHeld() throws Exception {
        String me = Thread.currentThread().getName();
        BlockingQueue<RecordedEvent> held = new LinkedBlockingQueue<>();
        try (RecordingStream jfr = new RecordingStream(); LogCapture log = new LogCapture()) {
            jfr.enable(LOOP_HELD);
            jfr.onEvent(LOOP_HELD, e -> {
                if (me.equals(e.getString("queue"))) held.add(e);
            });
            jfr.startAsync();
            IoQueue q = IoQueue.current();
            try (Fds.Pipe p = Fds.pipe()) {
                q.await(p.readFd(), ReadyEvent.READ, (fd, events) -> holdTheLoopInsideThisCallback(log, me));
                Fds.write(p.writeFd(), ByteBuffer.wrap(new byte[] {1}));
                assertEquals(1, q.runOnce(Duration.ofSeconds(10)));
            }
            RecordedEvent e = held.poll(10, TimeUnit.SECONDS);
            assertNotNull(e, "a LoopHeld event for this thread's loop");
            assertTrue(e.getString("loopStack").contains("holdTheLoopInsideThisCallback"), e.getString("loopStack"));
            assertTrue(e.getString("loopStack").contains("Thread.sleep"), "taken while the callback slept");
            assertEquals(Thread.currentThread().threadId(), e.getThread("loopThread").getJavaThreadId());
            assertEquals(Duration.ofMillis(100), e.getDuration("threshold"));
            assertTrue(e.getDuration("held").compareTo(Duration.ofMillis(100)) >= 0, e::toString);
            assertEquals(q.backend() == Backend.IO_URING ? "io_uring" : "epoll", e.getString("backend"));
            List<LogRecord> logged = log.matching(r -> heldLoopRecord(r, me));
            assertEquals(1, logged.size(), "one report per held round, however often the watchdog looked");
            assertTrue(logged.get(0).getMessage().contains("holdTheLoopInsideThisCallback"));
        }
    }

    /** Holds the loop 300 ms, and then until the watchdog has told (so a slow watchdog thread cannot miss it). */
    private static void holdTheLoopInsideThisCallback(LogCapture log, String me) {
        try {
            Thread.sleep(300);
            log.await(r -> heldLoopRecord(r, me));
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void neitherASleepInTheOsNorTheThreadsOwnWorkBetweenRoundsHoldsTheLoop() throws Exception {
        String me = Thread.currentThread().getName();
        try (LogCapture log = new LogCapture()) {
            IoQueue q = IoQueue.current();
            Cancellable hold = q.hold();
            long start = System.nanoTime();
            q.execute(() -> { }); // a first round, then 400 ms asleep in the OS for the timer, in one run()
            q.schedule(Duration.ofMillis(400), hold::cancel);
            q.run();
            assertTrue(System.nanoTime() - start >= 400_000_000L);
            Thread.sleep(400); // outside the loop: the thread's own business
            q.execute(() -> { });
            q.run();
            // A report here would be the JVM's own stall of a round (GC, a starved CPU): true, but
            // not what this test is about. Asleep in the OS, or in Thread.sleep outside the loop,
            // must never be reported.
            assertEquals(List.of(), log.matching(r -> heldLoopRecord(r, me)).stream().map(LogRecord::getMessage)
                    .filter(m -> m.contains("Poller.await(") || m.contains("java.lang.Thread.sleep(")).toList());
        }
    }

    @Test
    void aPrematureCloseIsLoggedAtWarningAndRecordedWithTheStackThatFoundIt() throws Exception {
        String me = Thread.currentThread().getName();
        BlockingQueue<RecordedEvent> closes = new LinkedBlockingQueue<>();
        try (RecordingStream jfr = new RecordingStream(); LogCapture log = new LogCapture()) {
            jfr.enable(PREMATURE_CLOSE).withStackTrace();
            jfr.onEvent(PREMATURE_CLOSE, e -> {
                if (me.equals(e.getString("queue"))) closes.add(e);
            });
            jfr.startAsync();
            IoQueue q = IoQueue.current();
            Fds.Pipe lowerA = Fds.pipe();
            Fds.Pipe lowerB = Fds.pipe();
            Fds.Pipe p = Fds.pipe();
            // Four lower numbers free: a file Flight Recorder's threads open meanwhile takes one of
            // them, not the number closed below (the kernel hands out the lowest free one).
            lowerA.close();
            lowerB.close();
            q.await(p.readFd(), ReadyEvent.READ, (fd, events) -> { });
            TestFds.rawClose(p.readFd()); // behind the queue's back
            assertThrows(PrematureCloseError.class, () -> q.unregister(p.readFd()));
            Fds.close(p.writeFd());

            List<LogRecord> warned = log.matching(r -> r.getLevel() == Level.WARNING && r.getMessage().startsWith("fd " + p.readFd() + " "));
            assertEquals(1, warned.size());
            assertEquals("fd " + p.readFd() + " was closed behind the back of the queue of thread " + me
                    + ", found at unregister (epoll_ctl: EBADF): its waiters are dropped (close a plain fd through Fds.close on the"
                    + " queue's thread or after unregister, or own it with a Handle)", warned.get(0).getMessage());

            RecordedEvent e = closes.poll(10, TimeUnit.SECONDS);
            assertNotNull(e, "a PrematureClose event");
            assertEquals(p.readFd(), e.getInt("fd"));
            assertEquals("found at unregister (epoll_ctl: EBADF)", e.getString("where"));
            assertTrue(e.getStackTrace().getFrames().stream().map(RecordedFrame::getMethod)
                    .anyMatch(m -> m.getName().equals("unregister") && m.getType().getName().equals("dev.ioqueue.IoQueue")),
                    "found in IoQueue.unregister");
        }
    }

    @Test
    void eachNewQueueLogsItsBackendAtDebug() throws Exception {
        try (LogCapture log = new LogCapture()) {
            AtomicReference<Backend> backend = new AtomicReference<>();
            Thread t = Thread.ofPlatform().name("backend-logged").start(() -> {
                try (IoQueue q = IoQueue.current()) {
                    backend.set(q.backend());
                }
            });
            t.join();
            // told by the watchdog thread, a moment after the queue was made
            List<LogRecord> told = log.matching(r -> r.getMessage().startsWith("the queue of thread backend-logged runs on"));
            for (long deadline = System.nanoTime() + 10_000_000_000L; told.isEmpty() && System.nanoTime() < deadline; ) {
                Thread.sleep(5);
                told = log.matching(r -> r.getMessage().startsWith("the queue of thread backend-logged runs on"));
            }
            assertEquals(1, told.size());
            assertEquals(Level.FINE, told.get(0).getLevel(), "DEBUG");
            assertEquals("the queue of thread backend-logged runs on " + (backend.get() == Backend.IO_URING ? "io_uring" : "epoll"),
                    told.get(0).getMessage());
        }
    }

    @Test
    void ioUringRefusedIsToldAtInfoOnceAProcessWithItsErrnoThenAtDebug() throws Exception {
        assumeTrue(Faults.ENABLED);
        // Once a process: a JVM of its own, where nothing was refused before.
        Process child = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED",
                "-Ddev.ioqueue.faults=true", "-Ddev.ioqueue.backend=auto", "-cp", System.getProperty("java.class.path"),
                RefusedTwice.class.getName()).redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, child.exitValue(), out);
        List<String> refusals = out.lines().filter(l -> l.contains("io_uring refused")).toList();
        assertEquals(2, refusals.size(), out);
        assertTrue(refusals.get(0).startsWith("INFO io_uring refused (EPERM): the queue of thread main runs on epoll;"), refusals.get(0));
        assertTrue(refusals.get(0).endsWith("(told once; later queues at DEBUG)"), refusals.get(0));
        assertTrue(refusals.get(1).startsWith("FINE io_uring refused (EPERM): the queue of thread main runs on epoll;"), refusals.get(1));
    }

    /** In a JVM of its own: two queues whose io_uring setup is refused (EPERM); prints each library record as "LEVEL message". */
    static final class RefusedTwice {
        public static void main(String[] args) {
            java.util.logging.Logger logger = java.util.logging.Logger.getLogger("dev.ioqueue");
            logger.setLevel(Level.ALL);
            logger.setUseParentHandlers(false);
            logger.addHandler(new java.util.logging.Handler() {
                @Override
                public void publish(LogRecord r) {
                    System.out.println(r.getLevel() + " " + r.getMessage());
                }

                @Override
                public void flush() {}

                @Override
                public void close() {}
            });
            for (int i = 0; i < 2; i++) {
                Faults.failNth(Syscall.IO_URING_SETUP, 1, Errno.EPERM);
                IoQueue q = IoQueue.current();
                if (q.backend() != Backend.EPOLL) throw new AssertionError("not refused");
                q.close();
            }
            System.out.flush();
        }
    }

    // guards (outside round 46): a mistyped threshold was silently replaced (abc: the default; -5: off)
    @Test
    void aMistypedHeldLoopThresholdIsRefusedNamingTheProperty() throws Exception {
        for (String value : new String[] {"abc", "-5", "1.5"}) {
            Process child = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED",
                    "-Ddev.ioqueue.heldLoopMillis=" + value, "-cp", System.getProperty("java.class.path"),
                    MakeTwoQueues.class.getName()).redirectErrorStream(true).start();
            String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(child.waitFor(60, TimeUnit.SECONDS));
            String refusal = "IllegalArgumentException: system property dev.ioqueue.heldLoopMillis=" + value + ": expected a whole number";
            assertEquals(2, out.lines().filter(l -> l.startsWith(refusal)).count(), "refused at each queue, nothing made: " + out);
        }
    }

    // guards (outside round 47): with a large held-loop threshold the watchdog looked every half of
    // it, so a dead thread's queue kept its futures, sockets and handles for half an hour
    @Test
    void aLargeHeldLoopThresholdStillReleasesADeadThreadsQueueWithinASecondOrSo() throws Exception {
        Process child = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED",
                "-Ddev.ioqueue.heldLoopMillis=3600000", "-cp", System.getProperty("java.class.path"),
                DeadOwnersFuture.class.getName()).redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(60, TimeUnit.SECONDS));
        assertTrue(out.contains("failed: WaitDroppedException"), out);
    }

    /** In a JVM of its own: a thread's queue with a pending future, the thread ended; prints how the future ended within 5 s. */
    static final class DeadOwnersFuture {
        public static void main(String[] args) throws Exception {
            Fds.Pipe p = Fds.pipe();
            java.util.concurrent.atomic.AtomicReference<java.util.concurrent.CompletableFuture<?>> future = new java.util.concurrent.atomic.AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> future.set(IoQueue.current().whenReady(p.readFd(), ReadyEvent.READ)));
            t.join();
            try {
                future.get().get(5, TimeUnit.SECONDS);
                System.out.println("completed");
            } catch (java.util.concurrent.ExecutionException e) {
                System.out.println("failed: " + e.getCause().getClass().getSimpleName());
            } catch (java.util.concurrent.TimeoutException e) {
                System.out.println("still pending after 5 s");
            }
        }
    }

    /** In a JVM of its own: tries to make a queue twice; prints what each try threw, or "made". */
    static final class MakeTwoQueues {
        public static void main(String[] args) {
            for (int i = 0; i < 2; i++) {
                try {
                    IoQueue.current().close();
                    System.out.println("made");
                } catch (RuntimeException e) {
                    System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
                }
            }
        }
    }

    @Test
    void theStatisticsEventCarriesEachOpenQueuesCountsEveryPeriod() throws Exception {
        String me = Thread.currentThread().getName();
        IoQueue q = IoQueue.current();
        for (int i = 0; i < 3; i++) q.execute(() -> { });
        q.run();
        BlockingQueue<RecordedEvent> stats = new LinkedBlockingQueue<>();
        try (RecordingStream jfr = new RecordingStream()) {
            jfr.enable(STATISTICS).withPeriod(Duration.ofMillis(100));
            jfr.onEvent(STATISTICS, e -> {
                if (me.equals(e.getString("queue"))) stats.add(e);
            });
            jfr.startAsync();
            RecordedEvent e = stats.poll(10, TimeUnit.SECONDS);
            assertNotNull(e, "a QueueStatistics event for this thread's queue");
            QueueStats now = q.stats();
            assertEquals(3, e.getLong("tasksRun"));
            assertEquals(now.rounds(), e.getLong("rounds"));
            assertEquals(now.wakeUps(), e.getLong("wakeUps"));
            assertEquals(q.backend() == Backend.IO_URING ? "io_uring" : "epoll", e.getString("backend"));
            assertEquals(Thread.currentThread().threadId(), e.getThread("loopThread").getJavaThreadId());
        }
    }
}
