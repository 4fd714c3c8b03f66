package dev.ioqueue.samples;

import dev.ioqueue.Fds;
import dev.ioqueue.IoCompletion;
import dev.ioqueue.IoOperation;
import dev.ioqueue.IoQueue;
import dev.ioqueue.SyscallException;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * One echo connection served by plain Java callbacks on the queue: a read operation, then a
 * write-everything operation of what it read, then the read again. The queue retries each one
 * while the fd would block, so there is no EAGAIN handling here. While a write waits, nothing more
 * is read, so a slow reader costs 64 KiB of buffer, never more. Both operations are made once and
 * reused: nothing is allocated per message.
 */
final class JavaEchoConnection {
    private final IoQueue queue;
    private final int fd;
    private final EchoStats stats;
    private final EchoStats.Connection record;
    private final Set<JavaEchoConnection> open;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);
    private final IoOperation read;
    private final IoOperation writeAll;
    private boolean closed;

    private JavaEchoConnection(IoQueue queue, int fd, EchoStats stats, EchoStats.Connection record, Set<JavaEchoConnection> open) {
        this.queue = queue;
        this.fd = fd;
        this.stats = stats;
        this.record = record;
        this.open = open;
        this.read = IoOperation.read(buffer, new Step() {
            @Override
            public void completed(int fd, long n) {
                if (n == Fds.EOF) {
                    close("eof");
                    return;
                }
                stats.echoed(record, (int) n);
                buffer.flip();
                queue.submit(fd, writeAll);
            }
        });
        this.writeAll = IoOperation.writeFully(buffer, new Step() {
            @Override
            public void completed(int fd, long n) {
                buffer.clear();
                queue.submit(fd, read);
            }
        });
    }

    /** Serves {@code fd} from now on, on the calling thread's queue. */
    static void start(int fd, int id, EchoStats stats, Set<JavaEchoConnection> open) {
        IoQueue queue = IoQueue.current();
        JavaEchoConnection c = new JavaEchoConnection(queue, fd, stats, stats.opened(id, EchoStats.Kind.JAVA_CALLBACK), open);
        open.add(c);
        queue.submit(fd, c.read);
    }

    /** What both steps do when the client goes away or the server stops. */
    private abstract class Step implements IoCompletion {
        @Override
        public void failed(int fd, RuntimeException failure) {
            if (!(failure instanceof SyscallException e)) throw failure;
            close(e.errno().name()); // ECONNRESET, EPIPE: the client went away
        }
    }

    /** Closes the connection (the server shutting down, or the client leaving); its pending step is dropped. */
    void close(String how) {
        if (closed) return;
        closed = true;
        open.remove(this);
        stats.closed(record, how);
        Fds.close(fd);
    }
}
