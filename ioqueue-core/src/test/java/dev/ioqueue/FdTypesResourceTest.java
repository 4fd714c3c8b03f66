package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TimerFd, EventFd, Inotify and PidFd own their fds: non-blocking, close-on-exec, closed once, never leaked. */
class FdTypesResourceTest extends QueueTestSupport {
    @TempDir
    Path dir;

    private static long flags(int fd) throws Exception {
        String info = Files.readString(Path.of("/proc/self/fdinfo/" + fd));
        return Long.parseLong(info.lines().filter(l -> l.startsWith("flags:")).findFirst().orElseThrow().substring(6).trim(), 8);
    }

    @Test
    void everyFdIsNonBlockingAndCloseOnExec() throws Exception {
        try (TimerFd timer = TimerFd.open(); EventFd counter = EventFd.counter(0); EventFd semaphore = EventFd.semaphore(0);
                Inotify inotify = Inotify.open(); PidFd self = PidFd.open(ProcessHandle.current().pid())) {
            for (int fd : new int[] {timer.fd(), counter.fd(), semaphore.fd(), inotify.fd(), self.fd()}) {
                long flags = flags(fd);
                assertTrue((flags & 04000) != 0, "fd " + fd + " lacks O_NONBLOCK: " + Long.toOctalString(flags));
                assertTrue((flags & 02000000) != 0, "fd " + fd + " lacks O_CLOEXEC: " + Long.toOctalString(flags));
            }
        }
    }

    @Test
    void aThousandCreateUseCloseCyclesLeakNoFd() throws Exception {
        IoQueue q = IoQueue.current();
        java.util.Set<String> before = TestFds.settledOpenFds();
        long self = ProcessHandle.current().pid();
        for (int i = 0; i < 1000; i++) {
            try (TimerFd timer = TimerFd.open(); EventFd counter = EventFd.counter(0); Inotify inotify = Inotify.open();
                    PidFd pidFd = PidFd.open(self)) {
                timer.armOnce(Duration.ofHours(1));
                timer.onTicks(q, n -> { });
                counter.signal(1);
                counter.onSignal(q, n -> { });
                inotify.add(dir, EnumSet.of(Inotify.Kind.CREATE));
                inotify.onEvents(q, events -> { });
                assertFalse(pidFd.hasExited());
                pidFd.onExit(q, () -> { });
            }
            assertFalse(q.running(), "closing dropped every watch");
        }
        TestFds.assertNoneOpenedSince(before, "every timerfd, eventfd, inotify fd and pidfd closed");
    }

    @Test
    void closeClosesTheFdExactlyOnce() {
        TimerFd timer = TimerFd.open();
        int fd = timer.fd();
        timer.close();
        assertFalse(TestFds.isOpen(fd));
        try (EventFd reused = EventFd.counter(0)) {
            assumeTrue(reused.fd() == fd, "the kernel gave the lowest free number, as it does unless another thread freed a lower one");
            timer.close(); // does nothing: the eventfd that took the number stays open
            assertTrue(TestFds.isOpen(fd));
        }
    }
}
