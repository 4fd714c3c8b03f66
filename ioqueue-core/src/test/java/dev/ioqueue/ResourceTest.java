package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ResourceTest extends QueueTestSupport {
    @Test
    void aThousandQueuesOnManyThreadsLeakNoFd() throws Exception {
        IoQueue.current().close(); // this thread starts without one
        long before = TestFds.openFdCount();
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
        assertEquals(before, TestFds.openFdCount());
    }

    @Test
    void theQueuesOwnFdsAreCloseOnExec() throws Exception {
        IoQueue.current();
        int checked = 0;
        for (Path link : Files.list(Path.of("/proc/self/fd")).toList()) {
            String target;
            try {
                target = Files.readSymbolicLink(link).toString();
            } catch (java.io.IOException gone) {
                continue;
            }
            if (!target.equals("anon_inode:[eventpoll]") && !target.equals("anon_inode:[eventfd]")
                    && !target.equals("anon_inode:[timerfd]") && !target.equals("anon_inode:[io_uring]")) continue;
            String info = Files.readString(Path.of("/proc/self/fdinfo/" + link.getFileName()));
            String flags = info.lines().filter(l -> l.startsWith("flags:")).findFirst().orElseThrow().substring(6).trim();
            assertTrue((Long.parseLong(flags, 8) & 02000000L) != 0, target + " flags " + flags + " lack O_CLOEXEC");
            checked++;
        }
        assertTrue(checked >= 3, "found the queue's epoll fd, eventfd and timerfd");
    }

    @Test
    void closeReleasesTheQueuesFds() {
        IoQueue.current().close();
        long before = TestFds.openFdCount();
        IoQueue q = IoQueue.current();
        assertEquals(before + TestFds.ownFdCount(q), TestFds.openFdCount(), "an epoll fd, its wake-up eventfd and its timerfd (and its io_uring fd)");
        q.close();
        assertEquals(before, TestFds.openFdCount());
    }
}
