package dev.ioqueue.samples;

import dev.ioqueue.Fds;
import dev.ioqueue.Handle;
import dev.ioqueue.IoCompletion;
import dev.ioqueue.IoOperation;
import dev.ioqueue.IoQueue;
import dev.ioqueue.SyscallFailure;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * One echo connection served by plain Java callbacks on the queue: a read operation, then a
 * write-everything operation of what it read, then the read again. The queue retries each one
 * while the fd would block, so there is no EAGAIN handling here. While a write waits, nothing more
 * is read, so a slow reader costs 64 KiB of buffer, never more. Both operations are made once and
 * reused: nothing is allocated per message.
 *
 * <p>The connection is a {@link Handle} bound to the loop that serves it: on io_uring the ring
 * reads and writes it, and if the loop's queue closes first (a group shut down), the queue closes
 * it, telling the pending step {@code dropped}.
 */
final class JavaEchoConnection {
    private final Handle connection;
    private final EchoStats stats;
    private final EchoStats.Connection record;
    private final Set<JavaEchoConnection> open;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);
    private final IoOperation read;
    private final IoOperation writeAll;
    private boolean closed;

    private JavaEchoConnection(IoQueue queue, Handle connection, EchoStats stats, EchoStats.Connection record, Set<JavaEchoConnection> open) {
        this.connection = connection;
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
                queue.submit(connection, writeAll);
            }
        });
        this.writeAll = IoOperation.writeFully(buffer, new Step() {
            @Override
            public void completed(int fd, long n) {
                buffer.clear();
                queue.submit(connection, read);
            }
        });
    }

    /** Serves {@code connection}, bound to the calling thread's queue, from now on. */
    static void start(Handle connection, int id, EchoStats stats, Set<JavaEchoConnection> open) {
        IoQueue queue = IoQueue.current();
        JavaEchoConnection c = new JavaEchoConnection(queue, connection, stats, stats.opened(id, EchoStats.Kind.JAVA_CALLBACK), open);
        open.add(c);
        queue.submit(connection, c.read);
    }

    /** What both steps do when the client goes away or the server stops. */
    private abstract class Step implements IoCompletion {
        @Override
        public void failed(int fd, IOException failure) {
            // ECONNRESET, EPIPE: the client went away. Anything else is named as it is.
            SyscallFailure f = SyscallFailure.of(failure);
            close(f != null ? f.errnoName() : failure.toString());
        }

        @Override
        public void dropped(int fd) {
            close("server stopped"); // the loop's queue closed the connection
        }
    }

    /** Closes the connection (the server shutting down, or the client leaving); its pending step is dropped. */
    void close(String how) {
        if (closed) return;
        closed = true;
        open.remove(this);
        stats.closed(record, how);
        connection.close();
    }
}
