package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.Unistd;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Unix domain stream sockets, on a path and on an abstract name, through the queue. */
class SocketsUnixTest extends QueueTestSupport {
    @TempDir
    Path dir;

    /** An abstract name no other run or test uses. */
    private static String uniqueAbstractName(String what) {
        return "ioqueue-test-" + ProcessHandle.current().pid() + "-" + what + "-" + System.nanoTime();
    }

    /** An absolute path in the temp dir of exactly {@code bytes} bytes. */
    private Path pathOfBytes(int bytes) {
        String prefix = dir.toAbsolutePath() + "/";
        return Path.of(prefix + "s".repeat(bytes - prefix.length()));
    }

    private static void echoRoundTrip(IoQueue q, int listener, int client) {
        int server = QueueEcho.acceptOne(q, listener);
        try {
            QueueEcho.awaitConnected(q, client);
            byte[] data = QueueEcho.pattern(300_000);
            assertArrayEquals(data, QueueEcho.echo(q, server, client, data));
        } finally {
            Fds.close(server);
        }
    }

    @Test
    void echoRoundTripOnAPathMovesEveryByteThroughTheQueue() {
        IoQueue q = IoQueue.current();
        Path path = dir.resolve("echo.sock");
        int listener = Sockets.listenUnix(path, 16);
        int client = Sockets.connectUnix(path);
        try {
            echoRoundTrip(q, listener, client);
        } finally {
            Fds.close(client);
            Fds.close(listener);
        }
    }

    @Test
    void echoRoundTripOnAnAbstractNameMovesEveryByteThroughTheQueue() {
        IoQueue q = IoQueue.current();
        String name = uniqueAbstractName("echo");
        int listener = Sockets.listenUnixAbstract(name, 16);
        int client = Sockets.connectUnixAbstract(name);
        try {
            echoRoundTrip(q, listener, client);
        } finally {
            Fds.close(client);
            Fds.close(listener);
        }
    }

    @Test
    void aJdkUnixSocketChannelIsServedByOurListener() throws IOException {
        IoQueue q = IoQueue.current();
        Path path = dir.resolve("jdk-client.sock");
        int listener = Sockets.listenUnix(path, 16);
        try (SocketChannel jdk = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            jdk.connect(UnixDomainSocketAddress.of(path)); // blocking; completes at once, before our accept
            int server = QueueEcho.acceptOne(q, listener);
            try {
                byte[] data = QueueEcho.pattern(32 * 1024); // fits the socket buffers: no thread needed
                jdk.write(ByteBuffer.wrap(data));
                ByteBuffer got = ByteBuffer.allocate(data.length);
                q.await(server, ReadyEvent.READ, new ReadyCallback() {
                    @Override
                    public void onReady(int fd, Set<Event> events) {
                        int n;
                        byte[] chunk = new byte[8192];
                        while ((n = Fds.read(fd, chunk, 0, chunk.length)) > 0) {
                            assertEquals(n, Fds.write(fd, chunk, 0, n));
                            got.put(chunk, 0, n);
                        }
                        if (got.hasRemaining()) q.await(fd, ReadyEvent.READ, this);
                    }
                });
                q.run();
                ByteBuffer back = ByteBuffer.allocate(data.length);
                while (back.hasRemaining()) jdk.read(back);
                assertArrayEquals(data, back.array());
            } finally {
                Fds.close(server);
            }
        } finally {
            Fds.close(listener);
        }
    }

    @Test
    void connectUnixReachesAJdkUnixServerSocketChannel() throws IOException {
        IoQueue q = IoQueue.current();
        Path path = dir.resolve("jdk-server.sock");
        try (ServerSocketChannel jdkServer = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            jdkServer.bind(UnixDomainSocketAddress.of(path));
            int client = Sockets.connectUnix(path);
            try (SocketChannel accepted = jdkServer.accept()) {
                QueueEcho.awaitConnected(q, client);
                assertEquals(5, Fds.write(client, "hello".getBytes(StandardCharsets.US_ASCII), 0, 5));
                ByteBuffer got = ByteBuffer.allocate(5);
                while (got.hasRemaining()) accepted.read(got);
                assertEquals("hello", new String(got.array(), StandardCharsets.US_ASCII));
            } finally {
                Fds.close(client);
            }
        }
    }

    @Test
    void aPathOf107BytesIsAccepted() {
        Path path = pathOfBytes(107);
        int listener = Sockets.listenUnix(path, 1);
        int client = Sockets.connectUnix(path);
        Fds.close(client);
        Fds.close(listener);
        assertTrue(Files.exists(path));
    }

    @Test
    void aPathOf108BytesIsRefusedNamingThePathAndTheLimit() {
        Path path = pathOfBytes(108);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sockets.listenUnix(path, 1));
        assertTrue(e.getMessage().contains(path.toString()) && e.getMessage().contains("108 bytes")
                && e.getMessage().contains("at most 107"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Sockets.connectUnix(path));
    }

    @Test
    void aPathIsMeasuredInUtf8Bytes() {
        Path path = dir.resolve("é".repeat(60)); // 60 chars, 120 bytes
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sockets.listenUnix(path, 1));
        assertTrue(e.getMessage().contains("at most 107"), e.getMessage());
    }

    @Test
    void anAbstractNameOf108BytesIsRefusedAndOneOf107Accepted() {
        String prefix = uniqueAbstractName("long");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Sockets.listenUnixAbstract(prefix + "n".repeat(108 - prefix.length()), 1));
        assertTrue(e.getMessage().contains("108 bytes") && e.getMessage().contains("at most 107"), e.getMessage());
        Fds.close(Sockets.listenUnixAbstract(prefix + "n".repeat(107 - prefix.length()), 1));
    }

    @Test
    void aStaleSocketFileIsEaddrinuseNamingThePathAndIsLeftInPlace() throws InterruptedException {
        Path path = dir.resolve("stale.sock");
        Fds.close(Sockets.listenUnix(path, 1)); // the server is gone, its file stays
        java.util.Set<String> fdsBefore = TestFds.settledOpenFds();
        SyscallException e = assertThrows(SyscallException.class, () -> Sockets.listenUnix(path, 1));
        assertEquals("bind", e.operation());
        assertEquals("EADDRINUSE", e.errnoName());
        assertTrue(e.getMessage().contains(path.toString()), e.getMessage());
        assertTrue(Files.exists(path), "not unlinked");
        TestFds.assertNoneOpenedSince(fdsBefore, "the refused socket was closed");
    }

    @Test
    void aTakenAbstractNameIsEaddrinuseNamingIt() {
        String name = uniqueAbstractName("taken");
        int listener = Sockets.listenUnixAbstract(name, 1);
        try {
            SyscallException e = assertThrows(SyscallException.class, () -> Sockets.listenUnixAbstract(name, 1));
            assertEquals("EADDRINUSE", e.errnoName());
            assertTrue(e.getMessage().contains("@" + name), e.getMessage());
        } finally {
            Fds.close(listener);
        }
    }

    @Test
    void connectUnixToAMissingPathIsEnoentNamingItAndLeaksNoFd() throws InterruptedException {
        Path path = dir.resolve("nobody-here.sock");
        java.util.Set<String> fdsBefore = TestFds.settledOpenFds();
        SyscallException e = assertThrows(SyscallException.class, () -> Sockets.connectUnix(path));
        assertEquals("connect", e.operation());
        assertEquals("ENOENT", e.errnoName());
        assertTrue(e.getMessage().contains(path.toString()), e.getMessage());
        TestFds.assertNoneOpenedSince(fdsBefore, "the refused socket was closed");
    }

    @Test
    void connectUnixToAStaleSocketFileIsEconnrefused() {
        Path path = dir.resolve("stale.sock");
        Fds.close(Sockets.listenUnix(path, 1));
        SyscallException e = assertThrows(SyscallException.class, () -> Sockets.connectUnix(path));
        assertEquals("ECONNREFUSED", e.errnoName());
    }

    @Test
    void connectUnixToAFullBacklogIsEagainWithNothingInProgress() {
        String name = uniqueAbstractName("full");
        int listener = Sockets.listenUnixAbstract(name, 0);
        List<Integer> queued = new ArrayList<>();
        try {
            SyscallException e = assertThrows(SyscallException.class, () -> {
                for (int i = 0; i < 64; i++) queued.add(Sockets.connectUnixAbstract(name)); // never accepted
            });
            assertEquals("EAGAIN", e.errnoName());
            assertTrue(e.getMessage().contains("backlog is full"), e.getMessage());
        } finally {
            for (int fd : queued) Fds.close(fd);
            Fds.close(listener);
        }
    }

    @Test
    void everyUnixSocketMadeIsNonBlockingAndCloseOnExec() {
        IoQueue q = IoQueue.current();
        Path path = dir.resolve("flags.sock");
        int listener = Sockets.listenUnix(path, 1);
        int client = Sockets.connectUnix(path);
        int server = QueueEcho.acceptOne(q, listener);
        try {
            for (int fd : new int[] {listener, client, server}) {
                assertTrue((Unistd.fcntl(fd, Unistd.F_GETFL, Native.threadErrno()) & Unistd.O_NONBLOCK) != 0, "O_NONBLOCK on fd " + fd);
                assertEquals(1, Unistd.fcntl(fd, Unistd.F_GETFD, Native.threadErrno()) & 1, "FD_CLOEXEC on fd " + fd);
            }
        } finally {
            Fds.close(server);
            Fds.close(client);
            Fds.close(listener);
        }
    }
}
