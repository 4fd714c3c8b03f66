package dev.ioqueue;

import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.Unistd;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Real-fd helpers for tests: raw opens, dups and counts of this process's fds. */
final class TestFds {
    private TestFds() {}

    static int open(Path path, int flags) {
        int fd = Unistd.open(path.toString(), flags, Native.threadErrno());
        if (fd < 0) throw new SyscallException("open", -fd, path.toString());
        return fd;
    }

    static int dup(int fd) {
        int r = Unistd.dup(fd, Native.threadErrno());
        if (r < 0) throw new SyscallException("dup", fd, -r);
        return r;
    }

    /** pipe2(2) behind every queue's back, as a native library would make one: {read, write}. */
    static int[] rawPipe() {
        long fds = Unistd.pipe2(Unistd.O_NONBLOCK | Unistd.O_CLOEXEC, Native.threadErrno());
        if (fds < 0) throw new SyscallException("pipe2", (int) -fds, null);
        return new int[] {Native.first(fds), Native.second(fds)};
    }

    /** pipe2(O_CLOEXEC): blocking, as pipe(2) and most native libraries make them: {read, write}. */
    static int[] rawBlockingPipe() {
        long fds = Unistd.pipe2(Unistd.O_CLOEXEC, Native.threadErrno());
        if (fds < 0) throw new SyscallException("pipe2", (int) -fds, null);
        return new int[] {Native.first(fds), Native.second(fds)};
    }

    /**
     * A new pipe whose read end has the number {@code number}, which the caller just freed; null
     * if 32 pipes did not bring it back. The kernel hands out the lowest free number, and another
     * thread may free a lower one meanwhile (the watchdog closing an ended thread's handles): the
     * pipes that got other numbers are closed after.
     */
    static Fds.Pipe pipeAt(int number) {
        java.util.List<Integer> aside = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 32; i++) {
                Fds.Pipe p = Fds.pipe();
                if (p.readFd() == number) return p;
                aside.add(p.readFd()); // a lower number: kept until the end, so the next pipe cannot take it
                if (p.writeFd() == number) Fds.close(p.writeFd()); // the number again free, for the next read end
                else aside.add(p.writeFd());
            }
            return null;
        } finally {
            for (int fd : aside) Fds.close(fd);
        }
    }

    /** {@link #open} of {@code path}, again until the fd has the number {@code number} the caller just freed (see {@link #pipeAt}); -1 if 32 opens did not bring it back. */
    static int openAt(Path path, int flags, int number) {
        java.util.List<Integer> aside = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 32; i++) {
                int fd = open(path, flags);
                if (fd == number) return fd;
                aside.add(fd);
            }
            return -1;
        } finally {
            for (int fd : aside) rawClose(fd);
        }
    }

    /** close(2) behind every queue's back. */
    static void rawClose(int fd) {
        int r = Unistd.close(fd, Native.threadErrno());
        if (r < 0) throw new SyscallException("close", fd, -r);
    }

    /** {@code q}'s own epoll fd, found in /proc/self/fd (an epoll queue's: an io_uring queue has a second). */
    static int epollFdOf(IoQueue q) {
        for (String n : new java.io.File("/proc/self/fd").list()) {
            int fd = Integer.parseInt(n);
            String target;
            try {
                target = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/" + n)).toString();
            } catch (java.io.IOException gone) {
                continue;
            }
            if (target.equals("anon_inode:[eventpoll]") && q.core.ownsFd(fd)) return fd;
        }
        throw new AssertionError("no epoll fd of " + q + " found");
    }

    static boolean isOpen(int fd) {
        return Unistd.fcntl(fd, Unistd.F_GETFD, Native.threadErrno()) >= 0;
    }

    /** How many fds a queue owns: its epoll fd and wake-up eventfd, and on io_uring its ring's. */
    static int ownFdCount(IoQueue q) {
        return q.backend() == Backend.IO_URING ? 3 : 2;
    }

    /**
     * The fds {@code q} (the calling thread's queue) refuses as its own, found by asking it to wait
     * on every anon-inode fd of the process (other queues' and the JVM's are not refused as its own).
     */
    static java.util.List<Integer> ownFds(IoQueue q) {
        java.util.List<Integer> own = new java.util.ArrayList<>();
        for (String n : new java.io.File("/proc/self/fd").list()) {
            int fd = Integer.parseInt(n);
            String target;
            try {
                target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + n)).toString();
            } catch (IOException gone) {
                continue;
            }
            if (!target.startsWith("anon_inode:") || target.equals("anon_inode:[pidfd]")) continue;
            try {
                q.await(fd, ReadyEvent.READ, (f, e) -> {});
                q.unregister(fd);
            } catch (IllegalArgumentException ours) {
                if (ours.getMessage().contains("only the queue")) own.add(fd);
            } catch (RuntimeException notOurs) {
                // another queue's, or the JVM's
            }
        }
        return own;
    }

    /**
     * The queues' native bytes ({@code NativeAccounting.liveBytes()}) once they hold still: a queue
     * whose thread ended without closing it is freed by a Cleaner after a GC, on its own thread,
     * so a figure taken meanwhile may drop under a test that measures its own.
     */
    static long settledNativeBytes() throws InterruptedException {
        return settled(dev.ioqueue.internal.os.NativeAccounting::liveBytes);
    }

    /** {@code figure} once three reads in a row, each after a GC and 20 ms, agree (at most 10 s). */
    private static long settled(java.util.function.LongSupplier figure) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        long seen = -1;
        for (int stable = 0; stable < 3 && System.nanoTime() < deadline; ) {
            System.gc();
            Thread.sleep(20);
            long now = figure.getAsLong();
            stable = now == seen ? stable + 1 : 0;
            seen = now;
        }
        return seen;
    }

    /**
     * {@link #openFdCount()} once it holds still: queues of threads that ended without closing them
     * are released by a Cleaner after a GC, on its own thread, so a count taken meanwhile may move.
     */
    static long settledFdCount() throws InterruptedException {
        return settled(TestFds::openFdCount);
    }

    /**
     * This process's open fds, each as "number -> what it is" (a socket's or pipe's inode included),
     * for {@link #assertNoneOpenedSince}: a leak check that fds closed meanwhile by other threads
     * (a Cleaner releasing a dead thread's queue) cannot disturb, as a count can. Take it with
     * {@link #settledOpenFds}.
     */
    static java.util.Set<String> openFds() {
        java.util.Set<String> fds = new java.util.HashSet<>();
        for (String n : new java.io.File("/proc/self/fd").list()) {
            try {
                fds.add(n + " -> " + Files.readSymbolicLink(Path.of("/proc/self/fd/" + n)));
            } catch (IOException gone) {
                // closed while listed
            }
        }
        return fds;
    }

    /**
     * {@link #openFds} once the count holds still ({@link #settledFdCount}): queues that earlier
     * tests' threads left are released first, so none is released while a test compares. Needed
     * as well as the set difference: an epoll, eventfd or io_uring fd reads the same for every
     * file of its kind ("anon_inode:[eventpoll]"), so a number freed by such a release and taken
     * by a new fd of that kind would look unchanged.
     */
    static java.util.Set<String> settledOpenFds() throws InterruptedException {
        settledFdCount();
        return openFds();
    }

    /** The fds open now that were not in {@code before} (by number and by what they are). */
    static java.util.Set<String> openedSince(java.util.Set<String> before) {
        java.util.Set<String> now = openFds();
        now.removeAll(before);
        return now;
    }

    /** Fails naming every fd opened since {@code before} that is still open. */
    static void assertNoneOpenedSince(java.util.Set<String> before, String what) {
        java.util.Set<String> left = openedSince(before);
        if (!left.isEmpty()) throw new AssertionError(what + ": still open " + left);
    }

    static long openFdCount() {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** CPU time (user + system) of the calling thread, from /proc (10 ms resolution). */
    static long threadCpuMillis() {
        try {
            String stat = Files.readString(Path.of("/proc/thread-self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10; // utime, stime at 100 Hz
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void writeByte(int fd, int value) {
        if (Fds.write(fd, new byte[] {(byte) value}, 0, 1) != 1) throw new AssertionError("pipe full");
    }

    static int readByte(int fd) {
        byte[] b = new byte[1];
        int n = Fds.read(fd, b, 0, 1);
        return n == 1 ? Byte.toUnsignedInt(b[0]) : n;
    }

    /** Writes until the pipe or socket is full; returns the bytes written. */
    static long fill(int fd) {
        ByteBuffer chunk = ByteBuffer.allocateDirect(65536);
        long total = 0;
        while (true) {
            chunk.clear();
            int n = Fds.write(fd, chunk);
            if (n == Fds.WOULD_BLOCK) return total;
            total += n;
        }
    }

    /** Reads a non-blocking fd until end-of-file, waiting for readiness at most 10 s at a time; returns the bytes read. */
    static long readToEnd(int fd) throws java.io.IOException {
        ByteBuffer chunk = ByteBuffer.allocateDirect(65536);
        long total = 0;
        while (true) {
            chunk.clear();
            int n = Fds.read(fd, chunk);
            if (n == Fds.EOF) return total;
            if (n == Fds.WOULD_BLOCK) {
                if (Fds.awaitReady(fd, ReadyEvent.READ, java.time.Duration.ofSeconds(10)).isEmpty()) throw new AssertionError("no end-of-file on fd " + fd);
                continue;
            }
            total += n;
        }
    }

    /** Reads until EAGAIN; returns the bytes read. */
    static long drain(int fd) {
        ByteBuffer chunk = ByteBuffer.allocateDirect(65536);
        long total = 0;
        while (true) {
            chunk.clear();
            int n = Fds.read(fd, chunk);
            if (n == Fds.WOULD_BLOCK || n == Fds.EOF) return total;
            total += n;
        }
    }

    /** Shrinks a socket's send buffer to the kernel's minimum (SO_SNDBUF), so filling it is cheap. */
    static void smallSendBuffer(int fd) {
        int r = dev.ioqueue.internal.os.SocketCalls.setIntOption(fd, dev.ioqueue.internal.os.SocketCalls.SOL_SOCKET, 7 /* SO_SNDBUF */, 1,
                Native.threadErrno());
        if (r < 0) throw new SyscallException("setsockopt(SO_SNDBUF)", fd, -r);
    }
}
