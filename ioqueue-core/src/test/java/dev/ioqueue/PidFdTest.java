package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PidFdTest extends QueueTestSupport {
    private static Process start(String... command) throws java.io.IOException {
        return new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    @Test
    void aChildsExitRunsOnExitOnTheQueueWithItsExitCodeKnown() throws Exception {
        IoQueue q = IoQueue.current();
        List<String> log = new ArrayList<>();
        Process child = start("sh", "-c", "sleep 0.1; exit 3");
        try (PidFd pidFd = PidFd.of(child)) {
            assertEquals(child.pid(), pidFd.pid());
            pidFd.onExit(q, () -> log.add("exit " + child.exitValue() + " on " + Thread.currentThread().getName()));
            q.run();
            assertEquals(List.of("exit 3 on " + Thread.currentThread().getName()), log);
            assertTrue(pidFd.hasExited());
        }
        assertEquals(3, child.waitFor(), "the JDK reaped its child as usual");
    }

    @Test
    void hasExitedIsFalseWhileTheProcessRunsAndTrueOnceItExited() throws Exception {
        Process child = start("sleep", "0.2");
        try (PidFd pidFd = PidFd.of(child)) {
            assertFalse(pidFd.hasExited());
            assertEquals(0, child.waitFor());
            assertTrue(pidFd.hasExited());
        }
    }

    @Test
    void openOfAnyPidSeesItsExit() throws Exception {
        IoQueue q = IoQueue.current();
        try (PidFd self = PidFd.open(ProcessHandle.current().pid())) {
            assertFalse(self.hasExited());
        }
        Process child = start("sleep", "0.05");
        List<String> log = new ArrayList<>();
        try (PidFd pidFd = PidFd.open(child.pid())) {
            pidFd.onExit(q, () -> log.add("exited"));
            q.run();
            assertEquals(List.of("exited"), log);
        }
        child.waitFor();
    }

    @Test
    void badPidsAreRefused() throws Exception {
        for (long pid : new long[] {0, -1, 1L << 31}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PidFd.open(pid));
            assertTrue(e.getMessage().contains("pid " + pid), e.getMessage());
        }
        SyscallException none = assertThrows(SyscallException.class, () -> PidFd.open(Integer.MAX_VALUE));
        assertEquals("ESRCH", none.errnoName());
        assertTrue(none.getMessage().contains("pidfd_open") && none.getMessage().contains("pid " + Integer.MAX_VALUE), none.getMessage());
        Process reaped = start("true");
        reaped.waitFor();
        try (PidFd exited = PidFd.of(reaped)) { // a stand-in, readable at once
            assertTrue(exited.hasExited());
            IoQueue q = IoQueue.current();
            boolean[] ran = {false};
            exited.onExit(q, () -> ran[0] = true);
            q.run();
            assertTrue(ran[0]);
            assertEquals(0, reaped.exitValue());
        }
    }

    // guards: a child the JDK had reaped but whose exit it had not recorded yet (isAlive() still
    // true) made PidFd.of throw ESRCH (outside round 11: 6 to 12 in 300 short-lived children)
    @Test
    void aChildReapedBeforeTheJdkRecordsItsExitGetsTheStandIn() throws Exception {
        Process child = start("sh", "-c", "exit 4");
        assertEquals(4, child.waitFor());
        Process lagging = new RecordsLate(child, 2); // alive for the looks before and after the open, as in the JDK's window
        try (PidFd exited = PidFd.of(lagging)) {
            assertTrue(exited.hasExited());
            IoQueue q = IoQueue.current();
            List<Integer> codes = new ArrayList<>();
            exited.onExit(q, () -> codes.add(lagging.exitValue()));
            q.run();
            assertEquals(List.of(4), codes);
        }
    }

    /** A child as the JDK shows it between reaping it and recording its exit: alive for {@code looks} more looks. */
    private static final class RecordsLate extends Process {
        private final Process child;
        private int looks;

        RecordsLate(Process child, int looks) {
            this.child = child;
            this.looks = looks;
        }

        @Override
        public boolean isAlive() {
            return looks-- > 0 || child.isAlive();
        }

        @Override
        public long pid() {
            return child.pid();
        }

        @Override
        public int exitValue() {
            if (looks > 0) throw new IllegalThreadStateException("not recorded yet");
            return child.exitValue();
        }

        @Override
        public int waitFor() throws InterruptedException {
            return child.waitFor();
        }

        @Override
        public void destroy() {
            child.destroy();
        }

        @Override
        public java.io.OutputStream getOutputStream() {
            return child.getOutputStream();
        }

        @Override
        public java.io.InputStream getInputStream() {
            return child.getInputStream();
        }

        @Override
        public java.io.InputStream getErrorStream() {
            return child.getErrorStream();
        }
    }

    @Test
    void closingBeforeTheExitDropsTheWaitAndCancelStopsIt() throws Exception {
        IoQueue q = IoQueue.current();
        List<String> log = new ArrayList<>();
        Process child = start("sleep", "0.1");
        try {
            PidFd dropped = PidFd.of(child);
            dropped.onExit(q, () -> log.add("exit seen by the closed one"), () -> log.add("dropped"));
            dropped.close();
            assertThrows(IllegalStateException.class, dropped::hasExited);
            try (PidFd cancelled = PidFd.of(child)) {
                Cancellable wait = cancelled.onExit(q, () -> log.add("exit seen by the cancelled one"));
                assertTrue(wait.cancel());
                assertFalse(wait.cancel());
                assertFalse(q.running(), "no waiter is left");
                child.waitFor();
                q.runOnce(Duration.ZERO);
            }
            assertEquals(List.of("dropped"), log);
        } finally {
            child.destroy();
        }
    }
}
