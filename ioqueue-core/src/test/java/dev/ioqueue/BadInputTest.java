package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ioqueue.internal.os.Unistd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.RejectedExecutionException;
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
}
