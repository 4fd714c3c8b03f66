package dev.ioqueue.benchmarks;

import dev.ioqueue.BlockingIo;
import dev.ioqueue.Fds;
import dev.ioqueue.Handle;
import dev.ioqueue.Sockets;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Echo servers of one virtual thread per connection, blocking reads and writes: on ioqueue's
 * {@link BlockingIo} over {@link Handle}s (a thread that would block arms the fd in ioqueue's
 * blocking poller and parks until it reports the fd ready), or on the JDK's own
 * {@link ServerSocket}/{@link Socket}, whose blocking
 * calls park a virtual thread on the JDK's poller. The accepting thread is virtual too.
 */
abstract sealed class VirtualThreadEcho implements AutoCloseable {
    abstract int port();

    /**
     * The server owns its fds: the listener and each connection are {@link Handle}s, and
     * {@link #close()} closes them all; a thread blocked on one wakes with an {@link IOException}.
     */
    static final class OnBlockingIo extends VirtualThreadEcho {
        private final Handle listener = Handle.of(Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 1024));
        private final int port = Sockets.localPort(listener.fd());
        private final Set<Handle> connections = ConcurrentHashMap.newKeySet();
        private final Thread acceptor = Thread.ofVirtual().name("vt-ioqueue-acceptor").start(this::acceptForever);

        private void acceptForever() {
            try {
                while (true) {
                    Handle connection = BlockingIo.accept(listener);
                    connections.add(connection);
                    Thread.ofVirtual().start(() -> serve(connection));
                }
            } catch (IOException e) {
                // the listener was closed: closing
            }
        }

        private void serve(Handle connection) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(16 * 1024);
            try {
                while (BlockingIo.read(connection, buffer.clear()) != Fds.EOF) BlockingIo.writeFully(connection, buffer.flip());
            } catch (IOException e) {
                // the client went away (ECONNRESET, EPIPE), or the server closed the connection
            } finally {
                connection.close();
                connections.remove(connection);
            }
        }

        @Override
        int port() {
            return port;
        }

        @Override
        public void close() throws InterruptedException {
            listener.close(); // wakes the acceptor
            acceptor.join();
            for (Handle c : connections) c.close(); // wakes their threads
        }
    }

    static final class OnJdkSockets extends VirtualThreadEcho {
        private final ServerSocket server;
        private final Thread acceptor;

        OnJdkSockets() throws IOException {
            server = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
            acceptor = Thread.ofVirtual().name("vt-jdk-acceptor").start(this::acceptForever);
        }

        private void acceptForever() {
            try {
                while (true) {
                    Socket s = server.accept();
                    s.setTcpNoDelay(true);
                    Thread.ofVirtual().start(() -> serve(s));
                }
            } catch (IOException e) {
                // the server socket closed
            }
        }

        private static void serve(Socket s) {
            byte[] buffer = new byte[16 * 1024];
            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) out.write(buffer, 0, n);
            } catch (IOException e) {
                // the client went away
            }
        }

        @Override
        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
