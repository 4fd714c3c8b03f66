package dev.ioqueue.benchmarks;

import dev.ioqueue.Fds;
import dev.ioqueue.Handle;
import dev.ioqueue.IoCompletion;
import dev.ioqueue.IoOperation;
import dev.ioqueue.IoQueue;
import dev.ioqueue.IoQueueGroup;
import dev.ioqueue.Sockets;
import dev.ioqueue.SyscallException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The echo server in Java callbacks: per connection one reusable read {@link IoOperation} and one
 * write-all operation of what it read, chained by their completions; nothing allocated per
 * message, and each loop keeps the buffers of closed connections for new ones, as Netty's pooled
 * allocator does (allocating and freeing 16 KiB of direct memory per connection would dominate a
 * connection's cost). On {@code loops} loops of an {@link IoQueueGroup}: either the first loop accepts and
 * hands each fd to {@link IoQueueGroup#next()} (the fd is served on that loop alone from then on),
 * or each loop accepts on its own SO_REUSEPORT listener.
 */
final class JavaCallbackEcho implements AutoCloseable {
    private final IoQueueGroup group;
    private final List<Integer> listenFds = new ArrayList<>();
    private final int port;

    JavaCallbackEcho(int loops, boolean reusePort) {
        group = IoQueueGroup.start(loops, "java-echo");
        InetAddress loopback = InetAddress.getLoopbackAddress();
        listenFds.add(Sockets.listenTcp(loopback, 0, 1024, reusePort));
        port = Sockets.localPort(listenFds.get(0));
        List<IoQueue> queues = group.queues();
        if (reusePort) {
            for (int i = 1; i < loops; i++) listenFds.add(Sockets.listenTcp(loopback, port, 1024, true));
            for (int i = 0; i < loops; i++) {
                int fd = listenFds.get(i);
                IoQueue q = queues.get(i);
                q.execute(() -> Acceptor.start(q, fd, null));
            }
        } else {
            int fd = listenFds.get(0);
            queues.get(0).execute(() -> Acceptor.start(queues.get(0), fd, group));
        }
    }

    int port() {
        return port;
    }

    /** The queues of the server's loops. */
    List<IoQueue> queues() {
        return group.queues();
    }

    @Override
    public void close() {
        for (int i = 0; i < listenFds.size(); i++) {
            int fd = listenFds.get(i);
            group.queues().get(i).execute(() -> Fds.close(fd)); // on the loop that accepts on it
        }
        group.shutdown(Duration.ofSeconds(10));
    }

    /** Accepts on one loop, forever; serves each connection here, or on the group's next loop. */
    private static final class Acceptor implements IoCompletion {
        private final IoQueue queue;
        private final IoQueueGroup handTo;
        private final IoOperation accept = IoOperation.accept(this);
        private final int listenFd;

        private Acceptor(IoQueue queue, int listenFd, IoQueueGroup handTo) {
            this.queue = queue;
            this.listenFd = listenFd;
            this.handTo = handTo;
        }

        static void start(IoQueue queue, int listenFd, IoQueueGroup handTo) {
            queue.submit(listenFd, new Acceptor(queue, listenFd, handTo).accept);
        }

        @Override
        public void completed(int fd, long connection) {
            int c = (int) connection;
            IoQueue target = handTo == null ? queue : handTo.next();
            if (target == queue) Connection.start(target, c);
            else target.execute(() -> Connection.start(target, c)); // this loop never touches c again
            queue.submit(listenFd, accept);
        }
    }

    /** One connection, on one loop: read, write it all back, read again. */
    private static final class Connection {
        /** Each loop's buffers of closed connections: used on that loop's thread only. */
        private static final ThreadLocal<ArrayDeque<ByteBuffer>> FREE = ThreadLocal.withInitial(ArrayDeque::new);
        private final ByteBuffer buffer;
        private final IoQueue queue;
        private final IoOperation read;
        private final IoOperation writeAll;

        private Connection(IoQueue queue) {
            this.queue = queue;
            ByteBuffer free = FREE.get().poll();
            buffer = free != null ? free.clear() : ByteBuffer.allocateDirect(16 * 1024);
            read = IoOperation.read(buffer, new Step() {
                @Override
                public void completed(int fd, long n) {
                    if (n == Fds.EOF) {
                        close(fd);
                        return;
                    }
                    buffer.flip();
                    Connection.this.queue.submit(fd, writeAll);
                }
            });
            writeAll = IoOperation.writeFully(buffer, new Step() {
                @Override
                public void completed(int fd, long n) {
                    buffer.clear();
                    Connection.this.queue.submit(fd, read);
                }
            });
        }

        /** Serves {@code fd}, owned by a {@link Handle} (so an io_uring loop uses it as a fixed file). */
        static void start(IoQueue queue, int fd) {
            Connection c = new Connection(queue);
            c.handle = Handle.of(fd);
            queue.submit(fd, c.read);
        }

        private Handle handle;

        private void close(int fd) {
            handle.close();
            FREE.get().push(buffer);
        }

        /** The client went away (ECONNRESET, EPIPE): close. */
        private abstract class Step implements IoCompletion {
            @Override
            public void failed(int fd, RuntimeException failure) {
                if (!(failure instanceof SyscallException)) throw failure;
                close(fd);
            }
        }
    }
}
