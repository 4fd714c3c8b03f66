package dev.ioqueue;

import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.SocketCalls;
import dev.ioqueue.internal.os.Unistd;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Real sockets for the networking suites: loopback pairs, raw unbound sockets, fd counts. */
final class NetFixtures {
    static final InetAddress V4 = InetAddress.getLoopbackAddress();
    static final InetAddress V6;

    static {
        try {
            V6 = InetAddress.getByName("::1");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private NetFixtures() {}

    /** A connected loopback pair: [client, server], both non-blocking plain fds; [2] is the listener. */
    static int[] tcpPair(InetAddress address) throws IOException {
        int listener = Sockets.listenTcp(address, 0, 16);
        int client = Sockets.connectTcp(address, Sockets.localPort(listener));
        Fds.awaitReady(client, ReadyEvent.WRITE);
        int server = BlockingIo.accept(listener);
        return new int[] {client, server, listener};
    }

    /** A connected Unix stream pair [client, server, listener] on a path under {@code dir}. */
    static int[] unixPair(Path dir) throws IOException {
        Path path = dir.resolve("s" + System.nanoTime());
        int listener = Sockets.listenUnix(path, 16);
        int client = Sockets.connectUnix(path);
        int server = BlockingIo.accept(listener);
        Files.deleteIfExists(path);
        return new int[] {client, server, listener};
    }

    /** A fresh, unbound, non-blocking socket of {@code family} and {@code type}. */
    static int rawSocket(int family, int type) {
        int fd = SocketCalls.socket(family, type | SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC, 0, Native.threadErrno());
        if (fd < 0) throw new SyscallException("socket", -fd, "test socket");
        return fd;
    }

    static void close(int... fds) {
        for (int fd : fds) if (fd >= 0) Unistd.close(fd, Native.threadErrno());
    }

    /** Whether {@code fd} names an open file. */
    static boolean isOpen(int fd) {
        return Files.exists(Path.of("/proc/self/fd/" + fd), java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    /** Waits up to 10 s for {@code condition}; whether it came. */
    static boolean eventually(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) return false;
            Thread.sleep(5);
        }
        return true;
    }
}
