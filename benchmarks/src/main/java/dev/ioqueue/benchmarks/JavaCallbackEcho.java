package dev.ioqueue.benchmarks;

import dev.ioqueue.Errno;
import dev.ioqueue.Fds;
import dev.ioqueue.Handle;
import dev.ioqueue.IoCompletion;
import dev.ioqueue.IoOperation;
import dev.ioqueue.IoQueue;
import dev.ioqueue.IoQueueGroup;
import dev.ioqueue.Sockets;
import dev.ioqueue.SyscallFailure;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;

/**
 * The echo server in Java callbacks: per connection one reusable read {@link IoOperation} and one
 * write-all operation of what it read, chained by their completions; nothing allocated per
 * message, and each loop keeps the buffers of closed connections for new ones, as Netty's pooled
 * allocator does (allocating and freeing 16 KiB of direct memory per connection would dominate a
 * connection's cost). On {@code loops} loops of an {@link IoQueueGroup}: either the first loop accepts and
 * hands each connection to {@link IoQueueGroup#next()} (it is served on that loop alone from then
 * on), or each loop accepts on its own SO_REUSEPORT listener.
 *
 * <p>The server owns its fds: each listener and each connection is a {@link Handle} bound to the
 * loop that uses it, so on io_uring the ring reads and writes the connections (fixed files, reads
 * ahead), and {@link #close()} (the group's shutdown) leaves none of them open.
 */
final class JavaCallbackEcho implements AutoCloseable {
    private final IoQueueGroup group;
    private final List<Handle> listeners = new ArrayList<>();
    private final int port;

    JavaCallbackEcho(int loops, boolean reusePort) {
        group = IoQueueGroup.start(loops, "java-echo");
        List<IoQueue> queues = group.queues();
        InetAddress loopback = InetAddress.getLoopbackAddress();
        listeners.add(Handle.of(Sockets.listenTcp(loopback, 0, 1024, reusePort), queues.get(0)));
        port = Sockets.localPort(listeners.get(0).fd());
        if (reusePort) {
            for (int i = 1; i < loops; i++) listeners.add(Handle.of(Sockets.listenTcp(loopback, port, 1024, true), queues.get(i)));
            for (int i = 0; i < loops; i++) {
                Handle listener = listeners.get(i);
                IoQueue q = queues.get(i);
                q.execute(() -> Acceptor.start(q, listener, null));
            }
        } else {
            queues.get(0).execute(() -> Acceptor.start(queues.get(0), listeners.get(0), group));
        }
    }

    int port() {
        return port;
    }

    /** The queues of the server's loops. */
    List<IoQueue> queues() {
        return group.queues();
    }

    /** Stops the loops: each queue's close closes its listener and the connections it serves. */
    @Override
    public void close() {
        group.shutdown(Duration.ofSeconds(10));
    }

    /** Accepts on one loop, forever; serves each connection here, or on the group's next loop. */
    private static final class Acceptor implements IoCompletion {
        private final IoQueue queue;
        private final IoQueueGroup handTo;
        private final IoOperation accept = IoOperation.accept(this);
        private final Handle listener;

        private Acceptor(IoQueue queue, Handle listener, IoQueueGroup handTo) {
            this.queue = queue;
            this.listener = listener;
            this.handTo = handTo;
        }

        static void start(IoQueue queue, Handle listener, IoQueueGroup handTo) {
            queue.submit(listener, new Acceptor(queue, listener, handTo).accept);
        }

        @Override
        public void completed(int fd, long connection) {
            int c = (int) connection;
            IoQueue target = handTo == null ? queue : handTo.next();
            Handle h;
            try {
                h = Handle.of(c, target); // the target's from now on: its close closes it, even before it is served
            } catch (IllegalStateException closed) {
                Fds.close(c); // the target loop is closed: the handle did not take the fd
                return;
            }
            if (target == queue) {
                Connection.start(target, h);
            } else {
                try {
                    target.execute(() -> Connection.start(target, h)); // this loop never touches it again
                } catch (RejectedExecutionException closed) {
                    h.close();
                }
            }
            queue.submit(listener, accept);
        }

        /** Out of fds (EMFILE, ENFILE): the connection waits in the backlog; accept again soon. Anything else stops accepting. */
        @Override
        public void failed(int fd, IOException failure) {
            SyscallFailure f = SyscallFailure.of(failure);
            if (f != null && (f.errno() == Errno.EMFILE || f.errno() == Errno.ENFILE)) {
                queue.schedule(Duration.ofMillis(20), () -> queue.submit(listener, accept));
            } else {
                IoCompletion.super.failed(fd, failure);
            }
        }
    }

    /** One connection, on one loop: read, write it all back, read again. */
    private static final class Connection {
        /** Each loop's buffers of closed connections: used on that loop's thread only. */
        private static final ThreadLocal<ArrayDeque<ByteBuffer>> FREE = ThreadLocal.withInitial(ArrayDeque::new);
        private final Handle handle;
        private final ByteBuffer buffer;
        private final IoQueue queue;
        private final IoOperation read;
        private final IoOperation writeAll;
        private boolean closed;

        private Connection(IoQueue queue, Handle handle) {
            this.queue = queue;
            this.handle = handle;
            ByteBuffer free = FREE.get().poll();
            buffer = free != null ? free.clear() : ByteBuffer.allocateDirect(16 * 1024);
            read = IoOperation.read(buffer, new Step() {
                @Override
                public void completed(int fd, long n) {
                    if (n == Fds.EOF) {
                        close();
                        return;
                    }
                    buffer.flip();
                    Connection.this.queue.submit(Connection.this.handle, writeAll);
                }
            });
            writeAll = IoOperation.writeFully(buffer, new Step() {
                @Override
                public void completed(int fd, long n) {
                    buffer.clear();
                    Connection.this.queue.submit(Connection.this.handle, read);
                }
            });
        }

        /** Serves {@code handle}, bound to {@code queue}, the calling thread's. */
        static void start(IoQueue queue, Handle handle) {
            if (!handle.isOpen()) return; // the loop closed it before it was served
            Connection c = new Connection(queue, handle);
            queue.submit(handle, c.read);
        }

        private void close() {
            if (closed) return;
            closed = true;
            handle.close();
            FREE.get().push(buffer);
        }

        /** The client went away (ECONNRESET, EPIPE), or the loop closed the connection: close, keep the buffer. */
        private abstract class Step implements IoCompletion {
            @Override
            public void failed(int fd, IOException failure) {
                close();
            }

            @Override
            public void dropped(int fd) {
                close();
            }
        }
    }
}
