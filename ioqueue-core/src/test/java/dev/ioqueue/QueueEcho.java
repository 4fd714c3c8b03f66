package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.Set;

/**
 * One connection's life through the calling thread's queue, for socket tests of any family: the
 * accept, the connect's completion, and an echo of some bytes, each waited for with
 * {@link IoQueue#await} and driven by {@link IoQueue#run()}.
 */
final class QueueEcho {
    private QueueEcho() {}

    /** {@code size} bytes of a fixed pseudo-random pattern. */
    static byte[] pattern(int size) {
        byte[] data = new byte[size];
        new Random(size).nextBytes(data);
        return data;
    }

    /** Waits for READ on {@code listener}, then accepts: the new fd. */
    static int acceptOne(IoQueue q, int listener) {
        int[] accepted = {Fds.WOULD_BLOCK};
        q.await(listener, ReadyEvent.READ, new ReadyCallback() {
            @Override
            public void onReady(int fd, Set<Event> events) {
                accepted[0] = Sockets.accept(fd);
                if (accepted[0] == Fds.WOULD_BLOCK) q.await(fd, ReadyEvent.READ, this); // spurious
            }
        });
        q.run();
        assertNotEquals(Fds.WOULD_BLOCK, accepted[0], "accepted");
        return accepted[0];
    }

    /** Waits for WRITE on a connecting socket; asserts the connect succeeded (SO_ERROR 0). */
    static void awaitConnected(IoQueue q, int client) {
        int[] error = {-1};
        q.await(client, ReadyEvent.WRITE, (fd, events) -> error[0] = Sockets.connectError(fd));
        q.run();
        assertEquals(0, error[0], "SO_ERROR after the connect");
    }

    /**
     * Sends {@code data} from {@code client}; {@code server} echoes every byte back; returns what
     * {@code client} read, once it read {@code data.length} bytes.
     */
    static byte[] echo(IoQueue q, int server, int client, byte[] data) {
        ByteBuffer toSend = ByteBuffer.wrap(data);
        ByteBuffer received = ByteBuffer.allocate(data.length);
        ByteBuffer echoing = ByteBuffer.allocateDirect(16 * 1024).flip(); // empty: nothing to write back yet
        long[] echoed = {0};
        q.await(client, ReadyEvent.WRITE, new ReadyCallback() {
            @Override
            public void onReady(int fd, Set<Event> events) {
                while (toSend.hasRemaining() && Fds.write(fd, toSend) != Fds.WOULD_BLOCK) { }
                if (toSend.hasRemaining()) q.await(fd, ReadyEvent.WRITE, this);
            }
        });
        q.await(client, ReadyEvent.READ, new ReadyCallback() {
            @Override
            public void onReady(int fd, Set<Event> events) {
                int n;
                while (received.hasRemaining() && (n = Fds.read(fd, received)) != Fds.WOULD_BLOCK) {
                    if (n == Fds.EOF) throw new AssertionError("EOF after " + received.position() + " bytes");
                }
                if (received.hasRemaining()) q.await(fd, ReadyEvent.READ, this);
            }
        });
        ReadyCallback echoer = new ReadyCallback() {
            @Override
            public void onReady(int fd, Set<Event> events) {
                while (true) {
                    while (echoing.hasRemaining()) {
                        int n = Fds.write(fd, echoing);
                        if (n == Fds.WOULD_BLOCK) {
                            q.await(fd, ReadyEvent.WRITE, this);
                            return;
                        }
                        echoed[0] += n;
                    }
                    if (echoed[0] == data.length) return;
                    echoing.clear();
                    int n = Fds.read(fd, echoing);
                    echoing.flip();
                    if (n == Fds.EOF) throw new AssertionError("server saw EOF after " + echoed[0] + " bytes");
                    if (n == Fds.WOULD_BLOCK) {
                        q.await(fd, ReadyEvent.READ, this);
                        return;
                    }
                }
            }
        };
        q.await(server, ReadyEvent.READ, echoer);
        q.run();
        return received.array();
    }
}
