package dev.ioqueue.samples;

import dev.ioqueue.Event;
import dev.ioqueue.Fds;
import dev.ioqueue.IoQueue;
import dev.ioqueue.ReadyCallback;
import dev.ioqueue.ReadyEvent;
import dev.ioqueue.SyscallException;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * One echo connection served by plain Java callbacks on the queue: read what is there, write it
 * back, and when either side would block, wait for the fd and come back here. While a write
 * waits, nothing more is read, so a slow reader costs 64 KiB of buffer, never more.
 */
final class JavaEchoConnection implements ReadyCallback {
    private static final int READS_PER_WAKEUP = 16; // then let other fds run

    private final IoQueue queue;
    private final int fd;
    private final EchoStats stats;
    private final EchoStats.Connection record;
    private final Set<JavaEchoConnection> open;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);
    private boolean writing;
    private boolean closed;

    private JavaEchoConnection(IoQueue queue, int fd, EchoStats stats, EchoStats.Connection record, Set<JavaEchoConnection> open) {
        this.queue = queue;
        this.fd = fd;
        this.stats = stats;
        this.record = record;
        this.open = open;
    }

    /** Serves {@code fd} from now on, on the calling thread's queue. */
    static void start(int fd, int id, EchoStats stats, Set<JavaEchoConnection> open) {
        IoQueue queue = IoQueue.current();
        JavaEchoConnection c = new JavaEchoConnection(queue, fd, stats, stats.opened(id, EchoStats.Kind.JAVA_CALLBACK), open);
        open.add(c);
        queue.await(fd, ReadyEvent.READ, c);
    }

    @Override
    public void onReady(int fd, Set<Event> events) {
        try {
            if (writing && !flush()) return;
            for (int i = 0; i < READS_PER_WAKEUP; i++) {
                buffer.clear();
                int n = Fds.read(fd, buffer);
                if (n == Fds.WOULD_BLOCK) {
                    queue.await(fd, ReadyEvent.READ, this);
                    return;
                }
                if (n == Fds.EOF) {
                    close("eof");
                    return;
                }
                buffer.flip();
                stats.echoed(record, n);
                writing = true;
                if (!flush()) return;
            }
            queue.await(fd, ReadyEvent.READ, this); // more may be there: come back after the others
        } catch (SyscallException e) {
            close(e.errnoName()); // ECONNRESET, EPIPE: the client went away
        }
    }

    /** Writes what is buffered; false if it has to wait for WRITE. */
    private boolean flush() {
        while (buffer.hasRemaining()) {
            if (Fds.write(fd, buffer) == Fds.WOULD_BLOCK) {
                queue.await(fd, ReadyEvent.WRITE, this);
                return false;
            }
        }
        writing = false;
        return true;
    }

    /** Unregisters and closes the connection (the server shutting down, or the client leaving). */
    void close(String how) {
        if (closed) return;
        closed = true;
        open.remove(this);
        stats.closed(record, how);
        Fds.close(fd);
    }
}
