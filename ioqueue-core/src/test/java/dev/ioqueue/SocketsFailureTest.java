package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Faults;
import dev.ioqueue.internal.os.Syscall;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Bad input is refused before any syscall; a failed syscall closes the socket it made; and a
 * thousand connections of each kind leave no fd behind.
 */
class SocketsFailureTest extends QueueTestSupport {
    @TempDir
    Path dir;

    /** The kinds of stream socket {@link Sockets} makes, each as a listen and a connect to it. */
    enum Kind {
        IPV4, IPV6, UNIX_PATH, UNIX_ABSTRACT;

        /** Returns {listener, client}; {@code where} is a fresh path for UNIX_PATH. */
        int[] listenAndConnect(Path where) throws Exception {
            return switch (this) {
                case IPV4, IPV6 -> {
                    InetAddress ip = this == IPV4 ? InetAddress.getLoopbackAddress() : InetAddress.getByName("::1");
                    int listener = Sockets.listenTcp(ip, 0, 4);
                    yield new int[] {listener, Sockets.connectTcp(ip, Sockets.localPort(listener))};
                }
                case UNIX_PATH -> {
                    int listener = Sockets.listenUnix(where, 4);
                    yield new int[] {listener, Sockets.connectUnix(where)};
                }
                case UNIX_ABSTRACT -> {
                    String name = "ioqueue-test-" + ProcessHandle.current().pid() + "-" + where.getFileName();
                    int listener = Sockets.listenUnixAbstract(name, 4);
                    yield new int[] {listener, Sockets.connectUnixAbstract(name)};
                }
            };
        }
    }

    private static void refusedBeforeAnySyscall(String expectedMessagePart, IntSupplier call) {
        long sockets = Faults.calls(Syscall.SOCKET);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::getAsInt);
        assertTrue(e.getMessage().contains(expectedMessagePart), e.getMessage());
        assertEquals(sockets, Faults.calls(Syscall.SOCKET), "no socket() was made");
    }

    @Test
    void badArgumentsAreIllegalArgumentsBeforeAnySyscall() {
        InetAddress lo = InetAddress.getLoopbackAddress();
        refusedBeforeAnySyscall("listenTcp: address is null", () -> Sockets.listenTcp(null, 0, 1));
        refusedBeforeAnySyscall("connectTcp: address is null", () -> Sockets.connectTcp(null, 80));
        refusedBeforeAnySyscall("port 65536 is outside 0..65535", () -> Sockets.listenTcp(lo, 65536, 1));
        refusedBeforeAnySyscall("port -1 is outside 1..65535", () -> Sockets.connectTcp(lo, -1));
        refusedBeforeAnySyscall("connectTcp: port 0 is outside 1..65535", () -> Sockets.connectTcp(lo, 0));
        refusedBeforeAnySyscall("connect: port 70000 is outside 1..65535", () -> {
            try {
                BlockingIo.connect("localhost", 70000, null).close();
                return 0;
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        refusedBeforeAnySyscall("listenTcp: backlog -1 is negative", () -> Sockets.listenTcp(lo, 0, -1));
        refusedBeforeAnySyscall("listenUnix: path is null", () -> Sockets.listenUnix(null, 1));
        refusedBeforeAnySyscall("connectUnix: the path is empty", () -> Sockets.connectUnix(Path.of("")));
        refusedBeforeAnySyscall("listenUnix: backlog -5 is negative", () -> Sockets.listenUnix(dir.resolve("s"), -5));
        refusedBeforeAnySyscall("listenUnixAbstract: name is null", () -> Sockets.listenUnixAbstract(null, 1));
        refusedBeforeAnySyscall("connectUnixAbstract: the abstract name is empty", () -> Sockets.connectUnixAbstract(""));
    }

    @ParameterizedTest
    @EnumSource(value = Syscall.class, names = {"BIND", "LISTEN"})
    void aFailedBindOrListenClosesTheSocket(Syscall failing) throws Exception {
        java.util.Set<String> before = TestFds.settledOpenFds();
        Faults.failNth(failing, 1, Errno.ENOMEM);
        SyscallException e = assertThrows(SyscallException.class, () -> Sockets.listenUnix(dir.resolve("s.sock"), 1));
        assertEquals(failing.name().toLowerCase(), e.operation());
        assertTrue(e.getMessage().contains(dir.resolve("s.sock").toString()), e.getMessage());
        TestFds.assertNoneOpenedSince(before, "the socket was closed");
    }

    @Test
    void aFailedConnectClosesTheSocket() throws Exception {
        java.util.Set<String> before = TestFds.settledOpenFds();
        Faults.failNth(Syscall.CONNECT, 1, Errno.ENOMEM);
        SyscallException e = assertThrows(SyscallException.class, () -> Sockets.connectTcp(InetAddress.getLoopbackAddress(), 9));
        assertEquals("connect", e.operation());
        assertTrue(e.getMessage().contains("127.0.0.1:9"), e.getMessage());
        TestFds.assertNoneOpenedSince(before, "the socket was closed");
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void aThousandListenConnectAcceptCloseCyclesLeakNoFd(Kind kind) throws Exception {
        IoQueue q = IoQueue.current();
        if (kind == Kind.IPV6) SocketsIpTest.loopback6();
        long before = -1;
        for (int i = 0; i <= 1000; i++) {
            // after one cycle (class loading may open jars), once queues that earlier tests' threads left are released
            if (i == 1) before = TestFds.settledFdCount();
            Path where = dir.resolve(i + ".sock");
            int[] fds = kind.listenAndConnect(where);
            int server = QueueEcho.acceptOne(q, fds[0]);
            QueueEcho.awaitConnected(q, fds[1]);
            Fds.close(server);
            Fds.close(fds[1]);
            Fds.close(fds[0]);
            Files.deleteIfExists(where);
        }
        assertEquals(before, TestFds.settledFdCount());
    }
}
