package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ChildProcessTest extends QueueTestSupport {
    private static String target(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (java.io.IOException gone) {
            return "";
        }
    }

    private static Set<String> fdTargets(long pid) throws Exception {
        Set<String> targets = new HashSet<>();
        try (var links = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            for (Path link : links.toList()) targets.add(target(link));
        }
        return targets;
    }

    private static boolean closeOnExec(int fd) throws Exception {
        String info = Files.readString(Path.of("/proc/self/fdinfo/" + fd));
        String flags = info.lines().filter(l -> l.startsWith("flags:")).findFirst().orElseThrow().substring(6).trim();
        return (Long.parseLong(flags, 8) & 02000000L) != 0;
    }

    @Test
    void aChildProcessInheritsNoneOfTheQueuesFds() throws Exception {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe(); Fds.SocketPair s = Fds.socketPair()) {
            q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { });
            q.await(s.first(), ReadyEvent.READ, (fd, ev) -> { });
            Set<String> ours = new HashSet<>();
            for (int fd : new int[] {p.readFd(), p.writeFd(), s.first(), s.second()}) ours.add(target(Path.of("/proc/self/fd/" + fd)));
            for (String t : fdTargets(ProcessHandle.current().pid())) if (t.startsWith("anon_inode:")) ours.add(t);
            Process child = new ProcessBuilder("sleep", "10").start();
            try {
                Set<String> inherited = new HashSet<>(fdTargets(child.pid()));
                inherited.retainAll(ours);
                assertTrue(inherited.isEmpty(), "the child holds " + inherited);
            } finally {
                child.destroy();
                child.waitFor();
            }
            q.unregister(p.readFd());
            q.unregister(s.first());
        }
    }

    @Test
    void everyFdTheLibraryCreatesIsCloseOnExec() throws Exception {
        IoQueue.current();
        int listener = Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 4);
        int client = Sockets.connectTcp(InetAddress.getLoopbackAddress(), Sockets.localPort(listener));
        int accepted = Fds.WOULD_BLOCK;
        for (int i = 0; i < 1000 && accepted == Fds.WOULD_BLOCK; i++) {
            accepted = Sockets.accept(listener);
            if (accepted == Fds.WOULD_BLOCK) Thread.sleep(1);
        }
        int eventfd = Fds.eventfd(0);
        try (Fds.Pipe p = Fds.pipe(); Fds.SocketPair s = Fds.socketPair()) {
            for (int fd : new int[] {p.readFd(), p.writeFd(), s.first(), s.second(), eventfd, listener, client, accepted}) {
                assertTrue(closeOnExec(fd), "fd " + fd + " (" + target(Path.of("/proc/self/fd/" + fd)) + ") lacks O_CLOEXEC");
            }
        } finally {
            for (int fd : new int[] {eventfd, listener, client, accepted}) Fds.close(fd);
        }
    }
}
